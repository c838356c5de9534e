"""Account rules: roles, password policy, login throttling and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from sandbox.accounts.models import ApiToken, User
from sandbox.clock import Clock, as_utc
from sandbox.errors import Conflict, NotFound, TooManyAttempts, ValidationFailed

CANDIDATE, EXAMINER, TRAINER, ADMIN = "candidate", "examiner", "trainer", "admin"
ROLES: dict[str, str] = {
    CANDIDATE: "考生",
    EXAMINER: "考官",
    TRAINER: "培训师",
    ADMIN: "管理员",
}
ALL_ROLES = tuple(ROLES)

# Five failures in a row start slowing the account down; each further failure doubles the wait.
FREE_FAILURES = 5
BASE_LOCK_SECONDS = 30
MAX_LOCK_SECONDS = 15 * 60

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


def set_password(user: User, password: str) -> None:
    """Replace a user's password (validated and hashed)."""
    validate_password(password)
    user.password_hash = generate_password_hash(password)


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户 {username} 不存在。", code="unknown_user")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.username)))


def authenticate(session: Session, clock: Clock, username: str, password: str) -> User:
    """Check a login; count failures and slow the account down after five in a row.

    Raises ``ValidationFailed`` (code ``bad_credentials``) on a wrong name or
    password and ``TooManyAttempts`` while the account is cooling down. The caller
    commits in both the success and the failure case so the counter is kept.
    """
    now = clock.now()
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None or not user.active:
        # Same message as a wrong password: never reveal which names exist.
        raise ValidationFailed("用户名或密码错误。", code="bad_credentials")
    locked_until = as_utc(user.locked_until)
    if locked_until and locked_until > now:
        wait = int((locked_until - now).total_seconds()) + 1
        raise TooManyAttempts(f"登录失败次数过多，请 {wait} 秒后再试。", code="login_throttled",
                              details={"retry_after": wait})
    if not check_password_hash(user.password_hash, password or ""):
        user.failed_logins += 1
        if user.failed_logins >= FREE_FAILURES:
            extra = user.failed_logins - FREE_FAILURES
            seconds = min(BASE_LOCK_SECONDS * (2 ** extra), MAX_LOCK_SECONDS)
            user.locked_until = now + timedelta(seconds=seconds)
        raise ValidationFailed("用户名或密码错误。", code="bad_credentials")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user


# How stale ``ApiToken.last_used_at`` may get before a request records its use.
TOKEN_TOUCH_SECONDS = 60


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, clock: Clock, user: User) -> str:
    """Create an API token for ``user``; only its hash is stored, so show it once."""
    token = "bd_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_hash_token(token), prefix=token[:10],
                         created_at=clock.now()))
    session.flush()
    return token


def user_for_token(session: Session, clock: Clock, token: str) -> User | None:
    """The active user holding ``token``, or None."""
    if not token:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    if row is None or not row.user.active:
        return None
    now = clock.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() >= TOKEN_TOUCH_SECONDS:
        row.last_used_at = now  # at most once a minute: most API calls then write nothing
    return row.user
