"""The reused poll (sandbox.drill.quiet, sandbox.web.poll_memo): a candidate's repeated quiet poll
reads the token and one stamp, and every way the answer can change moves the stamp or falls at
the moment the answer was kept until: each writer is played here, and the poll right after it
must show the change."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from sandbox.app import create_app
from sandbox.drill import drill_contacts, event_log, lifecycle, quiet
from sandbox.drill.drill_faults import next_fault_change
from sandbox.drill.models import Drill, DrillContact, DrillEvent
from sandbox.drill.scenario.store import scenario_spec
from sandbox.exam.models import Round
from sandbox.web.poll_memo import MAX_AGE, PollMemo, QuietAnswer


@contextmanager
def statements_of(app):
    seen: list[str] = []
    runtime = app.extensions["bankdrill"]
    runtime.autocommit_reads  # noqa: B018  (made on first use: the poll lane reads through it)
    engines = runtime.engines()
    listener = lambda conn, cursor, stmt, *a: seen.append(stmt.split()[0].upper())  # noqa: E731
    for engine in engines:
        event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", listener)


def poll(client, conv: int, after: int = 0) -> dict:
    resp = client.get(f"/api/v1/conversations/{conv}/messages?after={after}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def memo_of(app) -> PollMemo:
    return app.extensions["bankdrill"].services["poll_memo"]


def last_seq(client, conv: int) -> int:
    return poll(client, conv)["messages"][-1]["seq"]


def kept(app, client, conv: int) -> QuietAnswer:
    """Poll twice so the answer is kept, and return what the memo holds."""
    poll(client, conv, 10_000)
    poll(client, conv, 10_000)
    answer = memo_of(app).get(conv)
    assert answer is not None
    return answer


def open_round(api, scenarios=("cc-bill-enquiry",), **extra) -> tuple[dict, object, object]:
    examiner, cand = api("examiner"), api("candidate1")
    rnd = examiner.post("/api/v1/rounds", json={"name": "轮询复用", "scenarios": list(scenarios), **extra}).get_json()
    assert examiner.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": ["candidate1"]}).status_code == 200
    assert examiner.post(f"/api/v1/rounds/{rnd['id']}/start").status_code == 200
    return rnd, examiner, cand


def start_question(cand, rnd: dict) -> tuple[dict, int]:
    drill = cand.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    return drill, drill["conversations"][0]["id"]


def event_types(runtime, drill_id: int) -> list[str]:
    with runtime.session_factory() as s:
        return list(s.scalars(select(DrillEvent.type).where(DrillEvent.drill_id == drill_id).order_by(DrillEvent.id)))


# --------------------------------------------------------------------------- the cost


NO_CHECK = {"WTF_CSRF_ENABLED": False, "QUIET_POLL_CHECK": False}


@pytest.mark.db
@pytest.mark.parametrize("app_config", [NO_CHECK])  # the check reads the state again: count without it
def test_a_repeated_quiet_poll_reads_the_token_and_one_stamp(api, app):
    cand = api("candidate")
    conv = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()["conversations"][0]["id"]
    seq = last_seq(cand, conv)
    first = poll(cand, conv, seq)
    with statements_of(app) as seen:
        again = poll(cand, conv, seq)
    assert again == first and again["messages"] == [] and again["drill"]["status"] == "running"
    assert [s for s in seen if s == "SELECT"] == ["SELECT", "SELECT"], seen  # the token, the stamp
    assert not {"INSERT", "UPDATE", "DELETE"} & set(seen), seen
    # Behind the conversation (after < its last message): the messages are read, and only they.
    with statements_of(app) as seen:
        behind = poll(cand, conv, 0)
    assert [m["seq"] for m in behind["messages"]] == list(range(1, seq + 1))
    assert [s for s in seen if s == "SELECT"] == ["SELECT"] * 3, seen


@pytest.mark.db
def test_the_reused_answer_recomputes_the_clock_and_is_not_shared_with_a_watcher(api, app, clock):
    cand, examiner = api("candidate"), api("examiner")
    conv = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()["conversations"][0]["id"]
    before = kept(app, cand, conv)
    left = poll(cand, conv, 10_000)["drill"]["remaining_seconds"]
    clock.advance(7)
    assert poll(cand, conv, 10_000)["drill"]["remaining_seconds"] == left - 7
    assert memo_of(app).get(conv) is before  # still the same kept answer
    watched = examiner.get(f"/api/v1/conversations/{conv}/messages?after=0")
    assert watched.status_code == 200 and watched.get_json()["messages"]
    assert api("candidate2").get(f"/api/v1/conversations/{conv}/messages").status_code == 403


# --------------------------------------------------------------------------- each writer


@pytest.mark.db
def test_the_candidates_post_and_the_customers_reply_show_at_once(api, app):
    cand = api("candidate")
    conv = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()["conversations"][0]["id"]
    seq = last_seq(cand, conv)
    kept(app, cand, conv)
    posted = cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好，请问有什么可以帮您？"})
    assert posted.status_code == 201
    news = poll(cand, conv, seq)["messages"]
    assert news[0]["speaker"] == "agent" and news[0]["seq"] == seq + 1
    assert [m["seq"] for m in news] == [m["seq"] for m in poll(cand, conv, 0)["messages"]][seq:]


@pytest.mark.db
def test_a_change_logged_with_an_event_and_no_message_shows_at_once(api, app, runtime, clock):
    """A customer who hangs up without a word (a rule that ends the contact with no reply): the
    contact changes and the drill's log gains an event, the conversation's messages do not."""
    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    conv = drill["conversations"][0]["id"]
    assert kept(app, cand, conv).closed is False
    with runtime.transaction() as s:
        found = drill_contacts.get_drill(s, drill["id"], for_update=True)
        row = next(c for c in found.contacts if c.conversation_id == conv)
        row.closed = True
        event_log.record_event(s, found, clock.now(), "contact.closed", row, rule="hung-up")
    assert poll(cand, conv, 10_000)["closed"] is True


@pytest.mark.db
def test_a_message_from_outside_the_drill_moves_the_stamp(api, app, runtime, clock):
    """A human agent's reply in a handoff is written to the conversation without a drill event;
    the conversation's message counter carries it."""
    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    conv = drill["conversations"][0]["id"]
    seq = last_seq(cand, conv)
    kept(app, cand, conv)
    with runtime.transaction() as s:
        event_log.append_message(s, clock.now(), conv, "human", "您好，我是人工坐席，接着为您处理。")
    news = poll(cand, conv, seq)["messages"]
    assert [(m["seq"], m["speaker"]) for m in news] == [(seq + 1, "human")]


