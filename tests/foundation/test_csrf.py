"""CSRF is enforced on forms and on cookie-authenticated API writes."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_login_form_requires_the_token(app):
    client = app.test_client()
    password = app.config["TEST_PASSWORDS"]["candidate1"]
    resp = client.post("/login", data={"username": "candidate1", "password": password})
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)
    token = _token(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"username": "candidate1", "password": password, "csrf_token": token})
    assert resp.status_code == 302


def test_logout_without_token_is_refused(app):
    client = app.test_client()
    token = _token(client.get("/login").get_data(as_text=True))
    password = app.config["TEST_PASSWORDS"]["admin"]
    client.post("/login", data={"username": "admin", "password": password, "csrf_token": token})
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still logged in


def test_cookie_session_api_write_needs_header_but_bearer_does_not(app, api_token):
    client = app.test_client()
    token = _token(client.get("/login").get_data(as_text=True))
    password = app.config["TEST_PASSWORDS"]["admin"]
    client.post("/login", data={"username": "admin", "password": password, "csrf_token": token})
    # Logging in starts a new session, so the page's token is read afresh (as the JS does).
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    body = {"old_password": password, "new_password": "newpass123"}
    resp = client.post("/api/v1/me/password", json=body)
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "csrf_failed"
    resp = client.post("/api/v1/me/password", json=body, headers={"X-CSRFToken": token})
    assert resp.status_code == 200
    bearer = app.test_client()
    body = {"old_password": "newpass123", "new_password": "newpass456"}
    resp = bearer.post("/api/v1/me/password", json=body, headers={"Authorization": f"Bearer {api_token('admin')}"})
    assert resp.status_code == 200
