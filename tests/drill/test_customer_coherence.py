"""The simulated customer listens, for every seeded scenario, played through the API.

- A run that answers each need before it is asked makes the customer skip it.
- A run that never answers makes the customer repeat its question, and its mood falls.
- Asking for identity gets exactly the details asked (the caller's claimed ones, if any).
- The same scenario started twice draws different customers, reproducible from the drill id.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sandbox.bank.identities import drill_rng, fresh_record
from sandbox.bank.masking import id_number_valid, luhn_valid
from sandbox.dialogue.text import normalise
from sandbox.drill import drill_contacts
from sandbox.drill.facts import customer_record, fill
from sandbox.drill.lifecycle import numbers_taken
from sandbox.drill.models import ConversationMessage, DrillContact
from sandbox.drill.scenario.files import load_file, scenario_files, seeded_scenarios_dir

SEEDED = scenario_files(seeded_scenarios_dir())
SPECS = {p.stem: load_file(p) for p in SEEDED}


def _first_with_needs(spec):
    return next((c for c in spec.contacts if c.needs), None)


WITH_NEEDS = sorted(sid for sid, spec in SPECS.items() if _first_with_needs(spec) is not None)


class Drill:
    """A practice drill of one scenario, played through /api/v1 as a candidate."""

    def __init__(self, app, clock, api_token, scenario_id: str) -> None:
        self.app, self.clock, self.spec = app, clock, SPECS[scenario_id]
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {api_token('candidate1')}"}
        resp = self.client.post("/api/v1/drills", json={"scenario": scenario_id, "mode": "practice"},
                                headers=self.headers)
        assert resp.status_code == 201, resp.get_json()
        self.id = resp.get_json()["id"]

    def conversation(self, key: str) -> int:
        contact = self.spec.contact(key)
        body = self.client.get(f"/api/v1/drills/{self.id}", headers=self.headers).get_json()
        if contact.arrives_at > body.get("elapsed_seconds", 0):
            self.clock.advance(contact.arrives_at - body.get("elapsed_seconds", 0) + 1)
            body = self.client.get(f"/api/v1/drills/{self.id}", headers=self.headers).get_json()
        return next(c["id"] for c in body["conversations"] if c["contact"] == key)

    def say(self, key: str, text: str) -> list[str]:
        """Post an agent message; the customer's turns that followed it (full text, as said)."""
        cid = self.conversation(key)
        before = self._last_seq(cid)
        resp = self.client.post(f"/api/v1/conversations/{cid}/messages", json={"text": text}, headers=self.headers)
        assert resp.status_code in (200, 201), resp.get_json()
        return self.customer_turns(cid, after=before)

    def _last_seq(self, cid: int) -> int:
        with self.app.extensions["bankdrill"].transaction() as s:
            return s.scalar(select(ConversationMessage.seq).where(ConversationMessage.conversation_id == cid)
                            .order_by(ConversationMessage.seq.desc()).limit(1)) or 0

    def customer_turns(self, cid: int, after: int = 0) -> list[str]:
        with self.app.extensions["bankdrill"].transaction() as s:
            return list(s.scalars(select(ConversationMessage.text).where(
                ConversationMessage.conversation_id == cid, ConversationMessage.speaker == "customer",
                ConversationMessage.seq > after).order_by(ConversationMessage.seq)))

    def row(self, key: str) -> DrillContact:
        with self.app.extensions["bankdrill"].transaction() as s:
            row = s.scalar(select(DrillContact).where(DrillContact.drill_id == self.id,
                                                      DrillContact.contact_key == key))
            s.expunge(row)
            return row

    def facts(self, key: str) -> dict[str, str]:
        return drill_contacts.contact_facts(self.row(key), self.spec)

    def customer(self, key: str) -> dict[str, str]:
        with self.app.extensions["bankdrill"].transaction() as s:
            c = drill_contacts.contact_customer(s, self.id, key)
            return {"code": c.code, "name": c.name, "id_number": c.id_number, "phone": c.phone,
                    "template": c.template_code or ""}


def _asks(need: dict, facts: dict[str, str]) -> list[str]:
    return [normalise(fill(a, facts)) for a in need["ask"]]


