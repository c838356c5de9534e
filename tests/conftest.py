"""Shared fixtures: a real instance folder per test (SQLite file or a fresh PostgreSQL
database), a fixed clock, clients logged in as each role.

Initialising and seeding an instance costs seconds, so it happens once per session
in a template that each test copies (SQLite: the folder; PostgreSQL: CREATE DATABASE
... TEMPLATE).
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sandbox.app import create_app
from sandbox.clock import FixedClock
from sandbox.instance import DEMO_LOGINS_FILE, DEMO_USERS, initialise

# postgresql+psycopg://user@host:port/postgres  (an admin URL; tests create their own databases)
PG_ADMIN_URL = os.environ.get("BANKDRILL_TEST_DATABASE_URL")
ROLE_USER = {role: name for name, role, _ in reversed(DEMO_USERS)}  # first user of each role


class PostgresDatabases:
    """Creates and drops throwaway databases on the test cluster."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)
        self.engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")

    def url_for(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        with self.engine.connect() as conn:
            tmpl = f" TEMPLATE {template}" if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{tmpl}'))
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresDatabases | None]:
    if not PG_ADMIN_URL:
        yield None
        return
    dbs = PostgresDatabases(PG_ADMIN_URL)
    yield dbs
    dbs.engine.dispose()


def _new_database(pg: PostgresDatabases | None, home: Path, template: str | None = None) -> tuple[str, str | None]:
    if pg is None:
        return f"sqlite:///{home / 'bankdrill.sqlite3'}", None
    name = f"bd_{uuid.uuid4().hex[:12]}"
    return pg.create(name, template), name


@pytest.fixture(scope="session")
def template_instance(tmp_path_factory, pg) -> Iterator[dict]:
    """An initialised, seeded instance every test starts from."""
    home = tmp_path_factory.mktemp("template_home")
    url, dbname = _new_database(pg, home)
    app = create_app({"HOME": str(home), "DATABASE_URL": url, "TESTING": True, "CLOCK": FixedClock()})
    runtime = app.extensions["bankdrill"]
    initialise(runtime, seed=True)
    passwords = {}
    for line in (home / DEMO_LOGINS_FILE).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            username, _role, password = line.split("\t")
            passwords[username] = password
    runtime.dispose()
    yield {"home": home, "dbname": dbname, "passwords": passwords}
    if pg is not None and dbname:
        pg.drop(dbname)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def _make_app(tmp_path: Path, template: dict, pg, clock, **config):
    home = tmp_path / "home"
    shutil.copytree(template["home"], home)
    url, dbname = _new_database(pg, home, template["dbname"])
    # QUIET_POLL_CHECK: every poll answer reused from the memo is compared with one read afresh
    # (sandbox.drill.quiet), so a writer that changes what a poll shows unseen fails its tests.
    settings = {"HOME": str(home), "DATABASE_URL": url, "TESTING": True, "CLOCK": clock,
                "PROPAGATE_UNEXPECTED": True, "QUIET_POLL_CHECK": True}
    settings.update(config)
    app = create_app(settings)
    app.config["TEST_PASSWORDS"] = template["passwords"]
    return app, dbname


@pytest.fixture
def app_config() -> dict:
    """Extra config for the ``app`` fixture; override in a module to change it."""
    return {"WTF_CSRF_ENABLED": False}


@pytest.fixture
def app(tmp_path, template_instance, pg, clock, app_config):
    app, dbname = _make_app(tmp_path, template_instance, pg, clock, **app_config)
    yield app
    runtime = app.extensions["bankdrill"]
    runtime.close_services()  # first: the search-log writer may be writing a batch right now
    # A connection still checked out here was never closed: on PostgreSQL the DROP below
    # kills it and the garbage collector later fails inside whatever test runs then.
    leaked = sum(engine.pool.checkedout() for engine in runtime.engines())
    # A browser test's live server may still be answering a poll the page sent just before
    # it closed: give in-flight requests a moment to return their connection.
    deadline = time.monotonic() + 5
    while leaked and time.monotonic() < deadline:
        time.sleep(0.05)
        leaked = sum(engine.pool.checkedout() for engine in runtime.engines())
    runtime.dispose()
    if pg is not None and dbname:
        pg.drop(dbname)
    if leaked:
        pytest.fail(f"{leaked} database connection(s) left open by this test: close them (use `with`)",
                    pytrace=False)