@pytest.mark.db
def test_a_recognised_voice_turn_shows_its_text(api, app):
    cand = api("candidate")
    conv = cand.post("/api/v1/drills", json={"scenario": "voice-misrecognition"}).get_json()["conversations"][0]["id"]
    kept(app, cand, conv)
    heard = [m for m in poll(cand, conv, 0)["messages"] if m["kind"] == "audio"]
    assert heard and all(m["recognized"] is False and m["text"] is None for m in heard)
    assert cand.post(f"/api/v1/conversations/{conv}/recognize").status_code == 200
    heard = [m for m in poll(cand, conv, 0)["messages"] if m["kind"] == "audio"]
    assert all(m["recognized"] is True and m["text"] for m in heard)


@pytest.mark.db
def test_pause_resume_extension_and_the_rounds_end_show_at_once(api, app, clock):
    rnd, examiner, cand = open_round(api, time_per_scenario=300)
    _drill, conv = start_question(cand, rnd)
    kept(app, cand, conv)
    clock.advance(10)
    assert poll(cand, conv, 10_000)["drill"] == {"status": "running", "remaining_seconds": 290.0}
    assert examiner.post(f"/api/v1/rounds/{rnd['id']}/pause").status_code == 200
    assert poll(cand, conv, 10_000)["drill"] == {"status": "paused", "remaining_seconds": 290.0}
    clock.advance(50)
    assert poll(cand, conv, 10_000)["drill"] == {"status": "paused", "remaining_seconds": 290.0}
    assert examiner.post(f"/api/v1/rounds/{rnd['id']}/resume").status_code == 200
    assert poll(cand, conv, 10_000)["drill"] == {"status": "running", "remaining_seconds": 290.0}
    extended = examiner.post(f"/api/v1/rounds/{rnd['id']}/extend", json={"user": "candidate1", "seconds": 120})
    assert extended.status_code == 200, extended.get_json()
    assert poll(cand, conv, 10_000)["drill"] == {"status": "running", "remaining_seconds": 410.0}
    assert examiner.post(f"/api/v1/rounds/{rnd['id']}/end").status_code == 200
    assert poll(cand, conv, 10_000)["drill"] == {"status": "finished", "remaining_seconds": 0.0}