@pytest.mark.validity
@pytest.mark.parametrize("scenario_id", WITH_NEEDS)
def test_needs_answered_before_they_are_asked_are_skipped(app, clock, api_token, scenario_id):
    drill = Drill(app, clock, api_token, scenario_id)
    contact = _first_with_needs(drill.spec)
    facts = drill.facts(contact.key)
    answerable = [n for n in contact.needs if n.get("answer")]
    assert answerable, "every need that is not met by an operation carries an answer"
    # One message that answers every need at once, before the customer has asked them.
    text = "".join(fill(n["answer"], facts) for n in answerable)
    after = drill.say(contact.key, text)
    state = drill.row(contact.key).agenda or {}
    met = set(state.get("met", []))
    missing = [n["id"] for n in answerable if n["id"] not in met]
    assert not missing, f"answers that did not meet their need: {missing}; customer said {after}"
    for need in answerable:
        for turn in after:
            assert not any(ask in normalise(turn) for ask in _asks(need, facts)), (need["id"], turn)
    # And later on the customer never comes back to them.
    later = drill.say(contact.key, "好的。")
    for need in answerable:
        for turn in later:
            assert not any(ask in normalise(turn) for ask in _asks(need, facts)), (need["id"], turn)


@pytest.mark.validity
@pytest.mark.parametrize("scenario_id", WITH_NEEDS)
def test_an_ignored_question_is_repeated_and_the_mood_falls(app, clock, api_token, scenario_id):
    drill = Drill(app, clock, api_token, scenario_id)
    contact = _first_with_needs(drill.spec)
    facts = drill.facts(contact.key)
    first = contact.needs[0]
    mood_before = drill.row(contact.key).mood
    said: list[str] = []
    for filler in ("嗯。", "这个嘛。", "是这样的。"):
        said += drill.say(contact.key, filler)
    repeats = [t for t in said if any(ask in normalise(t) for ask in _asks(first, facts))]
    assert len(repeats) >= 2, said
    assert drill.row(contact.key).mood < mood_before
    assert first["id"] in (drill.row(contact.key).agenda or {}).get("pending", [])


@pytest.mark.validity
@pytest.mark.parametrize("scenario_id", WITH_NEEDS)
def test_long_silence_gets_a_nudge_then_the_customer_leaves(app, clock, api_token, scenario_id):
    drill = Drill(app, clock, api_token, scenario_id)
    contact = _first_with_needs(drill.spec)
    facts = drill.facts(contact.key)
    cid = drill.conversation(contact.key)
    mood_before = drill.row(contact.key).mood
    seen = len(drill.customer_turns(cid))
    clock.advance(contact.patience + 1)
    drill.client.get(f"/api/v1/drills/{drill.id}", headers=drill.headers)
    nudge = drill.customer_turns(cid)[seen:]
    assert any(ask in normalise(turn) for turn in nudge for ask in _asks(contact.needs[0], facts)), nudge
    assert drill.row(contact.key).mood < mood_before
    for _ in range(3):
        clock.advance(contact.patience + 1)
        drill.client.get(f"/api/v1/drills/{drill.id}", headers=drill.headers)
    assert drill.row(contact.key).closed, drill.customer_turns(cid)[seen:]


@pytest.mark.validity
@pytest.mark.parametrize("scenario_id", WITH_NEEDS)
def test_identity_details_only_those_asked(app, clock, api_token, scenario_id):
    drill = Drill(app, clock, api_token, scenario_id)
    contact = _first_with_needs(drill.spec)
    facts = drill.facts(contact.key)
    claimed = {k: fill(contact.claims.get(k, "{" + k + "}"), facts) for k in ("name", "id_last6", "phone_last4")}
    said = " ".join(drill.say(contact.key, "为了核实您的身份，请告诉我您预留手机号的后四位。"))
    assert claimed["phone_last4"] in said, said
    assert claimed["id_last6"] not in said and claimed["name"] not in said, said
    said = " ".join(drill.say(contact.key, "好的，再请您提供一下姓名和身份证号码后六位。"))
    assert claimed["name"] in said and claimed["id_last6"] in said, said
    assert claimed["phone_last4"] not in said, said


