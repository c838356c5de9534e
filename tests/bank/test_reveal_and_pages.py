"""Examiner reveal (audited), the practice pages, the phone page, CSRF on the API, no Flask in the domain."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select

from sandbox.bank.models import AuditEntry, CreditCard, Customer
from tests.conftest import strip_tags


def _c1(session):
    return session.scalar(select(Customer).where(Customer.code == "C001"))


@pytest.mark.db
def test_examiner_reveal_returns_clear_value_and_is_audited(api, session):
    c = _c1(session)
    card = session.scalar(select(CreditCard).where(CreditCard.customer_id == c.id).order_by(CreditCard.id))
    account = c.accounts[0]
    client = api("examiner")
    for body, value in (({"field": "id_number"}, c.id_number), ({"field": "phone"}, c.phone),
                        ({"field": "card", "ref": "K1"}, card.number),
                        ({"field": "account", "ref": "a1"}, account.number)):
        resp = client.post("/api/v1/bank/customers/C001/reveal", json=body)
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json()["value"] == value
    session.rollback()
    rows = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "reveal").order_by(AuditEntry.id)))
    assert [(r.allowed, r.target_ref, r.customer_id) for r in rows] == [
        (True, "id_number", c.id), (True, "phone", c.id), (True, "K1", c.id), (True, "A1", c.id)]
    assert all(value not in r.target_ref for r in rows for value in (c.id_number, c.phone, card.number))


@pytest.mark.parametrize("customer,body,status,code", [
    ("C999", {"field": "phone"}, 404, "unknown_customer"),
    ("C001", {"field": "password"}, 400, "invalid_field"),
    ("C001", {}, 400, "invalid_field"),
    ("C001", {"field": "card", "ref": "K9"}, 404, "unknown_ref"),
    ("C001", {"field": "card"}, 404, "unknown_ref"),
])
def test_reveal_bad_input(api, customer, body, status, code):
    resp = api("admin").post(f"/api/v1/bank/customers/{customer}/reveal", json=body)
    assert resp.status_code == status and resp.get_json()["error"]["code"] == code


@pytest.mark.parametrize("role", ["candidate", "trainer"])
def test_reveal_is_examiner_only(api, session, role):
    resp = api(role).post("/api/v1/bank/customers/C001/reveal", json={"field": "id_number"})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert _c1(session).id_number not in resp.get_data(as_text=True)


def test_reveal_domain_refuses_and_audits_other_roles(runtime):
    from sandbox.bank.lookups import reveal
    from sandbox.errors import Forbidden
    from sandbox.users.services import get_user

    with runtime.session_factory() as s:
        with pytest.raises(Forbidden):
            reveal(s, runtime.clock, get_user(s, "candidate1"), "C001", "phone")
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "reveal")).allowed is False


def test_examiner_page_is_masked_with_reveal_buttons(login_as, session):
    c = _c1(session)
    html = login_as("examiner").get("/bank/customers").get_data(as_text=True)
    assert "C001" in html and 'data-action="reveal"' in html
    assert c.id_number not in html and c.phone not in html
    assert c.id_number[:4] + "**********" + c.id_number[-4:] in html
    assert login_as("candidate").get("/bank/customers").status_code == 403


def test_practice_flow_pages(login_as, session):
    client = login_as("candidate")
    page = client.get("/practice")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "练习会话" in html and 'data-customer="C001"' in html and "js/bank.js" in html
    assert "fraud_target" not in html  # magic labels stay with staff
    resp = client.post("/api/v1/conversations", json={"customer_id": "C001"})
    cid = resp.get_json()["id"]
    panel = client.get(f"/practice/{cid}").get_data(as_text=True)
    assert f'data-conversation-id="{cid}"' in panel and "身份核验" in panel and "css/bank.css" in panel
    assert "<script>" not in panel and "style=" not in panel
    listed = client.get("/practice").get_data(as_text=True)
    assert f"/practice/{cid}" in listed
    client.post(f"/api/v1/conversations/{cid}/identity/sms", json={})
    phone = client.get(f"/practice/{cid}/phone")
    assert phone.status_code == 200 and "验证码" in strip_tags(phone.get_data(as_text=True))
    # another candidate gets neither page
    other = login_as("candidate2")
    assert other.get(f"/practice/{cid}").status_code == 403
    assert other.get(f"/practice/{cid}/phone").status_code == 403
    assert other.get("/practice/999999").status_code == 404
    # an examiner may open the customer's phone
    assert login_as("examiner").get(f"/practice/{cid}/phone").status_code == 200
    assert "练习会话" in client.get("/").get_data(as_text=True)


@pytest.fixture
def csrf_app(tmp_path, template_instance, pg, clock):
    from tests.conftest import _make_app

    app, dbname = _make_app(tmp_path, template_instance, pg, clock)
    yield app
    app.extensions["bankdrill"].dispose()
    if pg is not None and dbname:
        pg.drop(dbname)


def test_cookie_session_api_posts_need_the_csrf_token(csrf_app):
    import re

    client = csrf_app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', login).group(1)
    password = csrf_app.config["TEST_PASSWORDS"]["candidate1"]
    assert client.post("/login", data={"username": "candidate1", "password": password,
                                       "csrf_token": token}).status_code == 302
    page = client.get("/practice").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    refused = client.post("/api/v1/conversations", json={"customer_id": "C001"})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf_failed"
    ok = client.post("/api/v1/conversations", json={"customer_id": "C001"}, headers={"X-CSRFToken": token})
    assert ok.status_code == 201
    anonymous = csrf_app.test_client().post("/api/v1/conversations", json={"customer_id": "C001"})
    assert anonymous.status_code == 401


def test_bank_domain_imports_without_flask():
    code = ("import sys; import sandbox.bank.lookups, sandbox.bank.identity, sandbox.bank.seed, "
            "sandbox.bank.conversations, sandbox.bank.audit; "
            "assert 'flask' not in sys.modules, 'flask imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
