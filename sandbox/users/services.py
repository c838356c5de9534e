"""Account rules: roles, passwords, login throttling, browser sessions and API tokens.

Logging in runs in three steps so the slow password hash holds no database lock:
``reserve_login`` (a short write: counts the attempt, or refuses while throttled),
``verify_login`` (reads; always computes one hash, a dummy one for unknown names, so the
answer time does not tell which names exist) and ``complete_login`` (a short write:
takes the attempt back, starts a session). The caller commits after each step.

Throttling (policies below) is per account *and source* (IP address, IPv6 by /64), per
source over all accounts, and per account over all sources; a browser that logged into
the account before (a signed device cookie) is throttled on its own key instead, so an
attacker's failures elsewhere never keep the real user out. Waits grow and end by
themselves; nothing locks an account for good.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, inspect, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from werkzeug.security import check_password_hash, generate_password_hash

from sandbox.clock import Clock, as_utc
from sandbox.errors import Conflict, Forbidden, NotFound, TooManyAttempts, ValidationFailed
from sandbox.roles import ADMIN, ALL_ROLES, ROLES
from sandbox.users import throttle
from sandbox.users.models import ApiToken, User, UserSession
from sandbox.users.throttle import Policy, Reservation, Throttled

# Login throttling: one account from one source; one source over every account (an exam
# room behind one NAT address logs in together, so this one is generous); one account over
# every source (a slow attack from many addresses); one trusted browser of the account.
LOGIN_ACCOUNT_SOURCE = Policy(free=5, base_seconds=30, cap_seconds=15 * 60, reset_seconds=60 * 60)
LOGIN_SOURCE = Policy(free=30, base_seconds=10, cap_seconds=5 * 60, reset_seconds=15 * 60)
LOGIN_ACCOUNT = Policy(free=20, base_seconds=30, cap_seconds=15 * 60, reset_seconds=60 * 60)
LOGIN_DEVICE = Policy(free=5, base_seconds=30, cap_seconds=15 * 60, reset_seconds=60 * 60)
# Checks of the current password when changing it.
PASSWORD_CHECK = Policy(free=5, base_seconds=30, cap_seconds=15 * 60, reset_seconds=60 * 60)
# Counters untouched this long are deleted at the next successful login.
THROTTLE_KEEP = timedelta(days=2)

# A browser session ends at logout, password change or deactivation, and at the latest this long after login.
SESSION_MAX_AGE = timedelta(days=30)

BAD_CREDENTIALS = "用户名或密码错误。"
ACCOUNT_DISABLED = "该账号已停用，请联系管理员。"

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,32}$")


def validate_password(password: str | None) -> str:
    """Refuse empty and weak passwords with a reason a person understands."""
    if not password:
        raise ValidationFailed("密码不能为空。", code="weak_password")
    if len(password) < 8:
        raise ValidationFailed("密码至少需要 8 位。", code="weak_password")
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        raise ValidationFailed("密码需同时包含字母和数字。", code="weak_password")
    if len(password) > 128:
        raise ValidationFailed("密码不能超过 128 位。", code="weak_password")
    return password


def create_user(session: Session, clock: Clock, username: str, role: str, password: str,
                display_name: str = "") -> User:
    """Add a user after checking the name, the role and the password; the caller commits."""
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise ValidationFailed("用户名需为 3–32 位字母、数字、下划线、点或连字符。", code="invalid_username")
    if role not in ROLES:
        raise ValidationFailed(f"未知角色 {role!r}；可选：{', '.join(ALL_ROLES)}。", code="unknown_role")
    validate_password(password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户 {username} 已存在。", code="duplicate_user")
    user = User(username=username, role=role, display_name=display_name.strip()[:64],
                password_hash=generate_password_hash(password), created_at=clock.now())
    session.add(user)
    session.flush()
    return user


def hash_password(password: str) -> str:
    """Validate a new password and return its hash (slow: call it outside a write transaction)."""
    validate_password(password)
    return generate_password_hash(password)


def set_password(user: User, password: str) -> None:
    """Replace a user's password (validated and hashed). Sessions are not touched: see ``replace_password``."""
    user.password_hash = hash_password(password)


def generate_password() -> str:
    """A random password people can type: 10 letters and digits, at least two of each."""
    letters = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
    digits = "23456789"
    chars = [secrets.choice(letters) for _ in range(6)] + [secrets.choice(digits) for _ in range(4)]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户 {username} 不存在。", code="unknown_user")
    return user


