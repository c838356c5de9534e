"""The running instance's shared objects (engine, sessions, clock), without Flask.

The web app keeps one ``Runtime`` in ``app.extensions['bankdrill']``; the CLI and
scripts build their own from the same settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from sandbox.clock import Clock, SystemClock
from sandbox.config import Settings
from sandbox.db import begin_write, make_engine, make_session_factory


class Runtime:
    """Owns the engine, the session factory, the clock and per-process services."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.engine = make_engine(settings.database_url)
        self.session_factory = make_session_factory(self.engine)
        # Per-process services that domain packages attach lazily (e.g. the search index).
        self.services: dict[str, Any] = {}

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error."""
        with self.session_factory() as session:
            begin_write(session)
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def close_services(self) -> None:
        """Close the per-process services (the search log writes its last batch)."""
        for service in self.services.values():
            close = getattr(service, "close", None)
            if callable(close):
                close()

    def dispose(self) -> None:
        self.close_services()
        self.engine.dispose()
