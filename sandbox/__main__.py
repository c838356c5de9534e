"""``bankdrill`` (and ``python -m sandbox``): the command line over the app factory.

It lives here, not in ``sandbox.cli``, because it builds the app, and the app registers the
commands of ``sandbox.cli``: keeping the entry point outside avoids an import cycle.
"""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from sandbox.app import create_app
from sandbox.errors import DomainError


def _create_app() -> Flask:
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


if __name__ == "__main__":
    main()
