"""Search analytics over the search log and the article-opened log.

- top queries and zero-result queries (grouped by the normalised query);
- abandoned queries: a search with results after which the same user opened no
  article within ``window`` (a join by user and time, done in Python so that it is
  the same on SQLite and PostgreSQL);
- a per-day trend (Beijing days): searches and the zero-result rate.

Reads only; takes a session and a time range.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base.models import ArticleOpenLog, SearchLog
from sandbox.clock import BEIJING

DEFAULT_WINDOW = timedelta(minutes=10)
MAX_ROWS = 200_000  # searches read for one report (the newest ones)


@dataclass
class QueryStat:
    normalised: str
    example: str
    count: int = 0
    zero: int = 0
    users: set = field(default_factory=set)
    last: datetime | None = None

    @property
    def user_count(self) -> int:
        return len(self.users)


@dataclass
class DayStat:
    day: date
    searches: int = 0
    zero: int = 0

    @property
    def zero_rate(self) -> float:
        return self.zero / self.searches if self.searches else 0.0


@dataclass
class Report:
    since: datetime
    until: datetime
    total: int
    zero_total: int
    abandoned_total: int
    top: list[QueryStat]
    zero: list[QueryStat]
    abandoned: list[QueryStat]
    days: list[DayStat]

    @property
    def zero_rate(self) -> float:
        return self.zero_total / self.total if self.total else 0.0


def china_day(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def _bump(stats: dict[str, QueryStat], row: Any) -> None:
    key = row.normalised or row.query.strip()
    stat = stats.get(key)
    if stat is None:
        stat = stats[key] = QueryStat(normalised=key, example=row.query.strip()[:200])
    stat.count += 1
    if row.result_count == 0:
        stat.zero += 1
    if row.user_id is not None:
        stat.users.add(row.user_id)
    if stat.last is None or row.created_at > stat.last:
        stat.last = row.created_at
        stat.example = row.query.strip()[:200] or stat.example


def report(session: Session, since: datetime, until: datetime, limit: int = 20,
           window: timedelta = DEFAULT_WINDOW) -> Report:
    """The analytics of searches made in ``[since, until)``."""
    rows = list(session.execute(
        select(SearchLog.query, SearchLog.normalised, SearchLog.user_id, SearchLog.result_count,
               SearchLog.created_at)
        .where(SearchLog.created_at >= since, SearchLog.created_at < until)
        .order_by(SearchLog.created_at.desc()).limit(MAX_ROWS)))
    rows = [r for r in rows if (r.normalised or r.query.strip())]
    opens: dict[int, list[datetime]] = defaultdict(list)
    for user_id, at in session.execute(
            select(ArticleOpenLog.user_id, ArticleOpenLog.created_at)
            .where(ArticleOpenLog.created_at >= since, ArticleOpenLog.created_at < until + window,
                   ArticleOpenLog.user_id.is_not(None))):
        if user_id is not None:  # excluded by the query; the column is nullable
            opens[user_id].append(at)
    for times in opens.values():
        times.sort()

    every: dict[str, QueryStat] = {}
    zero: dict[str, QueryStat] = {}
    abandoned: dict[str, QueryStat] = {}
    days: dict[date, DayStat] = {}
    zero_total = abandoned_total = 0
    for row in rows:
        _bump(every, row)
        day = days.setdefault(china_day(row.created_at), DayStat(china_day(row.created_at)))
        day.searches += 1
        if row.result_count == 0:
            zero_total += 1
            day.zero += 1
            _bump(zero, row)
        elif row.user_id is not None and not _opened_after(opens.get(row.user_id, ()), row.created_at, window):
            abandoned_total += 1
            _bump(abandoned, row)

    def ranked(stats: dict[str, QueryStat]) -> list[QueryStat]:
        return sorted(stats.values(), key=lambda s: (-s.count, -(s.last.timestamp() if s.last else 0),
                                                      s.normalised))[:limit]

    return Report(since=since, until=until, total=len(rows), zero_total=zero_total,
                  abandoned_total=abandoned_total, top=ranked(every), zero=ranked(zero),
                  abandoned=ranked(abandoned), days=_fill_days(days, since, until))


def _opened_after(times: Any, moment: datetime, window: timedelta) -> bool:
    """Whether any time in the sorted ``times`` falls in ``[moment, moment + window]``."""
    if not times:
        return False
    i = bisect_left(times, moment)
    return i < len(times) and times[i] <= moment + window


def _fill_days(days: dict[date, DayStat], since: datetime, until: datetime) -> list[DayStat]:
    """One entry per day of the range (days without searches included), oldest first."""
    first, last = china_day(since), china_day(until - timedelta(microseconds=1))
    if (last - first).days > 366:
        first = last - timedelta(days=366)
    out = []
    current = first
    while current <= last:
        out.append(days.get(current, DayStat(current)))
        current += timedelta(days=1)
    return out

