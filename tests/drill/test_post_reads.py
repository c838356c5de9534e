"""What a post reads: its conversation and drill in one query, and the conversation's earlier
messages only when its text needs them (a term that may have been explained before, or that the
customer used first). Most messages need nothing more."""

from __future__ import annotations

from sqlalchemy import event, select

from sandbox.drill.event_log import append_message
from sandbox.drill.models import DrillEvent
from sandbox.scoring import compliance


def _post_watching_reads(app, cand, conv: int, text: str) -> tuple[dict, list[str]]:
    engine = app.extensions["bankdrill"].engine
    seen: list[str] = []
    listener = lambda conn, cursor, stmt, *a: seen.append(" ".join(stmt.split()))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        resp = cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": text})
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json(), [s for s in seen if s.startswith("SELECT") and "FROM conversation_messages" in s]


def _start(cand) -> int:
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry", "mode": "practice"}).get_json()
    assert drill["mode"] == "practice"
    return drill["conversations"][0]["id"]


def test_a_message_without_a_term_does_not_read_the_conversation(api, app):
    cand = api("candidate")
    conv = _start(cand)
    body, reads = _post_watching_reads(app, cand, conv, "您好，我帮您查一下，请稍等。")
    assert reads == [] and body["replies"]


def test_a_term_explained_earlier_is_found_by_reading_the_conversation(api, app):
    cand = api("candidate")
    conv = _start(cand)
    body, _ = _post_watching_reads(app, cand, conv, "您好，可以考虑账单分期，就是把这期账单分成几个月还。")
    assert not [h for h in body["hints"] if h["kind"] == "jargon"]
    body, reads = _post_watching_reads(app, cand, conv, "那我帮您办理账单分期。")
    assert reads, "the explanation is in an earlier message: the post must read them"
    assert not [h for h in body["hints"] if h["kind"] == "jargon"]
    assert not any("什么意思" in r["text"] for r in body["replies"])


def test_an_unexplained_term_is_still_flagged_and_questioned(api, app):
    cand = api("candidate")
    conv = _start(cand)
    _post_watching_reads(app, cand, conv, "您好，我帮您查一下，请稍等。")
    body, reads = _post_watching_reads(app, cand, conv, "您可以办理账单分期。")
    assert reads  # it looked for an explanation before flagging the term
    assert [h["phrase"] for h in body["hints"] if h["kind"] == "jargon"] == ["账单分期"]
    assert any("账单分期" in r["text"] and "什么意思" in r["text"] for r in body["replies"])


def test_a_post_loads_its_conversation_and_drill_in_one_query(api, app):
    cand = api("candidate")
    conv = _start(cand)
    engine = app.extensions["bankdrill"].engine
    seen: list[str] = []
    listener = lambda conn, cursor, stmt, *a: seen.append(" ".join(stmt.split()))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好，请稍等。"}).status_code == 201
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    reads = [s for s in seen if s.startswith("SELECT") and ("FROM conversations" in s or "FROM drills" in s)]
    assert len(reads) == 1 and "JOIN drills" in reads[0] and "drill_contacts" in reads[0], reads


def test_who_may_post_is_unchanged_by_the_joint_load(api):
    owner, other, examiner = api("candidate"), api("candidate2"), api("examiner")
    conv = _start(owner)
    resp = other.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好"})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    resp = examiner.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好"})
    assert resp.status_code == 403  # a watcher may look, not write
    assert examiner.get(f"/api/v1/conversations/{conv}/messages").status_code == 200
    resp = owner.post("/api/v1/conversations/2147483000/messages", json={"text": "您好"})
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_conversation"


def _customer_says(runtime, conv: int, text: str) -> None:
    with runtime.transaction() as s:
        append_message(s, runtime.clock.now(), conv, "customer", text)


def test_a_term_the_customer_used_first_is_neither_hinted_logged_nor_questioned(api, runtime, session):
    cand = api("candidate")
    heard, fresh = _start(cand), _start(cand)
    _customer_says(runtime, heard, "我看账单上写着最低还款额，我能只还这个吗？")
    text = "可以的，您这期的最低还款额是五百元。"
    body = cand.post(f"/api/v1/conversations/{heard}/messages", json={"text": text}).get_json()
    assert not [h for h in body["hints"] if h["kind"] == "jargon"]
    assert not any("什么意思" in r["text"] for r in body["replies"])
    session.rollback()
    logged = session.scalars(select(DrillEvent).where(DrillEvent.conversation_id == heard,
                                                      DrillEvent.type == "message.agent")).all()
    assert [f["kind"] for f in logged[-1].data["flags"]] == []
    # The same words where the customer never said the term: hinted and questioned.
    body = cand.post(f"/api/v1/conversations/{fresh}/messages", json={"text": text}).get_json()
    assert [h["phrase"] for h in body["hints"] if h["kind"] == "jargon"] == ["最低还款额"]


def test_a_posts_findings_are_worked_out_once(api, monkeypatch):
    cand = api("candidate")
    conv = _start(cand)
    calls: list[str] = []
    real = compliance._jargon

    def counted(reading, *args, **kwargs):
        calls.append(reading.text)
        return real(reading, *args, **kwargs)

    monkeypatch.setattr(compliance, "_jargon", counted)
    body = cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您可以办理账单分期。"}).get_json()
    assert [h["phrase"] for h in body["hints"] if h["kind"] == "jargon"] == ["账单分期"]
    assert any("账单分期" in r["text"] and "什么意思" in r["text"] for r in body["replies"])  # the customer used them
    assert calls == ["您可以办理账单分期。"]
