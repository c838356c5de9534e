"""The one error a command raises to stop with a message in Chinese."""

from __future__ import annotations

from typing import Any

import click


class CommandError(click.ClickException):
    """A one-line failure in Chinese; exit code 1."""

    def format_message(self) -> str:
        return self.message

    def show(self, file: Any = None) -> None:
        click.echo(f"错误：{self.format_message()}", err=True)