def test_a_code_is_not_an_identity_question(app, clock, api_token):
    drill = Drill(app, clock, api_token, "cc-bill-enquiry")
    facts = drill.facts("main")
    said = " ".join(drill.say("main", "稍后系统会给您发一条验证码短信，验证码请不要告诉任何人。"))
    assert facts["id_last6"] not in said and facts["name"] not in said


@pytest.mark.parametrize("scenario_id", sorted(SPECS))
def test_each_drill_draws_a_customer_of_its_own(app, clock, api_token, scenario_id):
    one, two = Drill(app, clock, api_token, scenario_id), Drill(app, clock, api_token, scenario_id)
    key = SPECS[scenario_id].contacts[0].key
    a, b = one.customer(key), two.customer(key)
    assert a["name"] != b["name"] and a["id_number"][-6:] != b["id_number"][-6:] and a["phone"] != b["phone"]
    for c in (a, b):
        seed = customer_record(c["template"])
        assert c["name"] != seed["name"] and c["id_number"] != seed["id_number"] and c["phone"] != seed["phone"]
        assert id_number_valid(c["id_number"])
        # Same age group: born in the same year as the template customer.
        assert c["id_number"][6:10] == seed["id_number"][6:10]
    # What the customer's facts say is the drill's own customer.
    facts = one.facts(key)
    assert facts["name"] == a["name"] and facts["phone_last4"] == a["phone"][-4:]


def test_the_draw_is_reproducible_from_the_drill_id():
    template = customer_record("C001")
    first = fresh_record(template, "D7-1", drill_rng(7, "main"))
    again = fresh_record(template, "D7-1", drill_rng(7, "main"))
    other = fresh_record(template, "D8-1", drill_rng(8, "main"))
    assert first == again and first["name"] != other["name"]
    # Balances, bills and transactions stay; numbers are new and valid.
    assert first["credit_cards"][0]["bill"] == template["credit_cards"][0]["bill"]
    assert first["accounts"][0]["balance"] == template["accounts"][0]["balance"]
    assert len(first["accounts"][0]["transactions"]) == len(template["accounts"][0]["transactions"])
    assert first["credit_cards"][0]["number"] != template["credit_cards"][0]["number"]
    assert luhn_valid(first["credit_cards"][0]["number"]) and luhn_valid(first["accounts"][0]["number"])
    assert first["credit_cards"][0]["number"][:6] == template["credit_cards"][0]["number"][:6]
    # The examiner's note speaks of the new customer.
    assert template["name"] not in first["examiner_note"] and first["name"] in first["examiner_note"]


def test_numbers_already_taken_are_drawn_again_and_only_they_are_asked_again():
    template = customer_record("C001")
    plain = fresh_record(template, "D7-1", drill_rng(7, "main"))
    asked: list[list[tuple[str, str]]] = []
    card = plain["credit_cards"][0]["number"]

    def taken(drawn):
        asked.append(list(drawn))
        # The first draw's ID number and card are someone else's; nothing drawn later is.
        return {d for d in drawn if d in {("id_number", plain["id_number"]), ("card", card)}} if len(asked) == 1 else set()

    again = fresh_record(template, "D7-1", drill_rng(7, "main"), taken)
    assert len(asked) == 2  # the whole record at once, then once more after the clash
    assert ("id_number", plain["id_number"]) in asked[0] and ("card", card) in asked[0]
    assert again["id_number"] != plain["id_number"] and id_number_valid(again["id_number"])
    assert again["id_number"][6:10] == plain["id_number"][6:10]  # still born in the template's year
    assert again["credit_cards"][0]["number"] != card and luhn_valid(again["credit_cards"][0]["number"])
    assert again["accounts"][0]["number"] == plain["accounts"][0]["number"]  # not clashing: kept
    assert again["name"] == plain["name"] and again["phone"] == plain["phone"]
    numbers = [a["number"] for a in again["accounts"]] + [c["number"] for c in again["credit_cards"]]
    assert len(set(numbers)) == len(numbers)


def test_the_bank_says_which_drawn_numbers_it_already_holds(session):
    seed = customer_record("C001")
    held = [("id_number", seed["id_number"]), ("account", seed["accounts"][0]["number"]),
            ("card", seed["credit_cards"][0]["number"])]
    fresh = fresh_record(seed, "D7-1", drill_rng(7, "main"))
    new = [("id_number", fresh["id_number"]), ("account", fresh["accounts"][0]["number"]),
           ("card", fresh["credit_cards"][0]["number"])]
    # A card number is not an account number: each kind is looked up in its own table.
    crossed = [("account", seed["credit_cards"][0]["number"])]
    assert numbers_taken(session, held + new + crossed) == set(held)
    assert numbers_taken(session, []) == set()


