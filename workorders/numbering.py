"""Work-order numbers: ``WO<yyyymmdd>-<seq>``, the sequence per Beijing date from one atomic
upsert on the day's counter row."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sandbox.clock import BEIJING
from workorders.models import WorkOrderCounter

NUMBER_RE = re.compile(r"^WO\d{8}-\d{4,}$")


def china_date(when: datetime) -> str:
    """``yyyymmdd`` of ``when`` in Beijing time."""
    return when.astimezone(BEIJING).strftime("%Y%m%d")


def allocate_number(session: Session, now: datetime) -> str:
    """The next ``WO<yyyymmdd>-<seq>`` for ``now``'s Beijing date.

    One atomic upsert on the day's counter row (INSERT … ON CONFLICT DO UPDATE …
    RETURNING): concurrent creators queue on that row, nobody reads a maximum.
    As the first statement of the caller's transaction it also takes SQLite's
    write lock, so a plain BEGIN never has to upgrade a stale read snapshot.
    """
    day = china_date(now)
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(dialect)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(WorkOrderCounter).values(day=day, value=1)
            .on_conflict_do_update(index_elements=[WorkOrderCounter.day],
                                   set_={"value": WorkOrderCounter.value + 1})
            .returning(WorkOrderCounter.value))
    value = session.execute(stmt).scalar_one()
    return f"WO{day}-{value:04d}"