def get_user_by_id(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在。", code="unknown_user")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.username)))


# --- logging in -----------------------------------------------------------------------

_dummy: list[str] = []


def _dummy_hash() -> str:
    """A hash of a random password, made the same way as real ones (computed once)."""
    if not _dummy:
        _dummy.append(generate_password_hash(secrets.token_urlsafe(16)))
    return _dummy[0]


def password_matches(stored_hash: str, password: str) -> bool:
    """Compare a password with a stored hash (the slow step of every login)."""
    return check_password_hash(stored_hash, password or "")


def source_key(address: str | None) -> str:
    """The throttling key of a client address: IPv4 as is, IPv6 by its /64 network."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _login_name(username: str | None) -> str:
    return (username or "").strip()[:64]


def login_keys(username: str | None, source: str | None, device: str | None = None) -> list[tuple[str, Policy]]:
    """The throttling keys of one login attempt.

    ``device`` is the nonce of a valid device cookie *for this username* (the browser
    logged into the account before); such attempts are counted on their own key only.
    """
    name = _login_name(username)
    if device:
        return [(f"login:device:{device}|{name}", LOGIN_DEVICE)]
    src = source_key(source)
    return [(f"login:acct_ip:{name}|{src}", LOGIN_ACCOUNT_SOURCE), (f"login:ip:{src}", LOGIN_SOURCE),
            (f"login:acct:{name}", LOGIN_ACCOUNT)]


def reserve_login(session: Session, clock: Clock, username: str | None, source: str | None,
                  device: str | None = None) -> Reservation:
    """Count a login attempt before the password is checked, or refuse it while throttled.

    Raises ``TooManyAttempts`` (429, code ``login_throttled``, ``retry_after`` seconds). The
    same for known and unknown names. The caller commits.
    """
    try:
        return throttle.reserve(session, clock, login_keys(username, source, device))
    except Throttled as exc:
        raise TooManyAttempts(f"登录失败次数过多，请 {exc.retry_after} 秒后再试。", code="login_throttled",
                              details={"retry_after": exc.retry_after}) from exc


def verify_login(session: Session, username: str | None, password: str | None) -> User:
    """The user these credentials belong to; reads only and always computes one hash.

    Raises ``ValidationFailed`` (``bad_credentials``, the same for a wrong password and an
    unknown name) or, with the right password of a deactivated account, ``Forbidden``
    (``account_disabled``).
    """
    user = session.scalar(select(User).where(User.username == _login_name(username)))
    if user is None:
        password_matches(_dummy_hash(), password or "")  # as slow as a real check
        raise ValidationFailed(BAD_CREDENTIALS, code="bad_credentials")
    if not password_matches(user.password_hash, password or ""):
        raise ValidationFailed(BAD_CREDENTIALS, code="bad_credentials")
    if not user.active:
        raise Forbidden(ACCOUNT_DISABLED, code="account_disabled")
    return user


def complete_login(session: Session, clock: Clock, user: User, reservation: Reservation) -> str:
    """Take the attempt back, record the login and start a browser session; returns its id."""
    # This account from this source (or this browser) starts afresh; the shared keys only
    # lose this attempt's count.
    forget = tuple(key for key, _policy in reservation.keys if key.startswith(("login:acct_ip:", "login:device:")))
    throttle.release(session, reservation, forget=forget)
    throttle.purge(session, clock, THROTTLE_KEEP)
    user = session.merge(user)
    user.last_login_at = clock.now()
    return start_session(session, clock, user)


# --- browser sessions -----------------------------------------------------------------

def start_session(session: Session, clock: Clock, user: User) -> str:
    """A new session for ``user``; returns the id for the cookie (only its hash is kept)."""
    now = clock.now()
    session.execute(delete(UserSession).where(UserSession.user_id == user.id,
                                              UserSession.created_at < now - SESSION_MAX_AGE))
    sid = secrets.token_urlsafe(32)
    session.add(UserSession(user_id=user.id, token_hash=_hash_token(sid), created_at=now))
    session.flush()
    return sid


def _session_live(active: bool, created_at: datetime, now: datetime) -> bool:
    """Whether a browser session found by its id still lets its user in (one rule for both lookups)."""
    return bool(active) and now - as_utc(created_at) <= SESSION_MAX_AGE


def user_for_session(session: Session, clock: Clock, sid: object) -> User | None:
    """The active user of a live session, or None (ended, expired, unknown, deactivated)."""
    if not isinstance(sid, str) or not sid:
        return None
    row = session.execute(select(User, UserSession.created_at).join(UserSession, UserSession.user_id == User.id)
                          .where(UserSession.token_hash == _hash_token(sid))).first()  # one query per request
    if row is None or not _session_live(row[0].active, row[1], clock.now()):
        return None
    return row[0]


_SESSIONS = UserSession.__table__
_SESSION_HOLDER = (select(_SESSIONS.c.user_id, _SESSIONS.c.created_at, User.__table__.c.active, User.__table__.c.role)
                   .join(User.__table__, User.__table__.c.id == _SESSIONS.c.user_id)
                   .where(_SESSIONS.c.token_hash == bindparam("token_hash")))


def session_holder(session: Session, clock: Clock, sid: object) -> tuple[int, str] | None:
    """The id and role of the user ``user_for_session`` would let in, read without loading the
    user (one Core select: the poll lane's check, ``sandbox.web.poll_lane``)."""
    if not isinstance(sid, str) or not sid:
        return None
    row = session.execute(_SESSION_HOLDER, {"token_hash": _hash_token(sid)}).first()
    if row is None or not _session_live(row.active, row.created_at, clock.now()):
        return None
    return int(row.user_id), str(row.role)


def end_session(session: Session, sid: object) -> None:
    """End one browser session (logout)."""
    if isinstance(sid, str) and sid:
        session.execute(delete(UserSession).where(UserSession.token_hash == _hash_token(sid)))


def end_all_sessions(session: Session, user: User) -> int:
    """End every browser session of ``user``; returns how many there were."""
    result = session.execute(delete(UserSession).where(UserSession.user_id == user.id)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


def session_count(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id)) or 0


# --- password changes and administration -------------------------------------------------

def password_check_key(user: User) -> str:
    return f"password:{user.id}"


def reserve_password_check(session: Session, clock: Clock, user: User) -> Reservation:
    """Count a check of the current password (password change), or refuse while throttled (429)."""
    try:
        return throttle.reserve(session, clock, [(password_check_key(user), PASSWORD_CHECK)])
    except Throttled as exc:
        raise TooManyAttempts(f"原密码错误次数过多，请 {exc.retry_after} 秒后再试。", code="password_check_throttled",
                              details={"retry_after": exc.retry_after}) from exc


def replace_password(session: Session, clock: Clock, user: User, password_hash: str,
                     reservation: Reservation | None = None) -> dict:
    """Store a new password hash and end every session and API token of the user.

    Returns ``{"sessions_ended", "tokens_revoked"}``. The caller starts a new session
    if the person who changed it should stay logged in.
    """
    if reservation is not None:
        throttle.release(session, reservation, forget=(password_check_key(user),))
    user.password_hash = password_hash
    return {"sessions_ended": end_all_sessions(session, user), "tokens_revoked": revoke_tokens(session, user)}


def reset_password(session: Session, clock: Clock, user: User) -> str:
    """Give ``user`` a new random password (returned once) and end their sessions and tokens."""
    password = generate_password()
    replace_password(session, clock, user, hash_password(password))
    return password


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)
                          .where(User.role == ADMIN, User.active.is_(True))) or 0


