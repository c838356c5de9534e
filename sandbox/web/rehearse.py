"""Rehearsal: play a scenario's reference run through the real API, in process.

Used by ``bankdrill scenarios rehearse`` (on a throwaway copy of the instance, with a
clock the rehearsal moves) and by the tests. A scenario whose model answer does not
score well is not winnable, and the trainer sees why.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from sandbox.clock import FixedClock
from sandbox.drill import drill_contacts
from sandbox.drill.facts import customer_facts, fill
from sandbox.drill.scenario.model import ScenarioSpec


class RehearsalFailed(Exception):
    """A step of the reference run was refused by the API."""


@dataclass
class Rehearsal:
    scenario: str
    report: dict[str, Any] | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    drill_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"scenario": self.scenario, "steps": len(self.steps), "error": self.error}
        if self.report:
            body.update(total=self.report["total"], hard_fail=self.report["hard_fail"],
                        failed_checks=[c["id"] for c in self.report["checks"] if not c["passed"]],
                        dimensions={k: v["score"] for k, v in self.report["dimensions"].items()})
        else:
            body.update(total=None, hard_fail=None, failed_checks=[], dimensions={})
        return body


class _Player:
    def __init__(self, app: Flask, clock: FixedClock, token: str, staff_token: str, spec: ScenarioSpec,
                 extra_facts: Callable[[dict[str, Any]], dict[str, str]] | None = None) -> None:
        self.app = app
        self.client = app.test_client()
        self.clock = clock
        self.headers = {"Authorization": f"Bearer {token}"}
        self.staff_headers = {"Authorization": f"Bearer {staff_token}"}
        self.spec = spec
        self.drill: dict[str, Any] = {}
        self.conversations: dict[str, int] = {}
        self.extra_facts = extra_facts

    def call(self, method: str, url: str, staff: bool = False, **kwargs: Any) -> Any:
        resp = getattr(self.client, method)(url, headers=self.staff_headers if staff else self.headers, **kwargs)
        data = resp.get_json(silent=True)
        if resp.status_code >= 400:
            message = (data or {}).get("error", {}).get("message") if isinstance(data, dict) else resp.status
            raise RehearsalFailed(f"{method.upper()} {url} → {resp.status_code} {message}")
        return data

    def refresh(self) -> None:
        self.drill = self.call("get", f"/api/v1/drills/{self.drill['id']}")
        for conv in self.drill["conversations"]:
            self.conversations[conv["contact"]] = conv["id"]

    def conversation(self, contact_key: str) -> int:
        if contact_key not in self.conversations:
            contact = self.spec.contact(contact_key)
            self.refresh()  # the drill's clock may have moved since (``wait:`` steps)
            elapsed = self.drill.get("elapsed_seconds", 0)
            if contact.arrives_at > elapsed:
                self.clock.advance(contact.arrives_at - elapsed + 1)
            self.refresh()
        return self.conversations[contact_key]

    def customer(self, contact_key: str) -> dict[str, Any]:
        """The drill contact's own customer (fresh identity), in the seed file's shape."""
        runtime = self.app.extensions["bankdrill"]
        with runtime.transaction() as s:
            c = drill_contacts.contact_customer(s, self.drill["id"], contact_key)
            return {"id": c.code, "name": c.name, "gender": c.gender, "id_number": c.id_number, "phone": c.phone,
                    "credit_cards": [{"number": k.number} for k in c.cards],
                    "accounts": [{"number": a.number} for a in c.accounts]}

    def facts(self, contact_key: str) -> dict[str, str]:
        runtime = self.app.extensions["bankdrill"]
        with runtime.transaction() as s:
            drill = drill_contacts.get_drill(s, self.drill["id"])
            facts = drill_contacts.drill_contact_facts(s, drill).get(contact_key) \
                or customer_facts(self.spec.contact(contact_key).customer, self.spec.facts)
        if self.extra_facts is not None:
            facts = {**self.extra_facts(self.customer(contact_key)), **facts}
        return facts

    def step(self, step: dict[str, Any]) -> Any:
        if step.get("wait"):
            self.clock.advance(step["wait"])
        op = step["op"]
        if op == "finish":
            return self.call("post", f"/api/v1/drills/{self.drill['id']}/finish")
        key = step.get("contact") or self.spec.contacts[0].key
        cid = self.conversation(key)
        base = f"/api/v1/conversations/{cid}"
        facts = self.facts(key)
        if op == "say":
            return self.call("post", f"{base}/messages", json={"text": fill(step["text"], facts)})
        if op == "recognize":
            return self.call("post", f"{base}/recognize")
        if op == "kb.search":
            return self.call("get", "/api/v1/kb/search", query_string={"q": step["query"], "conversation": cid})
        if op == "kb.open":
            return self.call("get", f"/api/v1/kb/articles/{step['article']}", query_string={"conversation": cid})
        if op == "suggestion.use":
            return self.call("post", f"{base}/suggestions/use", json={"article": step["article"]})
        if op == "identity.sms":
            return self.call("post", f"{base}/identity/sms")
        if op == "identity.verify":
            if step["method"] == "sms":
                phone = self.call("get", f"{base}/phone", staff=True)
                code = next(m.group(1) for m in (re.search(r"验证码\s*(\d{6})", x["body"])
                                                 for x in reversed(phone["messages"])) if m)
                return self.call("post", f"{base}/identity/verify", json={"method": "sms", "code": code})
            record = self.customer(key)
            body = {"method": "id_phone", "name": fill(str(step.get("name", record["name"])), facts),
                    "id_last6": fill(str(step.get("id_last6", record["id_number"][-6:])), facts),
                    "phone_last4": fill(str(step.get("phone_last4", record["phone"][-4:])), facts)}
            return self.call("post", f"{base}/identity/verify", json=body)
        if op == "lookup.customer":
            return self.call("get", f"{base}/customer")
        if op == "lookup.accounts":
            return self.call("get", f"{base}/accounts")
        if op == "lookup.cards":
            return self.call("get", f"{base}/cards")
        if op == "lookup.transactions":
            ref = self.call("get", f"{base}/accounts")["accounts"][step.get("account", 0)]["ref"]
            params = {k: step[k] for k in ("from", "to") if k in step}
            return self.call("get", f"{base}/accounts/{ref}/transactions", query_string=params)
        if op == "lookup.bill":
            ref = self.call("get", f"{base}/cards")["cards"][step.get("card", 0)]["ref"]
            return self.call("get", f"{base}/cards/{ref}/bill")
        if op == "lookup.workorders":
            return self.call("get", f"{base}/workorders")
        if op in ("workorder.note", "workorder.transition"):
            # An order of the customer's work-order history (工单记录), by its place in that list.
            number = self.call("get", f"{base}/workorders")["items"][step.get("index", 0)]["number"]
            if op == "workorder.note":
                return self.call("post", f"/api/v1/workorders/{number}/notes", json={
                    "text": fill(step["text"], facts), "visibility": step.get("visibility", "customer"),
                    "conversation_id": cid})
            body = {k: fill(str(step[k]), facts) for k in ("to", "note", "resolution_note", "satisfaction",
                                                           "contact_result", "visibility") if k in step}
            return self.call("post", f"/api/v1/workorders/{number}/transitions", json={**body, "conversation_id": cid})
        if op == "freeze":
            kind = "cards" if step["target"] == "card" else "accounts"
            ref = self.call("get", f"{base}/{kind}")[kind][step.get("index", 0)]["ref"]
            return self.call("post", f"{base}/{kind}/{ref}/freeze")
        if op == "workorder.create":
            body = {k: fill(str(step[k]), facts) for k in ("type", "category", "priority", "queue", "title",
                                                           "description") if k in step}
            body.setdefault("title", f"{self.spec.title}")
            body.setdefault("description", self.spec.title)
            body["conversation_id"] = cid
            return self.call("post", "/api/v1/workorders", json=body)
        if op == "handoff":
            summary = {k: fill(str(v), facts) for k, v in (step.get("summary") or {}).items()}
            return self.call("post", f"{base}/handoff", json={"queue": step["queue"], "summary": summary})
        raise RehearsalFailed(f"未知步骤 {op}")


def rehearse(app: Flask, clock: FixedClock, spec: ScenarioSpec, token: str, staff_token: str) -> Rehearsal:
    """Start a practice drill of ``spec`` with ``token``'s user and play its reference run."""
    return play(app, clock, spec, token, staff_token, spec.reference_run)


