"""The role × URL table: every route, every role and anonymous get what is declared."""

from __future__ import annotations

import pytest

from sandbox.instance import DEMO_USERS
from tests.web.roles_table import PUBLIC, ROUTE_ROLES

ROLES = ["anonymous"] + sorted({role for _, role, _ in DEMO_USERS})


def _endpoints(app):
    return sorted({rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"})


def test_every_route_declares_its_roles_and_matches_the_table(app):
    missing, undeclared, mismatched = [], [], []
    for endpoint in _endpoints(app):
        declared = getattr(app.view_functions[endpoint], "allowed_roles", None)
        if declared is None:
            undeclared.append(endpoint)
            continue
        entry = ROUTE_ROLES.get(endpoint)
        if entry is None:
            missing.append(endpoint)
            continue
        expected = entry["roles"] if entry["roles"] == PUBLIC else frozenset(entry["roles"])
        if declared != expected:
            mismatched.append((endpoint, declared, expected))
    assert not undeclared, f"routes without @roles_required/@public: {undeclared}"
    assert not missing, f"routes missing from tests/web/roles_table.py: {missing}"
    assert not mismatched, mismatched
    stale = set(ROUTE_ROLES) - set(_endpoints(app))
    assert not stale, f"table entries for routes that no longer exist: {stale}"


CASES = [(endpoint, role) for endpoint in sorted(ROUTE_ROLES) for role in ROLES]


@pytest.mark.parametrize("endpoint,role", CASES, ids=[f"{e}-{r}" for e, r in CASES])
def test_role_gets_what_is_declared(app, login_as, endpoint, role):
    entry = ROUTE_ROLES[endpoint]
    client = app.test_client() if role == "anonymous" else login_as(role)
    method = entry.get("method", "get")
    kwargs = {"json": {}} if method != "get" and entry["url"].startswith("/api/") else {}
    resp = getattr(client, method)(entry["url"], **kwargs)
    is_api = entry["url"].startswith("/api/")
    if entry["roles"] == PUBLIC:
        assert resp.status_code < 500 and resp.status_code not in (401, 403), resp.status_code
    elif role == "anonymous":
        if is_api:
            assert resp.status_code == 401
            assert resp.get_json()["error"]["code"] == "unauthenticated"
        else:
            assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    elif role in entry["roles"]:
        assert resp.status_code < 500 and resp.status_code not in (401, 403), (resp.status_code, resp.data[:300])
    else:
        assert resp.status_code == 403
        if is_api:
            assert resp.get_json()["error"]["code"] in ("forbidden",)
