"""The ``bankdrill`` commands (the entry point is ``sandbox.__main__``): Flask CLI groups.

``bankdrill X`` and ``flask --app sandbox.app X`` run the same commands. Commands
stay thin: they open a transaction and call the domain.
"""

from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    """Attach every command group to ``app.cli``."""
    from sandbox.cli import backup, bank, core, dialogue, kb, rounds, scenarios, users
    from sandbox.cli import workorders as workorders_cli

    for command in (core.serve, core.init, core.db_group, users.users, kb.kb, bank.bank,
                    scenarios.scenarios, rounds.round_group, workorders_cli.workorders, backup.backup,
                    backup.restore, dialogue.dialogue_group):
        app.cli.add_command(command)
