"""What one post reads many times is worked out once and shared: a message's clauses, a
clause's values, a scenario's needs. Shared means immutable: no reader can change what the
next one gets."""

from __future__ import annotations

import dataclasses

import pytest

from sandbox.dialogue.claims import _values, claims_in, read_fact
from sandbox.dialogue.text import split_clauses
from sandbox.drill.agenda import Need, needs_from_spec


def test_a_message_is_split_once_and_its_clauses_cannot_be_changed():
    text = "您本期账单金额是3,280.50元，最后还款日是12月20日，最低还款额328元。"
    first, again = split_clauses(text), split_clauses(text)
    assert first is again
    assert isinstance(first, tuple) and [c.text for c in first][0].startswith("您本期账单金额")
    with pytest.raises(dataclasses.FrozenInstanceError):
        first[0].text = "别的"  # type: ignore[misc]
    assert split_clauses(None) == split_clauses("") == ()


def test_every_slot_reads_the_same_values_of_a_clause():
    text = "您本期账单金额是3,280.50元，最后还款日是12月20日。"
    clause = split_clauses(text)[0].text
    assert _values(clause) is _values(clause) and isinstance(_values(clause), tuple)
    # The cache changes nothing that is read from it: each slot still finds its own value.
    assert [c.value for c in claims_in(text, ["bill_amount"])] and read_fact(text, "bill_amount", "3280.50").stated
    assert read_fact(text, "due_date", "12月20日").stated
    assert not read_fact(text, "due_date", "12月21日").stated


def test_a_scenarios_needs_are_built_once_and_a_changed_list_is_built_anew():
    raw = ({"id": "amount", "ask": "这期要还多少？", "met_by": {"fact": "bill_amount"}},
           {"id": "free", "ask": "有年费吗？", "met_by": {"claim": {"id": "fee", "text": "免年费",
                                                                  "groups": [["年费"], ["免"]]}}})
    needs = needs_from_spec(raw)
    assert needs_from_spec(raw) is needs
    assert [n.id for n in needs] == ["amount", "free"] and needs[1].claims[0].id == "fee"
    changed = (raw[0], {**raw[1], "id": "fee-waived"})
    assert [n.id for n in needs_from_spec(changed)] == ["amount", "fee-waived"]
    assert needs_from_spec([dict(r) for r in raw]) == needs  # a list (not kept) gives the same needs


def test_a_need_built_by_hand_reads_its_claims():
    need = Need("fee", ("有年费吗？",), {"claim": [{"id": "fee", "text": "免年费", "groups": [["年费"], ["免"]]}]})
    assert [p.id for p in need.claims] == ["fee"]
