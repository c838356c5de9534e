"""Identity check (身份核验), scoped to one conversation and one customer.

Rules (one place): method ``id_phone`` compares name + last 6 of the ID number + last 4
of the registered mobile; method ``sms`` compares a 6-digit code sent to the customer's
simulated phone (valid 5 minutes, single use, only the newest code counts, stored
hashed, at most one per minute). Three failed attempts lock the check for the
conversation. Across conversations, three failures of one agent on one customer within
15 minutes pause that agent's checks of that customer for 15 minutes (429
``verification_throttled``, audited as ``agent_customer_locked``), so opening new
conversations gives no new guesses. A verification lapses after 15 minutes without an allowed lookup. A
failure never says which field was wrong. Malformed input (wrong length, non-digits)
is refused with a clear 400 and is not counted as an attempt.

Public functions (session + clock, never commit; the caller must commit even when a
``DomainError`` is raised, so refusals and counters are kept):

- ``send_sms(session, clock, conversation, user)`` → dict
- ``verify(session, clock, conversation, user, payload)`` → ``VerifyResult``
- ``require_verified(session, clock, conversation, user, action, target_ref="")``
- ``identity_state(session, clock, conversation)`` → dict for the UI
- ``phone_messages(session, conversation)`` → the simulated phone's inbox
- ``recent_lockouts(session, clock, hours=24)`` → lockouts for the examiner's list
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeGuard, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from sandbox.bank import audit, masking
from sandbox.bank.models import AuditEntry, Conversation, Customer, IdentityCheck, PhoneMessage, SmsCode, ensure_open
from sandbox.clock import Clock, as_utc, local_iso
from sandbox.errors import Forbidden, IdentityNotVerified, TooManyAttempts, ValidationFailed
from sandbox.roles import STAFF_ROLES
from sandbox.users import throttle
from sandbox.users.models import User
from sandbox.users.throttle import Policy, Throttled

MAX_FAILURES = 3
INACTIVITY = timedelta(minutes=15)
# One agent, one customer, any conversation: three failures within 15 minutes pause checks for 15 minutes.
AGENT_CUSTOMER_WINDOW = 15 * 60
AGENT_CUSTOMER = Policy(free=MAX_FAILURES, base_seconds=AGENT_CUSTOMER_WINDOW, cap_seconds=AGENT_CUSTOMER_WINDOW,
                        reset_seconds=AGENT_CUSTOMER_WINDOW, growing=False)
SMS_VALIDITY = timedelta(minutes=5)
SMS_RESEND_AFTER = timedelta(seconds=60)
SMS_SENDER = "演练银行"

ID_PHONE, SMS = "id_phone", "sms"
METHODS = (ID_PHONE, SMS)

_ID_LAST6 = re.compile(r"\d{5}[\dX]")
_PHONE_LAST4 = re.compile(r"\d{4}")
_CODE = re.compile(r"\d{6}")

MISMATCH_MESSAGE = "核验信息与登记信息不一致，请与客户重新确认。"
LOCKED_MESSAGE = "核验失败次数已达上限，本会话的身份核验已锁定；请引导客户持有效证件到网点办理。"
THROTTLED_MESSAGE = ("您对该客户的身份核验在 15 分钟内已失败 3 次（含其他会话），核验已暂停，请 {wait} 后再试；"
                     "也可引导客户持有效证件到网点办理。")
# Audit reasons of the verify steps that locked something (for the examiner's lockout list).
LOCK_REASONS = ("mismatch_locked", "mismatch_agent_locked")
THROTTLED_REASON = "agent_customer_locked"


@dataclass
class VerifyResult:
    verified: bool
    attempts_left: int
    message: str

    def to_dict(self) -> dict:
        return {"verified": self.verified, "attempts_left": self.attempts_left, "message": self.message}


def _check(session: Session, conversation: Conversation) -> IdentityCheck:
    check = session.scalar(select(IdentityCheck).where(
        IdentityCheck.conversation_id == conversation.id, IdentityCheck.customer_id == conversation.customer_id))
    if check is None:
        check = IdentityCheck(conversation_id=conversation.id, customer_id=conversation.customer_id,
                              failed_attempts=0, locked=False)
        session.add(check)
        session.flush()
    return check


def _is_verified(check: IdentityCheck | None, now: datetime) -> TypeGuard[IdentityCheck]:
    if check is None or check.locked or check.verified_at is None:
        return False
    return now - _last_activity(check) <= INACTIVITY


def _last_activity(check: IdentityCheck) -> datetime:
    """When a verified check was last used: its last lookup, else its verification."""
    last = as_utc(check.last_activity_at) or as_utc(check.verified_at)
    if last is None:
        raise ValueError("an unverified identity check has no activity")
    return last


def is_verified(session: Session, clock: Clock, conversation: Conversation) -> bool:
    """True while the conversation's customer is verified and the check has not lapsed."""
    check = session.scalar(select(IdentityCheck).where(
        IdentityCheck.conversation_id == conversation.id, IdentityCheck.customer_id == conversation.customer_id))
    return _is_verified(check, clock.now())