def play(app: Flask, clock: FixedClock, spec: ScenarioSpec, token: str, staff_token: str,
         steps: Iterable[dict[str, Any]],
         extra_facts: Callable[[dict[str, Any]], dict[str, str]] | None = None) -> Rehearsal:
    """Start a practice drill of ``spec`` and play ``steps`` (in the reference-run format).

    ``extra_facts(customer)`` (the contact's own customer record) adds placeholders to its facts
    (which win on a clash). The first refused step stops the run and is the result's error.
    """
    player = _Player(app, clock, token, staff_token, spec, extra_facts)
    result = Rehearsal(spec.id)
    try:
        player.drill = player.call("post", "/api/v1/drills", json={"scenario": spec.id, "mode": "practice"})
        result.drill_id = player.drill["id"]
        player.refresh()
        for step in steps:
            player.step(step)
            result.steps.append(step)
        result.report = player.call("get", f"/api/v1/drills/{player.drill['id']}/report")
    except RehearsalFailed as exc:
        result.error = str(exc)
    return result


AppFactory = Callable[[dict[str, Any]], Flask]


@contextmanager
def throwaway_instance(factory: AppFactory, prefix: str = "bankdrill-rehearse-") -> Iterator[Flask]:
    """A seeded instance in a temporary folder with a ``FixedClock``, removed afterwards
    (rehearsals, the validity table and the benchmarks play on it; the real one is not touched).

    ``factory`` is the application factory (``sandbox.app.create_app``; inside a request or a
    command, ``app_factory(current_app)``): taking it as an argument keeps this module from
    importing the app, which imports the web layer."""
    from sandbox.instance import initialise

    home = Path(tempfile.mkdtemp(prefix=prefix))
    app = factory({"HOME": str(home), "DATABASE_URL": f"sqlite:///{home / 'sandbox.sqlite3'}",
                   "CLOCK": FixedClock(), "DEMO_MODE": True, "TESTING": True})
    runtime = app.extensions["bankdrill"]
    try:
        initialise(runtime, seed=True)
        yield app
    finally:
        runtime.dispose()
        shutil.rmtree(home, ignore_errors=True)


def app_factory(app: Flask) -> AppFactory:
    """The factory that built ``app`` (stored by ``create_app``)."""
    return app.extensions["bankdrill.factory"]


def rehearse_in_sandbox(factory: AppFactory, scenario_texts: dict[str, str]) -> list[Rehearsal]:
    """Rehearse scenarios on a throwaway seeded instance (the real one is not touched)."""
    from sandbox.drill.scenario.store import save_scenario, spec_from_text
    from sandbox.users.services import get_user, issue_token

    with throwaway_instance(factory) as app:
        runtime = app.extensions["bankdrill"]
        clock = runtime.clock
        with runtime.transaction() as s:
            for sid, text in scenario_texts.items():
                save_scenario(s, clock, text, file=f"{sid}.yaml")
            token = issue_token(s, clock, get_user(s, "candidate1"))
            staff = issue_token(s, clock, get_user(s, "examiner"))
        return [rehearse(app, clock, spec_from_text(text), token, staff) for text in scenario_texts.values()]