@pytest.mark.db
def test_a_hand_in_and_the_deadline_show_at_once(api, app, clock):
    cand = api("candidate")
    first = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    conv = first["conversations"][0]["id"]
    kept(app, cand, conv)
    cand.post(f"/api/v1/drills/{first['id']}/finish")
    assert poll(cand, conv, 10_000)["drill"]["status"] == "finished"

    second = cand.post("/api/v1/drills", json={"scenario": "dormant-account"}).get_json()
    conv = second["conversations"][0]["id"]
    answer = kept(app, cand, conv)
    assert answer.until is not None and answer.until <= clock.now() + timedelta(seconds=360)
    clock.set(answer.until - timedelta(seconds=1))
    assert poll(cand, conv, 10_000)["drill"]["status"] == "running"
    # Past the deadline with nothing written in between (the customer's patience comes first
    # here, so step from one kept moment to the next until the drill is over).
    for _ in range(20):
        answer = memo_of(app).get(conv)
        if answer is None or answer.until is None:
            break
        clock.set(answer.until)
        body = poll(cand, conv, 10_000)
        if body["drill"]["status"] == "finished":
            break
    assert poll(cand, conv, 10_000)["drill"] == {"status": "finished", "remaining_seconds": 0.0}


@pytest.mark.db
def test_an_arrival_and_a_customers_silence_come_at_their_moment(api, app, clock, runtime):
    """system-failure-queue: the second caller arrives at 40 s; a customer left unanswered
    speaks up when a silence rule comes due. The kept answer ends at each such moment."""
    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "system-failure-queue"}).get_json()
    conv = next(c for c in drill["conversations"] if c["arrived"])["id"]
    started = clock.now()
    answer = kept(app, cand, conv)
    with runtime.session_factory() as s:
        copy = drill_contacts.drill_snapshot(s, drill["id"])
        spec = scenario_spec(s, copy.scenario_id, copy.scenario_version)
        assert answer.until == quiet.quiet_until(s, copy, spec, clock.now())
    assert answer.until <= started + timedelta(seconds=40)
    seen_before = len(event_types(runtime, drill["id"]))
    clock.set(answer.until - timedelta(microseconds=1))
    poll(cand, conv, 10_000)
    assert len(event_types(runtime, drill["id"])) == seen_before  # nothing due yet: nothing written
    moments = 0
    while clock.now() < started + timedelta(seconds=41):
        answer = memo_of(app).get(conv)
        assert answer is not None and answer.until is not None
        clock.set(answer.until)
        poll(cand, conv, 10_000)
        moments += 1
        assert moments < 20
    types = event_types(runtime, drill["id"])
    assert types.count("contact.arrived") >= 2
    state = cand.get(f"/api/v1/drills/{drill['id']}").get_json()
    assert sum(c["arrived"] for c in state["conversations"]) >= 2