def throttle_key(agent_id: int, customer_id: int, drill_id: int | None = None) -> str:
    """The attempt counter of one agent on one customer, across conversations.

    A drill's simulated caller is its own contact: a drill's conversations count apart, so
    a candidate who rehearses the failed-identity scenario twice is not paused at the start
    of the second drill (the per-conversation lock still holds inside each)."""
    return f"identity:{agent_id}:{customer_id}" + (f":drill{drill_id}" if drill_id else "")


def _pause_left(session: Session, clock: Clock, agent_id: int, conversation: Conversation) -> int:
    """Seconds this agent's checks of this customer are paused here: a pause earned in free
    practice also holds inside drills (failures inside a drill count for that drill only)."""
    keys = [(throttle_key(agent_id, conversation.customer_id, conversation.drill_id), AGENT_CUSTOMER)]
    if conversation.drill_id is not None:
        keys.append((throttle_key(agent_id, conversation.customer_id), AGENT_CUSTOMER))
    return throttle.longest_wait(session, clock, keys)


def _wait_text(seconds: int) -> str:
    minutes, rest = divmod(max(seconds, 1), 60)
    if not minutes:
        return f"{rest} 秒"
    return f"{minutes} 分钟" if not rest else f"{minutes + 1} 分钟"


def identity_state(session: Session, clock: Clock, conversation: Conversation) -> dict:
    """``{"verified", "locked", "attempts_left", "method", "expires_at", "lock", "retry_after"}`` for the UI.

    ``lock`` says why checks are refused: ``conversation`` (three failures here, for good),
    ``agent_customer`` (three failures of this agent on this customer in 15 minutes, with
    ``retry_after`` seconds) or None.
    """
    check = session.scalar(select(IdentityCheck).where(
        IdentityCheck.conversation_id == conversation.id, IdentityCheck.customer_id == conversation.customer_id))
    now = clock.now()
    verified = False
    expires = method = None
    if _is_verified(check, now):
        verified = True
        expires = local_iso(_last_activity(check) + INACTIVITY)
        method = check.method
    failed = check.failed_attempts if check else 0
    owner = conversation.owner_id if conversation.owner_id is not None else 0  # 0: held, nobody has tried
    key = throttle_key(owner, conversation.customer_id, conversation.drill_id)
    across = throttle.failures(session, clock, key, AGENT_CUSTOMER)
    wait = _pause_left(session, clock, owner, conversation)
    lock = "conversation" if check and check.locked else ("agent_customer" if wait else None)
    return {"verified": verified, "locked": lock is not None,
            "attempts_left": max(min(MAX_FAILURES - failed, MAX_FAILURES - across), 0),
            "method": method, "expires_at": expires,
            "lock": lock, "retry_after": wait if lock == "agent_customer" else None}


