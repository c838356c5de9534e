"""Service levels: first-response and resolution times by type and priority (one table).

Times are calendar time from creation, measured on the injected clock. While an
order waits on the customer the SLA clock stops: the paused seconds are added to
both due times when the wait ends (and, while it lasts, projected onto them).

Complaints (投诉) close within 15 days at most, as the regulator's complaint rules
require; urgent (紧急) orders get a first response within 30 minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workorders.vocab import PRIORITIES, TYPES

MINUTE, HOUR, DAY = 60, 3600, 86400

FIRST_RESPONSE_SECONDS: dict[str, int] = {
    "紧急": 30 * MINUTE,
    "高": 2 * HOUR,
    "中": 4 * HOUR,
    "低": 24 * HOUR,
}

RESOLUTION_SECONDS: dict[str, dict[str, int]] = {
    #          紧急        高          中          低
    "咨询":    {"紧急": 4 * HOUR, "高": 8 * HOUR, "中": 1 * DAY, "低": 3 * DAY},
    "业务办理": {"紧急": 4 * HOUR, "高": 1 * DAY, "中": 3 * DAY, "低": 5 * DAY},
    "故障":    {"紧急": 4 * HOUR, "高": 1 * DAY, "中": 3 * DAY, "低": 5 * DAY},
    "投诉":    {"紧急": 2 * DAY, "高": 5 * DAY, "中": 10 * DAY, "低": 15 * DAY},
    "建议":    {"紧急": 3 * DAY, "高": 5 * DAY, "中": 10 * DAY, "低": 15 * DAY},
}
COMPLAINT_LIMIT_SECONDS = 15 * DAY

assert set(RESOLUTION_SECONDS) == set(TYPES)
assert all(set(row) == set(PRIORITIES) for row in RESOLUTION_SECONDS.values())
assert set(FIRST_RESPONSE_SECONDS) == set(PRIORITIES)
assert max(RESOLUTION_SECONDS["投诉"].values()) <= COMPLAINT_LIMIT_SECONDS


def due_times(type_: str, priority: str, created_at: datetime, paused_seconds: int = 0) -> tuple[datetime, datetime]:
    """(first response due, resolution due) for an order created at ``created_at``."""
    shift = timedelta(seconds=paused_seconds)
    first = created_at + timedelta(seconds=FIRST_RESPONSE_SECONDS[priority]) + shift
    resolve = created_at + timedelta(seconds=RESOLUTION_SECONDS[type_][priority]) + shift
    return first, resolve


def human_duration(seconds: int) -> str:
    """``5400`` → ``1小时30分钟``; for the SLA table page and badges."""
    seconds = int(seconds)
    days, rest = divmod(seconds, DAY)
    hours, rest = divmod(rest, HOUR)
    minutes = rest // MINUTE
    parts = []
    if days:
        parts.append(f"{days}天")
    if hours:
        parts.append(f"{hours}小时")
    if minutes or not parts:
        parts.append(f"{minutes}分钟")
    return "".join(parts)
