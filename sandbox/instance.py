"""First-start initialisation of an instance: schema, seed content, search index.

Used by ``bankdrill init`` and ``bankdrill serve``; knows no Flask. Seeding runs
in one transaction: either the whole seed lands or none of it does.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from sandbox.db import check_connection, import_all_models
from sandbox.meta import get_meta, set_meta
from sandbox.migrate import current_revision, upgrade
from sandbox.roles import ADMIN, CANDIDATE, EXAMINER, TRAINER
from sandbox.runtime import Runtime
from sandbox.users import services as accounts

SEEDED_KEY = "seeded_at"
DEMO_LOGINS_FILE = "demo-logins.txt"

DEMO_USERS = (
    ("candidate1", CANDIDATE, "考生一号"),
    ("candidate2", CANDIDATE, "考生二号"),
    ("examiner", EXAMINER, "考官"),
    ("trainer", TRAINER, "培训师"),
    ("admin", ADMIN, "管理员"),
)

Seeder = Callable[[Session, Runtime], str]
AfterSeed = Callable[[Runtime], str]


def _seeders() -> list[Seeder]:
    """Content loaders run inside the seed transaction, in order."""
    from knowledge_base.seed import seed_kb
    from sandbox.bank.seed import seed_bank
    from sandbox.drill.seed import load_seed_scenarios

    return [seed_kb, seed_bank, load_seed_scenarios]


def _after_seed() -> list[AfterSeed]:
    """Steps after the seed committed (derived data such as the search index)."""
    from knowledge_base.seed import build_index

    return [build_index]


@dataclass
class InitReport:
    created: bool
    seeded: bool
    steps: list[str] = field(default_factory=list)
    # (revision before, revision after) when this start applied migrations; None when none were pending.
    migrated: tuple[str | None, str | None] | None = None
    demo_logins: list[tuple[str, str, str]] = field(default_factory=list)


def _demo_password() -> str:
    # Readable, typed by people in an exam room: letters then digits.
    letters = "".join(secrets.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(6))
    return f"{letters}{secrets.randbelow(9000) + 1000}"


def _write_demo_logins(runtime: Runtime, logins: list[tuple[str, str, str]]) -> None:
    path = runtime.settings.home / DEMO_LOGINS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# 演示账号（仅本实例有效；请勿用于正式考试）\n")
        for username, role, password in logins:
            fh.write(f"{username}\t{role}\t{password}\n")


def reset(runtime: Runtime) -> None:
    """Drop every table and the search index (``init --reset``)."""
    metadata = import_all_models()
    with runtime.engine.begin() as conn:
        metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    shutil.rmtree(runtime.settings.index_dir, ignore_errors=True)
    (runtime.settings.home / DEMO_LOGINS_FILE).unlink(missing_ok=True)


def initialise(runtime: Runtime, seed: bool = True) -> InitReport:
    """Bring the instance to a usable state; does nothing twice.

    Applies pending migrations, then (once per instance) creates demo users when in
    demo mode and loads the seed content, then builds derived data.
    """
    check_connection(runtime.engine)
    before = current_revision(runtime.engine)
    upgrade(runtime.settings.database_url)
    after = current_revision(runtime.engine)
    report = InitReport(created=False, seeded=False, migrated=(before, after) if before != after else None)
    with runtime.transaction() as session:
        if get_meta(session, SEEDED_KEY) is not None:
            return report
        report.created = True
        if seed:
            if runtime.settings.demo_mode:
                for username, role, display in DEMO_USERS:
                    password = _demo_password()
                    accounts.create_user(session, runtime.clock, username, role, password, display)
                    report.demo_logins.append((username, role, password))
                report.steps.append(f"演示账号 {len(DEMO_USERS)} 个")
            for seeder in _seeders():
                report.steps.append(seeder(session, runtime))
            report.seeded = True
        set_meta(session, SEEDED_KEY, runtime.clock.now().isoformat() if seed else "no-seed")
    if report.demo_logins:
        _write_demo_logins(runtime, report.demo_logins)
    if report.seeded:
        for step in _after_seed():
            report.steps.append(step(runtime))
    return report