def _keep_an_admin(session: Session, user: User) -> None:
    if user.role == ADMIN and user.active and _active_admins(session) <= 1:
        raise Conflict("至少需要保留一名启用中的管理员，不能停用或降级最后一名管理员。", code="last_admin")


def set_role(session: Session, user: User, role: str) -> None:
    """Give ``user`` another role; refused if it would leave no active administrator."""
    if role not in ROLES:
        raise ValidationFailed(f"未知角色 {role!r}；可选：{', '.join(ALL_ROLES)}。", code="unknown_role")
    if role == user.role:
        return
    if role != ADMIN:
        _keep_an_admin(session, user)
    user.role = role


def deactivate(session: Session, user: User) -> dict:
    """Stop ``user`` logging in and end their sessions and tokens at once.

    Refused (409 ``last_admin``) for the last active administrator. Returns
    ``{"sessions_ended", "tokens_revoked"}``.
    """
    _keep_an_admin(session, user)
    user.active = False
    return {"sessions_ended": end_all_sessions(session, user), "tokens_revoked": revoke_tokens(session, user)}


def activate(session: Session, user: User) -> None:
    """Let a deactivated user log in again."""
    user.active = True


# How stale ``ApiToken.last_used_at`` may get before a request records its use.
TOKEN_TOUCH_SECONDS = 60