@pytest.mark.db
def test_the_scenarios_timed_faults_are_logged_by_the_poll_at_their_moment(api, app, clock, runtime):
    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "system-failure-queue"}).get_json()
    conv = next(c for c in drill["conversations"] if c["arrived"])["id"]
    started = clock.now()
    while clock.now() < started + timedelta(seconds=60):
        answer = kept(app, cand, conv)
        assert answer.until is not None and answer.until <= started + timedelta(seconds=60)
        clock.set(answer.until)
    poll(cand, conv, 10_000)
    assert "fault.started" in event_types(runtime, drill["id"])


@pytest.mark.db
def test_an_examiners_fault_now_later_and_restored_is_logged_at_its_moment(api, app, clock, runtime):
    rnd, examiner, cand = open_round(api)
    drill, conv = start_question(cand, rnd)
    kept(app, cand, conv)
    url = f"/api/v1/rounds/{rnd['id']}/faults"
    now_fault = examiner.post(url, json={"component": "kb"})
    assert now_fault.status_code == 201, now_fault.get_json()
    poll(cand, conv, 10_000)  # the round's faults moved: read afresh, the start logged by this poll
    assert event_types(runtime, drill["id"]).count("fault.started") == 1
    later = examiner.post(url, json={"component": "lookup", "start_in": 30, "duration": 20})
    assert later.status_code == 201, later.get_json()
    answer = kept(app, cand, conv)
    assert answer.until == clock.now() + timedelta(seconds=30)
    clock.advance(29)
    poll(cand, conv, 10_000)
    assert event_types(runtime, drill["id"]).count("fault.started") == 1
    clock.advance(1)
    poll(cand, conv, 10_000)
    assert event_types(runtime, drill["id"]).count("fault.started") == 2
    assert kept(app, cand, conv).until == clock.now() + timedelta(seconds=20)
    restored = examiner.post(f"{url}/{now_fault.get_json()['id']}/restore")
    assert restored.status_code == 200, restored.get_json()
    poll(cand, conv, 10_000)
    assert event_types(runtime, drill["id"]).count("fault.ended") == 1
    clock.advance(20)
    poll(cand, conv, 10_000)
    assert event_types(runtime, drill["id"]).count("fault.ended") == 2


@pytest.mark.db
def test_each_fault_change_counts_once_on_the_round(api, runtime):
    rnd, examiner, _cand = open_round(api)
    url = f"/api/v1/rounds/{rnd['id']}/faults"
    ids = [examiner.post(url, json={"component": c}).get_json()["id"] for c in ("kb", "bot")]
    examiner.post(f"{url}/{ids[0]}/restore")
    examiner.post(f"{url}/{ids[0]}/restore")  # already over: nothing changes
    with runtime.session_factory() as s:
        assert s.get(Round, rnd["id"]).faults_version == 3


@pytest.mark.db
def test_another_process_on_the_same_database_sees_every_write(api, app, clock):
    """Two server processes: each keeps its own memo, and each reuse reads the stamp, so a
    write through one is seen at once by the other's poll."""
    rt = app.extensions["bankdrill"]
    other = create_app({"HOME": str(rt.settings.home), "DATABASE_URL": rt.settings.database_url, "TESTING": True,
                        "CLOCK": clock, "PROPAGATE_UNEXPECTED": True, "QUIET_POLL_CHECK": True})
    try:
        cand = api("candidate")
        token = cand.headers
        conv = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()["conversations"][0]["id"]
        client = other.test_client()

        def poll_other(after: int) -> dict:
            resp = client.get(f"/api/v1/conversations/{conv}/messages?after={after}", headers=token)
            assert resp.status_code == 200
            return resp.get_json()

        seq = poll_other(0)["messages"][-1]["seq"]
        poll_other(seq)
        poll_other(seq)
        assert other.extensions["bankdrill"].services["poll_memo"].get(conv) is not None
        cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好，请问有什么可以帮您？"})
        assert poll_other(seq)["messages"][0]["speaker"] == "agent"
    finally:
        other.extensions["bankdrill"].dispose()


# --------------------------------------------------------------------------- the guard and the bound


