"""The ``bankdrill`` command line: a Flask CLI group over the app factory.

``bankdrill X`` and ``flask --app sandbox.app X`` run the same commands. Commands
stay thin: they open a transaction and call the domain.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup

from sandbox.errors import DomainError


class CommandError(click.ClickException):
    """A one-line failure in Chinese; exit code 1."""

    def format_message(self) -> str:
        return self.message

    def show(self, file: Any = None) -> None:
        click.echo(f"错误：{self.format_message()}", err=True)


def register_commands(app: Flask) -> None:
    """Attach every command group to ``app.cli``."""
    from sandbox.cli import backup, bank, core, dialogue, kb, rounds, scenarios, users
    from sandbox.cli import workorders as workorders_cli

    for command in (core.serve, core.init, core.db_group, users.users, kb.kb, bank.bank,
                    scenarios.scenarios, rounds.round_group, workorders_cli.workorders, backup.backup,
                    backup.restore, dialogue.dialogue_group):
        app.cli.add_command(command)


def _create_app() -> Flask:
    from sandbox.app import create_app

    return create_app()


cli = FlaskGroup(name="bankdrill", create_app=_create_app, add_version_option=False,
                 help="银行智能客服实操演练沙箱的命令行工具。")


def main() -> None:
    """Entry point of the ``bankdrill`` console script."""
    try:
        cli.main(prog_name="bankdrill", standalone_mode=True)
    except DomainError as exc:
        click.echo(f"错误：{exc.message}", err=True)
        sys.exit(1)