_USER_KEYS = [prop.key for prop in inspect(User).column_attrs]
_TOKENS, _USERS = ApiToken.__table__, User.__table__
# Built once, in Core: the statement and its ORM loading cost more than the query itself.
_TOKEN_USER = (select(_TOKENS.c.id.label("token_id"), _TOKENS.c.last_used_at.label("token_last_used_at"),
                      *(_USERS.c[prop.columns[0].key].label(prop.key) for prop in inspect(User).column_attrs))
               .join(_USERS, _USERS.c.id == _TOKENS.c.user_id).where(_TOKENS.c.token_hash == bindparam("token_hash")))


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, clock: Clock, user: User) -> str:
    """Create an API token for ``user``; only its hash is stored, so show it once."""
    token = "bd_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_hash_token(token), prefix=token[:10],
                         created_at=clock.now()))
    session.flush()
    return token


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's API tokens, oldest first (only prefixes: the tokens themselves are not kept)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def revoke_tokens(session: Session, user: User, token_id: int | None = None) -> int:
    """Revoke one token of ``user`` (``token_id``) or all of them; returns how many.

    404 ``unknown_token`` when ``token_id`` is not one of the user's tokens.
    """
    query = delete(ApiToken).where(ApiToken.user_id == user.id)
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    count = session.execute(query.execution_options(synchronize_session=False)).rowcount or 0
    if token_id is not None and not count:
        raise NotFound(f"用户 {user.username} 没有编号为 {token_id} 的令牌。", code="unknown_token")
    return count


def user_for_token(session: Session, clock: Clock, token: str,
                   record_use: Callable[[int, datetime], None]) -> User | None:
    """The active user holding ``token``, or None.

    The token's last use is kept to the minute: when the stored one is older,
    ``record_use(token_id, now)`` is called (``TokenUseWriter.record_use``: written within a
    second, in a batch, off the request), so this function only reads."""
    # One Core select of the token's last use and its user's columns, and the user put into the
    # session without a second query (merge with load=False), at about half the cost of an ORM
    # load. Nothing is cached: a revoked token or a deactivated user is refused by the very next
    # request.
    found = token_holder(session, clock, token, record_use)
    if found is None:
        return None
    user = User(**{key: getattr(found, key) for key in _USER_KEYS})
    make_transient_to_detached(user)
    return session.merge(user, load=False)


def token_holder(session: Session, clock: Clock, token: str,
                 record_use: Callable[[int, datetime], None]) -> Row[Any] | None:
    """The row of the active user holding ``token`` (the user's columns, by their attribute
    names), or None; records a stale last use like ``user_for_token``, which builds the user
    from it (the poll lane, ``sandbox.web.poll_lane``, needs only the id)."""
    if not token:
        return None
    found = session.execute(_TOKEN_USER, {"token_hash": _hash_token(token)}).first()
    if found is None or not found.active:
        return None
    now = clock.now()
    last_used = as_utc(found.token_last_used_at) if found.token_last_used_at else None
    if last_used is None or (now - last_used).total_seconds() >= TOKEN_TOUCH_SECONDS:
        record_use(found.token_id, now)
    return found


_TOUCH_TOKEN = (update(_TOKENS).where(_TOKENS.c.id == bindparam("token_id"))
                .where((_TOKENS.c.last_used_at.is_(None)) | (_TOKENS.c.last_used_at < bindparam("at")))
                .values(last_used_at=bindparam("at")))


def record_token_uses(session: Session, uses: list[dict]) -> None:
    """Write queued token uses (``{"token_id", "at"}``): each token's latest, never moving a
    last use backwards; a token revoked meanwhile is simply not there any more."""
    latest: dict[int, datetime] = {}
    for use in uses:
        if use["token_id"] not in latest or use["at"] > latest[use["token_id"]]:
            latest[use["token_id"]] = use["at"]
    session.connection().execute(_TOUCH_TOKEN, [{"token_id": k, "at": v} for k, v in latest.items()])