def test_the_seed_identity_no_longer_verifies_a_drill_caller(app, clock, api_token):
    drill = Drill(app, clock, api_token, "cc-bill-enquiry")
    seed = customer_record(drill.customer("main")["template"])
    cid = drill.conversation("main")
    body = {"method": "id_phone", "name": seed["name"], "id_last6": seed["id_number"][-6:],
            "phone_last4": seed["phone"][-4:]}
    resp = drill.client.post(f"/api/v1/conversations/{cid}/identity/verify", json=body, headers=drill.headers)
    assert resp.get_json().get("verified") is not True
    own = drill.customer("main")
    body = {"method": "id_phone", "name": own["name"], "id_last6": own["id_number"][-6:],
            "phone_last4": own["phone"][-4:]}
    resp = drill.client.post(f"/api/v1/conversations/{cid}/identity/verify", json=body, headers=drill.headers)
    assert resp.get_json().get("verified") is True


def test_drill_customers_stay_out_of_free_practice(app, clock, api_token):
    drill = Drill(app, clock, api_token, "cc-bill-enquiry")
    code = drill.customer("main")["code"]
    listed = drill.client.get("/api/v1/bank/customers", headers=drill.headers).get_json()
    codes = {c.get("id") or c.get("code") for c in listed.get("customers", [])}
    assert code not in codes and "C001" in codes
    resp = drill.client.post("/api/v1/conversations", json={"customer": code}, headers=drill.headers)
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_customer"


def test_a_voice_customers_identity_details_can_be_misheard(app, clock, api_token):
    from sandbox.drill.scenario.store import save_scenario

    text = (seeded_scenarios_dir() / "cc-bill-enquiry.yaml").read_text(encoding="utf-8")
    text = text.replace("id: cc-bill-enquiry", "id: cc-bill-voice", 1).replace("    channel: 文字", (
        "    channel: 语音\n"
        "    identity_asr: {name: \"{name_misheard}\", id_last6: \"{id_last6_dropped}\", confidence: 0.55}"), 1)
    runtime = app.extensions["bankdrill"]
    with runtime.transaction() as s:
        save_scenario(s, clock, text, file="cc-bill-voice.yaml")
    SPECS["cc-bill-voice"] = load_file_text(text)
    try:
        drill = Drill(app, clock, api_token, "cc-bill-voice")
    finally:
        del SPECS["cc-bill-voice"]
    facts = drill.facts("main")
    cid = drill.conversation("main")
    drill.say("main", "您好，请提供一下您的姓名和身份证号码后六位。")
    heard = drill.client.post(f"/api/v1/conversations/{cid}/recognize", headers=drill.headers).get_json()
    texts = " ".join(m.get("text") or "" for m in heard["messages"]) if isinstance(heard, dict) and "messages" in heard \
        else str(heard)
    assert facts["name_misheard"] in texts and facts["id_last6_dropped"] in texts, texts
    with runtime.transaction() as s:
        said = s.scalars(select(ConversationMessage).where(ConversationMessage.conversation_id == cid,
                                                           ConversationMessage.speaker == "customer")).all()
        spoken = [m for m in said if facts["id_last6"] in m.text]
        # The customer said the real details; only the recogniser got them wrong.
        assert spoken and spoken[-1].asr_confidence == 0.55 and facts["name"] in spoken[-1].text


def load_file_text(text: str):
    from sandbox.drill.scenario.parse import parse_scenario

    return parse_scenario(text, "cc-bill-voice.yaml")


def test_every_seeded_scenario_has_an_agenda_customer():
    """Format v2 everywhere: every contact of every shipped scenario lists its needs, so the
    coherence tests above cover every scenario (none is left to keyword rules)."""
    assert len(SPECS) >= 28
    without = [f"{sid}:{c.key}" for sid, spec in SPECS.items() for c in spec.contacts if not c.needs]
    assert without == []
    assert sorted(WITH_NEEDS) == sorted(SPECS)
