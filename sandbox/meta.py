"""Instance-wide key/value facts kept in the database (e.g. when it was seeded)."""

from __future__ import annotations

from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from sandbox.db import Base


class InstanceMeta(Base):
    __tablename__ = "instance_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


def get_meta(session: Session, key: str) -> str | None:
    """The stored value for ``key``, or None."""
    return session.scalar(select(InstanceMeta.value).where(InstanceMeta.key == key))


def set_meta(session: Session, key: str, value: str) -> None:
    """Insert or replace ``key``; the caller commits."""
    row = session.get(InstanceMeta, key)
    if row is None:
        session.add(InstanceMeta(key=key, value=value))
    else:
        row.value = value