@pytest.mark.db
def test_a_write_that_moves_no_stamp_is_caught_by_the_check_mode(api, app, runtime):
    """The suite's guard: a change to what a poll shows made without an event (here, the
    customer's mood set directly) makes the next reused answer fail its comparison."""
    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    conv = drill["conversations"][0]["id"]
    kept(app, cand, conv)
    with runtime.transaction() as s:
        s.execute(update(DrillContact).where(DrillContact.conversation_id == conv).values(mood=-5))
    with pytest.raises(AssertionError, match="reused poll answer differs"):
        poll(cand, conv, 10_000)


@pytest.mark.db
@pytest.mark.parametrize("app_config", [NO_CHECK])
def test_without_the_check_an_unforeseen_write_shows_within_the_bound(api, app, runtime, clock):
    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    conv = drill["conversations"][0]["id"]
    answer = kept(app, cand, conv)
    mood = poll(cand, conv, 10_000)["mood"]
    with runtime.transaction() as s:
        s.execute(update(DrillContact).where(DrillContact.conversation_id == conv).values(mood=-5))
    assert poll(cand, conv, 10_000)["mood"] == mood  # unforeseen: the kept answer still stands
    clock.set(answer.read_at + MAX_AGE)
    assert poll(cand, conv, 10_000)["mood"] != mood


def test_the_memo_keeps_at_most_its_bound_dropping_the_oldest():
    memo = PollMemo(max_entries=3)
    answers = {}
    for conv in range(1, 6):
        answers[conv] = object()
        memo.put(conv, answers[conv])  # type: ignore[arg-type]
    assert len(memo) == 3 and memo.get(1) is None and memo.get(2) is None and memo.get(5) is answers[5]
    memo.put(3, answers[3])  # refreshed: now the newest
    memo.put(6, object())  # type: ignore[arg-type]
    assert memo.get(3) is answers[3] and memo.get(4) is None


# --------------------------------------------------------------------------- the moments


@pytest.mark.db
def test_the_due_moment_is_where_due_turns_true(api, runtime, clock):
    cand = api("candidate")
    drill_id = cand.post("/api/v1/drills", json={"scenario": "system-failure-queue"}).get_json()["id"]
    with runtime.session_factory() as s:
        drill = drill_contacts.drill_snapshot(s, drill_id)
        spec = scenario_spec(s, drill.scenario_id, drill.scenario_version)
        moment = lifecycle.due_moment(drill, spec)
        assert moment is not None and moment <= drill.started_at + timedelta(seconds=40)
        assert not lifecycle._due(drill, spec, moment - timedelta(microseconds=1))
        assert lifecycle._due(drill, spec, moment)
        # Scenario faults at 60 s and 65 s (+300 s) follow the drill's clock.
        assert next_fault_change(s, drill, spec, drill.started_at) == drill.started_at + timedelta(seconds=60)
        assert next_fault_change(s, drill, spec, drill.started_at + timedelta(seconds=60)) == \
            drill.started_at + timedelta(seconds=65)
        assert next_fault_change(s, drill, spec, drill.started_at + timedelta(seconds=365)) is None
        drill.status, drill.paused_at = "paused", drill.started_at  # a copy: nothing is written
        assert lifecycle.due_moment(drill, spec) is None
        assert next_fault_change(s, drill, spec, drill.started_at) is None
        drill.status, drill.paused_at, drill.paused_seconds = "running", None, 30.0
        assert next_fault_change(s, drill, spec, drill.started_at) == drill.started_at + timedelta(seconds=90)
        assert s.get(Drill, drill_id).paused_seconds == 0.0


# --------------------------------------------------------------------------- every writer, listed

# Each place in the code that changes what a drill conversation's poll shows, or when its drill
# next has something to do, and how that moves the stamp (sandbox/drill/quiet.py). A new
# writer fails the test below until it is added here, with the way its change is seen.
WATCHED_ATTRIBUTES = {"closed", "mood", "arrived", "arrives_at", "last_customer_at", "last_agent_at",
                      "last_customer_seq", "silence_fired_seq", "recognized", "asr_text", "text", "owner_id",
                      "starts_at", "ends_at", "faults_version"}
