"""Checks of work-order input: a choice from a vocabulary, a bounded text (redacted), a time,
a positive integer, the customer fields. Each raises ``ValidationFailed`` naming the field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sandbox.bank.masking import mask_name, redact
from sandbox.clock import BEIJING
from sandbox.errors import ValidationFailed

CUSTOMER_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


def choice(value: Any, options: Iterable[str], code: str, label: str) -> str:
    """``value`` if it is one of ``options`` (400 ``code`` listing them otherwise)."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise ValidationFailed(f"未知的{label}「{value}」；可选：{'、'.join(options)}。", code=code,
                               details={"field": code.removeprefix("unknown_"), "allowed": list(options)})
    return value


def text(value: Any, field: str, label: str, limit: int, required: bool = False) -> str:
    """A stripped text of at most ``limit`` characters, redacted (card and ID numbers masked)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{label}必须是文本。", code="invalid_field", details={"field": field})
    value = value.strip()
    if required and not value:
        raise ValidationFailed(f"请填写{label}。", code="missing_field", details={"field": field})
    if len(value) > limit:
        raise ValidationFailed(f"{label}不能超过 {limit} 个字（当前 {len(value)} 个）。",
                               code="text_too_long", details={"field": field, "max": limit})
    return redact(value)


def parse_time(value: Any, field: str, label: str) -> datetime | None:
    """An ISO 8601 time; a time without zone is read as Beijing time (what forms send)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed(f"{label}格式不正确，请使用 2026-11-28T15:30 这样的时间。",
                                   code="invalid_time", details={"field": field}) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BEIJING)
    return parsed.astimezone(UTC)


def positive_int(value: Any, field: str, label: str) -> int | None:
    """A positive integer a database id column can hold; None when empty."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        value = "x"
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{label}必须是正整数。", code="invalid_field", details={"field": field}) from None
    if number <= 0 or number > 2**31 - 1:
        raise ValidationFailed(f"{label}必须是正整数。", code="invalid_field", details={"field": field})
    return number


def customer_fields(data: Mapping[str, Any]) -> tuple[str | None, str]:
    """(customer id or None, masked customer name) from ``customer_id`` and ``customer_name``."""
    customer_id = data.get("customer_id")
    if customer_id in (None, ""):
        customer_id = None
    elif not isinstance(customer_id, str) or not CUSTOMER_ID_RE.match(customer_id):
        raise ValidationFailed("客户编号格式不正确（如 C003）。", code="invalid_field",
                               details={"field": "customer_id"})
    # The label is always stored masked; masking a masked name changes nothing.
    raw = data.get("customer_name", data.get("customer_label"))
    label = mask_name(text(raw, "customer_name", "客户姓名", 32))
    return customer_id, label