@pytest.fixture
def runtime(app):
    return app.extensions["bankdrill"]


@pytest.fixture
def session(runtime):
    """A session on the test's database; the test owns its transactions."""
    with runtime.session_factory() as s:
        yield s


@pytest.fixture
def drill_facts(runtime) -> Callable:
    """``drill_facts(drill_id, key=None)``: the facts (name, id_last6, bill_amount…) of a drill
    contact's own customer (every drill draws a fresh identity); default: the first contact."""

    def _facts(drill_id: int, key: str | None = None) -> dict:
        from sandbox.drill import drill_contacts

        with runtime.session_factory() as s:
            facts = drill_contacts.drill_contact_facts(s, drill_contacts.get_drill(s, int(drill_id)))
        return facts[key] if key else next(iter(facts.values()))

    return _facts


IDENTITY_REPLY = re.compile(r"我叫(?P<name>[^，,。]+)[，,]身份证后六位是(?P<id_last6>\w{6})[，,]手机尾号(?P<phone_last4>\d{4})")


def identity_from_reply(text: str) -> dict[str, str]:
    """The identity details a simulated customer gave in a message (as a client would read them)."""
    m = IDENTITY_REPLY.search(text)
    assert m, f"no identity details in {text!r}"
    return m.groupdict()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login_as(app) -> Callable:
    """``login_as("candidate")`` returns a test client logged in as that role's demo user."""

    def _login(role_or_username: str, client=None):
        username = ROLE_USER.get(role_or_username, role_or_username)
        client = client or app.test_client()
        password = app.config["TEST_PASSWORDS"][username]
        resp = client.post("/login", data={"username": username, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return client

    return _login


@pytest.fixture
def api_token(app) -> Callable[[str], str]:
    """``api_token("examiner")`` issues a bearer token for that role's demo user."""
    from sandbox.users.services import get_user, issue_token

    def _token(role_or_username: str) -> str:
        runtime = app.extensions["bankdrill"]
        with runtime.transaction() as s:
            return issue_token(s, runtime.clock, get_user(s, ROLE_USER.get(role_or_username, role_or_username)))

    return _token


@pytest.fixture
def api(app, api_token):
    """``api("candidate").get(url)``: a client that sends a bearer token for that role."""

    class _Api:
        def __init__(self, token: str) -> None:
            self.client = app.test_client()
            self.headers = {"Authorization": f"Bearer {token}"}

        def __getattr__(self, method: str):
            def call(url: str, **kwargs):
                headers = {**self.headers, **kwargs.pop("headers", {})}
                return getattr(self.client, method)(url, headers=headers, **kwargs)
            return call

    return lambda role: _Api(api_token(role))


@pytest.fixture
def empty_database(tmp_path, pg) -> Iterator[str]:
    """The URL of a brand-new, empty database (no schema)."""
    home = tmp_path / "empty_home"
    home.mkdir()
    url, dbname = _new_database(pg, home)
    yield url
    if pg is not None and dbname:
        pg.drop(dbname)


def strip_tags(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Browser tests skip (one-line reason) without Debian's Chromium, or fail when CI requires it;
    so do the tests that need espeak-ng (marker ``espeak``)."""
    from tests import browser_gate

    gates = []
    if item.get_closest_marker("browser") is not None:
        gates.append(lambda: browser_gate.decide(browser_gate.chromium_path(), os.environ))
    if item.get_closest_marker("espeak") is not None:
        gates.append(lambda: browser_gate.decide_espeak(os.environ))
    for gate in gates:
        action, reason = gate()
        if action == browser_gate.FAIL:
            pytest.fail(reason, pytrace=False)
        if action == browser_gate.SKIP:
            pytest.skip(reason)
