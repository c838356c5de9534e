"""Helpers for the mock bank tests: open a practice conversation, verify, read the phone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sandbox.bank.models import Customer


@pytest.fixture
def customer_facts(runtime):
    """``customer_facts("C001")`` → the clear seed facts needed to pass the identity check."""

    def _facts(code: str) -> dict:
        with runtime.session_factory() as s:
            c = s.scalar(select(Customer).where(Customer.code == code))
            return {"name": c.name, "id_last6": c.id_number[-6:], "phone_last4": c.phone[-4:],
                    "id_number": c.id_number, "phone": c.phone}

    return _facts


@pytest.fixture
def bank(api, customer_facts):
    """A small driver over the bank API for one role."""

    class Driver:
        def __init__(self, role: str) -> None:
            self.client = api(role)

        def open(self, code: str = "C001", channel: str = "文字") -> int:
            resp = self.client.post("/api/v1/conversations", json={"customer_id": code, "channel": channel})
            assert resp.status_code == 201, resp.get_json()
            return resp.get_json()["id"]

        def verify(self, cid: int, code: str = "C001", **override) -> dict:
            facts = customer_facts(code)
            body = {"method": "id_phone", "name": facts["name"], "id_last6": facts["id_last6"],
                    "phone_last4": facts["phone_last4"]}
            body.update(override)
            resp = self.client.post(f"/api/v1/conversations/{cid}/identity/verify", json=body)
            return resp

        def open_verified(self, code: str = "C001") -> int:
            cid = self.open(code)
            resp = self.verify(cid, code)
            assert resp.status_code == 200 and resp.get_json()["verified"] is True, resp.get_json()
            return cid

        def get(self, url: str, **kw):
            return self.client.get(url, **kw)

        def post(self, url: str, **kw):
            kw.setdefault("json", {})
            return self.client.post(url, **kw)

    return Driver
