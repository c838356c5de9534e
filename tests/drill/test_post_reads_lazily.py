"""A post reads the conversation's earlier messages only when its text needs them: a term that
may have been explained before, or that the customer used first. Most messages need nothing."""

from __future__ import annotations

from sqlalchemy import event


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
