"""A browser session uploads a recording only with the page's CSRF token (as the console's calls)."""

from __future__ import annotations

import re

import pytest

from tests.interview.helpers import upload_form


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def test_cookie_session_upload_needs_the_csrf_header(app):
    client = app.test_client()
    form_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                           client.get("/login").get_data(as_text=True)).group(1)
    password = app.config["TEST_PASSWORDS"]["candidate1"]
    client.post("/login", data={"username": "candidate1", "password": password, "csrf_token": form_token})
    page = client.get("/practice/interview/self-intro").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    resp = client.post("/api/v1/recordings", data=upload_form(), content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "csrf_failed"
    resp = client.post("/api/v1/recordings", data=upload_form(), content_type="multipart/form-data",
                       headers={"X-CSRFToken": token})
    assert resp.status_code == 201
    resp = client.post("/api/v1/interview/questions/self-intro/attempts", json={"answer": "我有耐心。"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "csrf_failed"
