"""Settings for one sandbox instance.

An instance lives in a folder (``BANKDRILL_HOME``, default ``./instance``) holding
the SQLite database, the search index and a secret key generated on first start.
``BANKDRILL_DATABASE_URL`` points the instance at another database (PostgreSQL).
``BANKDRILL_TIMEZONE`` is the zone pages show times in (default ``Asia/Shanghai``, 北京时间).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.errors import ConfigurationError
from sandbox.timefmt import DEFAULT_TIMEZONE, load_zone

SECRET_KEY_FILE = "secret_key"


@dataclass
class Settings:
    """Everything the app and the CLI need to know about one instance."""

    home: Path
    database_url: str
    secret_key: str = ""
    demo_mode: bool = True
    testing: bool = False
    timezone: str = DEFAULT_TIMEZONE  # the zone times are shown in (IANA name)
    # Behind TLS: Secure cookies and an HSTS header (``BANKDRILL_SECURE_COOKIES=1``).
    secure_cookies: bool = False
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust
    # (``BANKDRILL_TRUSTED_PROXIES=1`` behind one nginx); 0 trusts none.
    trusted_proxies: int = 0
    # Spoken answers (sandbox/interview/recordings.py): the largest recording in bytes and the
    # longest in seconds (``BANKDRILL_RECORDING_MAX_BYTES``, ``BANKDRILL_RECORDING_MAX_SECONDS``).
    recording_max_bytes: int = 5 * 1024 * 1024
    recording_max_seconds: int = 180
    # Anything else the factory was given (Flask config keys, domain knobs).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def index_dir(self) -> Path:
        return self.home / "search_index"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


HOME_MODE = 0o700


def ensure_home(home: Path) -> Path:
    """Create the instance folder (mode 0700: it holds the database, backups and the secret key),
    or explain in one line why it cannot be used. An existing instance folder is tightened too."""
    try:
        existed = home.is_dir()
        home.mkdir(parents=True, exist_ok=True, mode=HOME_MODE)
        if not existed or (home / SECRET_KEY_FILE).exists():
            if home.stat().st_mode & 0o777 != HOME_MODE:
                os.chmod(home, HOME_MODE)
        # A probe of its own: server processes started together (gunicorn -w 4) check the same
        # folder at the same moment, and a shared name made one delete another's probe.
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=home)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigurationError(
            f"实例目录 {home} 无法写入（{exc.strerror or exc}）；请设置可写的 BANKDRILL_HOME。",
            code="home_not_writable",
        ) from exc
    return home


def load_or_create_secret_key(home: Path) -> str:
    """Read the instance's secret key, generating it (mode 0600) on first start."""
    path = home / SECRET_KEY_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    os.chmod(path, 0o600)
    return key


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Build settings from overrides, then the environment, then defaults.

    Recognised override keys: ``HOME`` (instance folder), ``DATABASE_URL``,
    ``SECRET_KEY``, ``DEMO_MODE``, ``TESTING``, ``TIMEZONE``, ``SECURE_COOKIES``, ``TRUSTED_PROXIES``,
    ``RECORDING_MAX_BYTES``, ``RECORDING_MAX_SECONDS``;
    everything else is kept in ``extra``.
    """
    overrides = dict(overrides or {})
    home = Path(overrides.pop("HOME", None) or os.environ.get("BANKDRILL_HOME") or "instance").resolve()
    ensure_home(home)
    url = overrides.pop("DATABASE_URL", None) or os.environ.get("BANKDRILL_DATABASE_URL")
    if not url:
        url = f"sqlite:///{home / 'bankdrill.sqlite3'}"
    elif url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the driver we ship; accept the plain URL people copy around.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    secret = overrides.pop("SECRET_KEY", None) or load_or_create_secret_key(home)
    demo = overrides.pop("DEMO_MODE", None)
    if demo is None:
        demo = os.environ.get("BANKDRILL_DEMO", "1") not in ("0", "false", "no")
    testing = bool(overrides.pop("TESTING", False))
    zone = load_zone(overrides.pop("TIMEZONE", None) or os.environ.get("BANKDRILL_TIMEZONE")).key
    secure = overrides.pop("SECURE_COOKIES", None)
    if secure is None:
        secure = _flag(os.environ.get("BANKDRILL_SECURE_COOKIES", "0"))
    proxies = overrides.pop("TRUSTED_PROXIES", None)
    if proxies is None:
        proxies = os.environ.get("BANKDRILL_TRUSTED_PROXIES", "0")
    try:
        proxies = int(proxies)
        if not 0 <= proxies <= 10:
            raise ValueError
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"BANKDRILL_TRUSTED_PROXIES 应为 0–10 的整数（现为 {proxies!r}）。",
                                 code="bad_setting") from exc
    max_bytes = _int_setting(overrides, "RECORDING_MAX_BYTES", 5 * 1024 * 1024, 1024, 15 * 1024 * 1024)
    max_seconds = _int_setting(overrides, "RECORDING_MAX_SECONDS", 180, 5, 1800)
    return Settings(home=home, database_url=url, secret_key=secret, demo_mode=bool(demo),
                    testing=testing, timezone=zone, secure_cookies=bool(secure), trusted_proxies=proxies,
                    recording_max_bytes=max_bytes, recording_max_seconds=max_seconds, extra=overrides)


def _int_setting(overrides: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    """An integer setting from the overrides, else ``BANKDRILL_<name>``, else ``default``; refused outside low–high."""
    raw = overrides.pop(name, None)
    if raw is None:
        raw = os.environ.get(f"BANKDRILL_{name}", default)
    try:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"BANKDRILL_{name} 应为 {low}–{high} 的整数（现为 {raw!r}）。",
                                 code="bad_setting") from exc
    return value


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")