def _locked_error(session: Session, clock: Clock, conversation: Conversation, user: User, action: str) -> TooManyAttempts:
    audit.record(session, clock, user, action, allowed=False, conversation_id=conversation.id,
                 customer_id=conversation.customer_id, reason="verification_locked")
    return TooManyAttempts(LOCKED_MESSAGE, code="verification_locked", details={"attempts_left": 0})


def _throttled_error(session: Session, clock: Clock, conversation: Conversation, user: User, action: str,
                     wait: int) -> TooManyAttempts:
    audit.record(session, clock, user, action, allowed=False, conversation_id=conversation.id,
                 customer_id=conversation.customer_id, reason=THROTTLED_REASON)
    return TooManyAttempts(THROTTLED_MESSAGE.format(wait=_wait_text(wait)), code="verification_throttled",
                           details={"attempts_left": 0, "retry_after": wait})


def _hash_code(code: str, salt: str) -> str:
    return salt + "$" + hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _code_matches(code: str, stored: str) -> bool:
    salt, _, _digest = stored.partition("$")
    return hmac.compare_digest(_hash_code(code, salt), stored)


def send_sms(session: Session, clock: Clock, conversation: Conversation, user: User) -> dict:
    """Send a fresh 6-digit code to the customer's simulated phone.

    The code appears only in the phone's inbox (the customer's side). Refused with 429
    ``verification_locked`` after three failures, ``verification_throttled`` while this
    agent's checks of this customer are paused, and ``sms_too_frequent`` within a minute
    of the previous code.
    """
    ensure_open(conversation)
    check = _check(session, conversation)
    if check.locked:
        raise _locked_error(session, clock, conversation, user, "sms_send")
    wait = _pause_left(session, clock, user.id, conversation)
    if wait:
        raise _throttled_error(session, clock, conversation, user, "sms_send", wait)
    now = clock.now()
    last = session.scalar(select(SmsCode).where(SmsCode.conversation_id == conversation.id,
                                                SmsCode.customer_id == conversation.customer_id)
                          .order_by(SmsCode.id.desc()).limit(1))
    if last is not None and now - as_utc(last.created_at) < SMS_RESEND_AFTER:
        wait = int((SMS_RESEND_AFTER - (now - as_utc(last.created_at))).total_seconds()) + 1
        audit.record(session, clock, user, "sms_send", allowed=False, conversation_id=conversation.id,
                     customer_id=conversation.customer_id, reason="sms_too_frequent")
        raise TooManyAttempts(f"验证码发送过于频繁，请 {wait} 秒后再试。", code="sms_too_frequent",
                              details={"retry_after": wait})
    code = f"{secrets.randbelow(10 ** 6):06d}"
    session.add(SmsCode(conversation_id=conversation.id, customer_id=conversation.customer_id,
                        code_hash=_hash_code(code, secrets.token_hex(8)), created_at=now,
                        expires_at=now + SMS_VALIDITY))
    minutes = int(SMS_VALIDITY.total_seconds() // 60)
    session.add(PhoneMessage(conversation_id=conversation.id, customer_id=conversation.customer_id,
                             sender=SMS_SENDER, at=now,
                             body=f"【演练银行】您正在办理客服身份核验，验证码 {code}，{minutes} 分钟内有效。"
                                  "请在本机点击确认完成核验，切勿将验证码告诉任何人（包括银行工作人员）。"
                                  "银行工作人员不会向您索要验证码，请勿告诉任何人。"))
    audit.record(session, clock, user, "sms_send", allowed=True, conversation_id=conversation.id,
                 customer_id=conversation.customer_id)
    session.flush()
    return {"sent": True, "phone": masking.mask_phone(conversation.customer.phone),
            "expires_in": int(SMS_VALIDITY.total_seconds())}


def _text(payload: dict, key: str) -> str | None:
    value = payload.get(key)
    return value.strip() if isinstance(value, str) else None


def _parse(payload: dict) -> tuple[str, dict]:
    """Check the answer is well-formed; raise 400 (not counted) otherwise."""
    method = payload.get("method")
    if method not in METHODS:
        raise ValidationFailed("核验方式只能是 id_phone（姓名+证件号后6位+手机号后4位）或 sms（短信验证码）。",
                               code="invalid_method")
    if method == ID_PHONE:
        name = _text(payload, "name")
        if not name or len(name) > 64:
            raise ValidationFailed("请填写客户姓名（不超过 64 个字）。", code="invalid_name")
        id_last6 = _text(payload, "id_last6")
        if id_last6 is None or not _ID_LAST6.fullmatch(id_last6.upper()):
            raise ValidationFailed("证件号后 6 位应为 6 位数字（最后一位可以是 X）。", code="invalid_id_last6")
        phone_last4 = _text(payload, "phone_last4")
        if phone_last4 is None or not _PHONE_LAST4.fullmatch(phone_last4):
            raise ValidationFailed("手机号后 4 位应为 4 位数字。", code="invalid_phone_last4")
        return method, {"name": name, "id_last6": id_last6.upper(), "phone_last4": phone_last4}
    code = _text(payload, "code")
    if code is None or not _CODE.fullmatch(code):
        raise ValidationFailed("短信验证码应为 6 位数字。", code="invalid_code")
    return method, {"code": code}


def _id_phone_matches(conversation: Conversation, answer: dict) -> bool:
    customer = conversation.customer
    # Compare every field (no short cut) so timing says nothing about which one failed.
    checks = [
        hmac.compare_digest(answer["name"].encode(), (customer.name or "").strip().encode()),
        hmac.compare_digest(answer["id_last6"].encode(), (customer.id_number or "")[-6:].upper().encode()),
        hmac.compare_digest(answer["phone_last4"].encode(), (customer.phone or "")[-4:].encode()),
    ]
    return all(checks)


def _sms_matches(session: Session, conversation: Conversation, code: str, now: datetime) -> bool:
    latest = session.scalar(select(SmsCode).where(SmsCode.conversation_id == conversation.id,
                                                  SmsCode.customer_id == conversation.customer_id)
                            .order_by(SmsCode.id.desc()).limit(1))
    if latest is None or latest.used_at is not None or as_utc(latest.expires_at) <= now:
        return False
    if not _code_matches(code, latest.code_hash):
        return False
    # Single use even under concurrent requests: only one UPDATE can claim the code.
    claimed = session.execute(update(SmsCode).where(SmsCode.id == latest.id, SmsCode.used_at.is_(None))
                              .values(used_at=now).execution_options(synchronize_session=False))
    session.refresh(latest)
    return cast("CursorResult[Any]", claimed).rowcount == 1  # an UPDATE's result is a CursorResult


def verify(session: Session, clock: Clock, conversation: Conversation, user: User, payload: dict) -> VerifyResult:
    """Check the customer's answer and update the conversation's verification state.

    Returns ``VerifyResult(verified, attempts_left, message)``; a wrong answer is a
    result, not an error. Raises 400 for malformed input (not counted), 429
    ``verification_locked`` once three attempts failed in this conversation and 429
    ``verification_throttled`` while this agent's checks of this customer are paused
    (three failures within 15 minutes, in any conversations).
    """
    ensure_open(conversation)
    check = _check(session, conversation)
    if check.locked:
        raise _locked_error(session, clock, conversation, user, "verify")
    method, answer = _parse(payload)
    key = throttle_key(user.id, conversation.customer_id, conversation.drill_id)
    paused = _pause_left(session, clock, user.id, conversation) if conversation.drill_id else 0
    if paused:
        raise _throttled_error(session, clock, conversation, user, "verify", paused)
    try:
        # Counted before comparing, under a row lock: parallel guesses in other conversations queue here.
        reservation = throttle.reserve(session, clock, [(key, AGENT_CUSTOMER)])
    except Throttled as exc:
        raise _throttled_error(session, clock, conversation, user, "verify", exc.retry_after) from exc
    now = clock.now()
    ok = _id_phone_matches(conversation, answer) if method == ID_PHONE else _sms_matches(session, conversation,
                                                                                       answer["code"], now)
    if ok:
        throttle.release(session, reservation, forget=(key,))
        check.failed_attempts = 0
        check.verified_at = now
        check.last_activity_at = now
        check.method = method
        conversation.last_activity_at = now
        audit.record(session, clock, user, "verify", allowed=True, conversation_id=conversation.id,
                     customer_id=conversation.customer_id, target_ref=method)
        session.flush()
        return VerifyResult(True, MAX_FAILURES, "身份核验通过。")
    # Atomic increment, so parallel wrong answers cannot slip past the lockout.
    session.execute(update(IdentityCheck).where(IdentityCheck.id == check.id)
                    .values(failed_attempts=IdentityCheck.failed_attempts + 1)
                    .execution_options(synchronize_session=False))
    session.refresh(check)
    across = throttle.failures(session, clock, key, AGENT_CUSTOMER)
    reason = "mismatch"
    if check.failed_attempts >= MAX_FAILURES:
        check.locked = True
        check.verified_at = None
        reason = "mismatch_locked"
    elif across >= MAX_FAILURES:
        check.verified_at = None
        reason = "mismatch_agent_locked"
    audit.record(session, clock, user, "verify", allowed=False, conversation_id=conversation.id,
                 customer_id=conversation.customer_id, target_ref=method, reason=reason)
    session.flush()
    left = max(min(MAX_FAILURES - check.failed_attempts, MAX_FAILURES - across), 0)
    if method == SMS:
        message = "验证码不正确或已失效。" + (f"还可尝试 {left} 次。" if left else "")
    else:
        message = MISMATCH_MESSAGE + (f"还可尝试 {left} 次。" if left else "")
    if check.locked:
        message = LOCKED_MESSAGE
    elif reason == "mismatch_agent_locked":
        message = THROTTLED_MESSAGE.format(wait=_wait_text(AGENT_CUSTOMER_WINDOW))
    return VerifyResult(False, left, message)


def require_verified(session: Session, clock: Clock, conversation: Conversation, user: User, action: str,
                     target_ref: str = "") -> IdentityCheck:
    """Gate a lookup or an action: refuse (403 ``identity_not_verified``, audited) unless verified.

    On success the inactivity timer restarts; the caller audits the allowed lookup. A watcher
    (an examiner reading a candidate's conversation) neither restarts nor ends the owner's
    verification: the check is the owner's.
    """
    ensure_open(conversation)
    check = session.scalar(select(IdentityCheck).where(
        IdentityCheck.conversation_id == conversation.id, IdentityCheck.customer_id == conversation.customer_id))
    now = clock.now()
    watcher = user.id != conversation.owner_id
    if not _is_verified(check, now):
        lapsed = check is not None and check.verified_at is not None and not check.locked
        reason = "verification_expired" if lapsed else "identity_not_verified"
        audit.record(session, clock, user, action, allowed=False, conversation_id=conversation.id,
                     customer_id=conversation.customer_id, target_ref=target_ref, reason=reason)
        if check is not None and lapsed and not watcher:
            check.verified_at = None
            message = "身份核验已超时（15 分钟无操作），请重新核验后再查询。"
        elif check is not None and check.locked:
            message = "本会话的身份核验已锁定，不能查询或办理任何业务。"
        else:
            message = "请先完成客户身份核验，再查询或办理业务。"
        raise IdentityNotVerified(message)
    if not watcher:
        check.last_activity_at = now
        conversation.last_activity_at = now
    return check


PHONE_WATCHERS = STAFF_ROLES


def can_see_phone(conversation: Conversation, user: User) -> bool:
    """The customer's side: examiners/admins, or the owner of a free practice conversation
    (who then plays the customer too); never a candidate inside a drill."""
    if user.role in PHONE_WATCHERS:
        return True
    return conversation.owner_id == user.id and conversation.drill_id is None


def phone_messages(session: Session, conversation: Conversation, user: User | None = None) -> list[dict]:
    """The customer's simulated phone inbox for this conversation, oldest first.

    This is the customer's side: the only place an SMS code is shown. With ``user``,
    refuses (403 ``forbidden``) anyone ``can_see_phone`` does not allow.
    """
    if user is not None and not can_see_phone(conversation, user):
        raise Forbidden("只有练习会话的发起人或考官可以查看客户手机。", code="forbidden")
    rows = session.scalars(select(PhoneMessage).where(PhoneMessage.conversation_id == conversation.id)
                           .order_by(PhoneMessage.id))
    return [{"id": m.id, "sender": m.sender, "body": masking.redact(m.body), "at": local_iso(as_utc(m.at))}
            for m in rows]


_SMS_CODE_IN_BODY = re.compile(r"验证码\s*(\d{6})")


def confirm_on_phone(session: Session, clock: Clock, conversation: Conversation, user: User) -> VerifyResult:
    """The customer confirms the latest verification SMS on their own phone.

    The code never passes through the agent: asking a customer to read a code out is a
    violation, so the customer's side confirms it here (403 for anyone who cannot see the
    customer's phone; 400 ``no_sms`` when no verification SMS is waiting)."""
    if not can_see_phone(conversation, user):
        raise Forbidden("只有客户一方（练习会话的发起人或考官）可以在客户手机上确认。", code="forbidden")
    body = session.scalar(select(PhoneMessage.body).where(PhoneMessage.conversation_id == conversation.id)
                          .order_by(PhoneMessage.id.desc()).limit(1))
    match = _SMS_CODE_IN_BODY.search(body or "")
    if match is None:
        raise ValidationFailed("客户手机上没有待确认的验证短信，请坐席先发送。", code="no_sms")
    return verify(session, clock, conversation, user, {"method": SMS, "code": match.group(1)})


def recent_lockouts(session: Session, clock: Clock, hours: int = 24) -> list[dict]:
    """Identity-check lockouts of the last ``hours``, newest first, for examiners.

    One row per failure that locked something: ``kind`` is ``conversation`` (this
    conversation, for good) or ``agent_customer`` (the agent's checks of the customer
    across conversations, for 15 minutes). ``refused`` counts the attempts refused
    afterwards while paused; ``retry_after`` is the pause left now (0 once over).
    """
    now = clock.now()
    since = now - timedelta(hours=hours)
    rows = session.execute(
        select(AuditEntry, User.username, User.display_name, Customer.code, Conversation.drill_id)
        .join(User, User.id == AuditEntry.user_id, isouter=True)
        .join(Customer, Customer.id == AuditEntry.customer_id, isouter=True)
        .join(Conversation, Conversation.id == AuditEntry.conversation_id, isouter=True)
        .where(AuditEntry.action == "verify", AuditEntry.reason.in_(LOCK_REASONS), AuditEntry.at >= since)
        .order_by(AuditEntry.id.desc()).limit(500)).all()
    refused = dict(((user_id, customer_id), count) for user_id, customer_id, count in session.execute(
        select(AuditEntry.user_id, AuditEntry.customer_id, func.count())
        .where(AuditEntry.reason == THROTTLED_REASON, AuditEntry.at >= since)
        .group_by(AuditEntry.user_id, AuditEntry.customer_id)))
    out = []
    for entry, username, display_name, customer_code, drill_id in rows:
        kind = "conversation" if entry.reason == "mismatch_locked" else "agent_customer"
        wait = 0
        if entry.user_id is not None and entry.customer_id is not None:
            wait = throttle.seconds_left(session, clock, throttle_key(entry.user_id, entry.customer_id, drill_id),
                                         AGENT_CUSTOMER)
        out.append({"at": local_iso(as_utc(entry.at)), "agent": username or "—",
                    "agent_label": display_name or username or "—", "customer": customer_code or "—",
                    "conversation_id": entry.conversation_id, "drill_id": drill_id, "kind": kind,
                    "refused": refused.get((entry.user_id, entry.customer_id), 0), "retry_after": wait})
    return out