WATCHED_TABLES = {"DrillContact", "ConversationMessage", "Conversation", "InjectedFault", "MessageCounter"}
KNOWN_WRITERS = {
    ("sandbox/bank/conversations.py", "_HAND_OVER", "owner_id"): "at a drill's start: drill row",
    ("sandbox/drill/agenda.py", "react", "mood"): "a Reaction value, applied by customer_turns",
    ("sandbox/drill/agenda.py", "react_silence", "mood"): "a Reaction value, applied by customer_turns",
    ("sandbox/drill/agenda.py", "_pop_met", "mood"): "a Reaction value, applied by customer_turns",
    ("sandbox/drill/agenda.py", "_clamp", "mood"): "a Reaction value, applied by customer_turns",
    ("sandbox/drill/agent_turns.py", "post_agent_message", "last_agent_at"): "message counter, message.agent",
    ("sandbox/drill/agent_turns.py", "recognize", "recognized"): "asr.recognized event",
    ("sandbox/drill/customer_turns.py", "say", "last_customer_seq"): "message counter, message.customer",
    ("sandbox/drill/customer_turns.py", "say", "last_customer_at"): "message counter, message.customer",
    ("sandbox/drill/customer_turns.py", "react", "mood"): "the trigger's event (message, op) or a due silence",
    ("sandbox/drill/customer_turns.py", "react", "closed"): "contact.closed event",
    ("sandbox/drill/customer_turns.py", "_agenda_react", "mood"): "the trigger's event or a due silence",
    ("sandbox/drill/customer_turns.py", "_agenda_react", "closed"): "contact.closed event",
    ("sandbox/drill/lifecycle.py", "tick", "arrived"): "a due arrival; contact.arrived event",
    ("sandbox/drill/lifecycle.py", "tick", "silence_fired_seq"): "a due silence (quiet_until)",
    ("sandbox/exam/faults.py", "round_faults_changed", "faults_version"): "is the stamp's fault part",
    ("sandbox/exam/rounds.py", "restore_fault", "ends_at"): "round_faults_changed",
}


def writers_in_code() -> set[tuple[str, str, str]]:
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found: set[tuple[str, str, str]] = set()
    for path in sorted((root / "sandbox").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        rel = path.relative_to(root).as_posix()
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else []
                found |= {(rel, fn.name, t.attr) for t in targets
                          if isinstance(t, ast.Attribute) and t.attr in WATCHED_ATTRIBUTES}
                if isinstance(node, ast.Call):
                    name = getattr(node.func, "id", getattr(node.func, "attr", None))
                    if name == "update_columns":
                        found |= {(rel, fn.name, kw.arg) for kw in node.keywords if kw.arg in WATCHED_ATTRIBUTES}
                    if name == "update" and node.args and ast.unparse(node.args[0]).split("(")[-1].rstrip(")") \
                            in WATCHED_TABLES:
                        found.add((rel, fn.name, f"update({ast.unparse(node.args[0])})"))
        # A statement built once at module level (``_HAND_OVER = update(...).values(owner_id=...)``)
        # is listed under its name.
        for top in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(top, ast.Assign) and isinstance(top.targets[0], ast.Name):
                for node in ast.walk(top.value):
                    if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "values":
                        found |= {(rel, top.targets[0].id, kw.arg) for kw in node.keywords
                                  if kw.arg in WATCHED_ATTRIBUTES}
    return found


def test_every_writer_of_what_a_poll_shows_is_known_and_moves_the_stamp():
    found = writers_in_code()
    assert found - KNOWN_WRITERS.keys() == set(), (
        "a new writer of what a drill poll shows: make sure its change moves the drill's stamp "
        "(sandbox/drill/quiet.py: an event, the message counter, the drill row or the round's "
        "faults_version) or comes at a moment quiet_until foresees, test it in this file, then list it")
    assert KNOWN_WRITERS.keys() - found == set(), "a listed writer is gone: take it off the list"
