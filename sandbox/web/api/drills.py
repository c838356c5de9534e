"""/api/v1 drills, scenarios and conversation messages."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from flask import Response, current_app, jsonify, request, url_for
from flask.json.provider import DefaultJSONProvider
from sqlalchemy import bindparam, select

from sandbox.bank.masking import mask_name, redact, redact_data
from sandbox.bank.models import Conversation
from sandbox.drill import agent_turns, drill_clock, drill_contacts, drill_faults, event_log, lifecycle, quiet, speech
from sandbox.drill.models import Drill, DrillContact
from sandbox.drill.operations import BOT
from sandbox.drill.reports import scores_visible, visible_report
from sandbox.drill.scenario.store import list_scenarios, scenario_spec
from sandbox.errors import Forbidden, NotFound, ValidationFailed
from sandbox.exam import rounds as exam
from sandbox.exam.models import Round
from sandbox.roles import ADMIN, CANDIDATE, EXAMINER, STAFF_ROLES, TRAINER
from sandbox.web.api import bp, json_body
from sandbox.web.drill_context import (
    drill_gate,
    kb_pin,
    load_contact,
    log_nothing,
    recorded,
)
from sandbox.web.poll_answer import kept_answer, message_json, messages_body
from sandbox.web.poll_memo import PollMemo, QuietAnswer, memo_of
from sandbox.web.request_context import current_user
from sandbox.web.security import any_user, roles_required
from sandbox.web.tx import advance_drill_if_due, db, end_read, runtime, unit_of_work
from workorders import vocab


def contact_json(row: DrillContact, now) -> dict[str, Any]:
    facts = drill_contacts.contact_facts(row)
    waiting = None
    if row.arrived and not row.closed and row.last_customer_at and (
            row.last_agent_at is None or row.last_agent_at < row.last_customer_at):
        waiting = int((now - row.last_customer_at).total_seconds())
    return {"id": row.conversation_id, "contact": row.contact_key, "channel": row.channel,
            "customer": {"label": mask_name(facts["name"]), "segment": facts.get("segment")},
            "arrived": row.arrived, "closed": row.closed, "mood": vocab.mood_label(row.mood),
            "waiting_seconds": waiting, "last_seq": row.last_customer_seq}


def drill_json(drill: Drill, with_report: bool = False, started: exam.NextQuestion | None = None) -> dict[str, Any]:
    """The drill as the API shows it (``started``: what ``exam.start_next`` read, reused for the progress)."""
    s = db()
    now = runtime().clock.now()
    spec = scenario_spec(s, drill.scenario_id, drill.scenario_version)
    faults = drill_faults.active_faults(s, drill, spec, now)
    body = {
        "id": drill.id, "scenario": spec.summary_dict(), "brief": spec.brief, "mode": drill.mode,
        "status": drill.status, "started_at": drill.started_at.isoformat(), "deadline": drill.deadline.isoformat(),
        "remaining_seconds": round(drill_clock.remaining_seconds(drill, now), 1),
        "elapsed_seconds": round(drill_clock.drill_seconds(drill, now), 1),
        "conversations": [contact_json(c, now) for c in drill.contacts if c.arrived],
        "faults": [{"component": f["component"], "message": f["message"]} for f in faults],
        "round_id": drill.round_id, "ended_by": drill.ended_by,
    }
    if drill.round_id is not None:
        body["progress"] = round_progress(drill, started)
    if scores_visible(db(), drill, current_user()):
        # Exam scores stay hidden from the candidate until the examiner releases the results.
        body["total"] = drill.total
        body["hard_fail"] = drill.hard_fail
    return body


def round_progress(drill: Drill, started: exam.NextQuestion | None = None) -> dict[str, Any] | None:
    """Which question of the candidate's round this drill is, and the round's time left for them."""
    s = db()
    rnd = s.get(Round, drill.round_id)
    if rnd is None:
        return None
    position = exam.drill_position(s, drill)
    known = started if started is not None and started.drill is drill else None
    mine = exam.candidate_progress(s, rnd, drill.user_id, runtime().clock.now(),
                                   drills=known.drills if known else None, entry=known.entry if known else None)
    return {**position, "finished": mine["finished"], "complete": mine["complete"],
            "remaining_seconds": mine["remaining_seconds"], "ticking": mine["ticking"]}


def next_action(round_id: int, step: str) -> dict[str, Any] | None:
    """The ``next`` action of the exam API: POST it to start (or go back to) the next question."""
    if step not in ("start", "next", "continue"):
        return None
    return {"method": "POST", "href": url_for("api.rounds_next", round_id=round_id), "label": exam.NEXT_STATES[step]}


def _own_drill(drill_id: int, for_update: bool = False, with_contacts: bool = False) -> Drill:
    user = current_user()
    owner = None if user.role in STAFF_ROLES else user.id
    return drill_contacts.get_drill(db(), drill_id, owner, for_update=for_update, with_contacts=with_contacts)


# The scenario list's JSON, redacted and serialised once per catalogue: ``list_scenarios``
# hands out the same spec objects until a scenario is added, edited, enabled or disabled, so
# the tuple of their identities names one list (the entry holds the specs, so no identity is
# reused while it is cached). Serialising and redacting 28 summaries was a quarter of the request.
_SCENARIO_LISTS: OrderedDict[tuple[int, ...], tuple[list[Any], bytes]] = OrderedDict()
_SCENARIO_LISTS_MAX = 16
_scenario_lists_lock = threading.Lock()


@bp.get("/scenarios")
@any_user
def scenarios_list():
    """Scenarios a drill can be started on (no answers in it)."""
    specs = list_scenarios(db())
    key = tuple(map(id, specs))
    with _scenario_lists_lock:
        cached = _SCENARIO_LISTS.get(key)
        if cached is None:
            # Redacted here, then written as ``jsonify`` writes (the provider's own redaction skipped).
            body = DefaultJSONProvider.response(current_app.json, redact_data(
                [spec.summary_dict() for spec in specs])).get_data()
            cached = _SCENARIO_LISTS[key] = (specs, body)
            while len(_SCENARIO_LISTS) > _SCENARIO_LISTS_MAX:
                _SCENARIO_LISTS.popitem(last=False)
        else:
            _SCENARIO_LISTS.move_to_end(key)
    return Response(cached[1], mimetype=current_app.json.mimetype)


@bp.post("/drills")
@roles_required(CANDIDATE, EXAMINER, TRAINER, ADMIN)
def drills_start():
    data = json_body()
    scenario = data.get("scenario")
    mode = data.get("mode", "practice")
    if not isinstance(scenario, str) or not scenario:
        raise ValidationFailed("请指定场景（scenario）。", code="missing_scenario")
    if current_user().role == CANDIDATE and mode == "exam":
        raise Forbidden("考试模式只能通过考官发起的考试场次进入。", code="exam_via_round_only")
    with unit_of_work() as s:
        if mode == "practice":
            exam.ensure_practice_allowed(s, runtime().clock, current_user().id, scenario)
        drill = lifecycle.start_drill(s, runtime().clock, current_user().id, scenario, mode)
        body = drill_json(drill)
    return jsonify(body), 201


@bp.get("/drills/<int:drill_id>")
@any_user
def drills_get(drill_id: int):
    # With its contacts (one query): the poll looks at every contact. Held: the session's identity
    # map keeps it only while referenced.
    drill = _own_drill(drill_id, with_contacts=True)
    if advance_drill_if_due(drill):
        drill = _own_drill(drill_id, with_contacts=True)
    body = drill_json(drill)
    end_read()
    return jsonify(body)


@bp.post("/drills/<int:drill_id>/finish")
@any_user
def drills_finish(drill_id: int):
    with unit_of_work() as s:
        drill = _own_drill(drill_id, for_update=True)
        lifecycle.tick(s, runtime().clock, drill)
        lifecycle.finish(s, runtime().clock, drill, ended_by="candidate")
        report = report_json(drill)
        if drill.round_id is not None and drill.user_id == current_user().id:
            report.update(exam_step(s, drill.round_id))
    return jsonify(report)


def exam_step(s, round_id: int) -> dict[str, Any]:
    """The candidate's round after a hand-in: ``progress`` and the ``next`` action (null when none)."""
    rnd = s.get(Round, round_id)
    mine = exam.my_round(s, runtime().clock, rnd, current_user().id)
    return {"progress": {k: mine["progress"][k] for k in ("index", "count", "finished", "complete",
                                                          "remaining_seconds", "ticking")},
            "step": mine["step"], "step_label": mine["step_label"], "next": next_action(round_id, mine["step"])}


def report_json(drill: Drill) -> dict[str, Any]:

    return visible_report(db(), runtime().clock, drill, current_user())


@bp.get("/drills/<int:drill_id>/report")
@any_user
def drills_report(drill_id: int):
    with unit_of_work() as s:
        drill = _own_drill(drill_id, for_update=True)
        lifecycle.tick(s, runtime().clock, drill)
        if drill.status != drill_clock.FINISHED:
            raise ValidationFailed("演练尚未结束，暂无评分报告。", code="drill_not_finished", status=409)
        body = report_json(drill)
    return jsonify(body)


# --------------------------------------------------------------------------- messages


@bp.get("/conversations/<int:conversation_id>/messages")
@any_user
def messages_list(conversation_id: int):
    """New messages after ``after``; polls take the write lock only when the drill has something to do."""
    try:
        after = int(request.args.get("after", 0))
    except ValueError:
        raise ValidationFailed("after 必须是整数。", code="invalid_after") from None
    as_customer = request.args.get("as") == "customer"
    body = None if as_customer else _quiet_poll(conversation_id, after)
    if body is None:
        ctx = load_contact(conversation_id, as_customer=as_customer)
        if ctx.drill is not None and advance_drill_if_due(ctx.drill):
            ctx = load_contact(conversation_id, as_customer=as_customer)
        body = messages_body(conversation_id, event_log.messages_after(db(), conversation_id, after), ctx.audience,
                             ctx.drill, ctx.contact, runtime().clock.now())
    end_read()
    return jsonify(body)


_CONVERSATION_TABLE = Conversation.__table__
_CONVERSATION_OWNER = select(_CONVERSATION_TABLE.c.owner_id, _CONVERSATION_TABLE.c.drill_id).where(
    _CONVERSATION_TABLE.c.id == bindparam("id"))


def _quiet_poll(conversation_id: int, after: int) -> dict[str, Any] | None:
    """The common poll (a candidate's own drill conversation, nothing due) read with Core selects
    into read-only copies, or reused from the last such answer while the drill's stamp says
    nothing changed (``sandbox.drill.quiet``): the token and one statement. None: the full
    path answers (someone else's or a free conversation, a drill with something to do).
    The poll lane (``sandbox.web.poll_lane``) answers the reused case before the app."""
    s = db()
    now = runtime().clock.now()
    user_id = current_user().id
    memo = memo_of(runtime())
    body, stamp = kept_answer(s, memo, conversation_id, after, user_id, now)
    if body is not None:
        if current_app.config.get("QUIET_POLL_CHECK"):
            _check_reused(conversation_id, after, body, now)
        return body
    return _read_quiet(conversation_id, after, now, user_id, memo, stamp)


def _read_quiet(conversation_id: int, after: int, now, user_id: int, memo: PollMemo | None,
                stamp: quiet.Stamp | None = None) -> dict[str, Any] | None:
    """The quiet poll read afresh; remembered in ``memo`` (when given) with its stamp (``stamp``:
    the conversation's drill's, if this request has read it already)."""
    s = db()
    conv = s.execute(_CONVERSATION_OWNER, {"id": conversation_id}).first()
    if conv is None or conv.owner_id != user_id or conv.drill_id is None:
        return None
    if stamp is None:
        stamp = quiet.drill_stamp(s, conv.drill_id, conversation_id)  # before the state it stands for
    drill = drill_contacts.drill_snapshot(s, conv.drill_id)
    contact = next((c for c in drill.contacts if c.conversation_id == conversation_id), None) if drill else None
    if drill is None or contact is None or stamp is None or lifecycle.needs_tick(s, runtime().clock, drill):
        return None
    if memo is not None:
        spec = scenario_spec(s, drill.scenario_id, drill.scenario_version)
        memo.put(conversation_id, QuietAnswer(user_id, drill.id, stamp, now, quiet.quiet_until(s, drill, spec, now),
                                              contact.closed, contact.mood))
    return messages_body(conversation_id, event_log.message_copies_after(s, conversation_id, after), "agent",
                         drill, contact, now)


def _check_reused(conversation_id: int, after: int, body: dict[str, Any], now) -> None:
    """QUIET_POLL_CHECK (the test suite): a reused answer must equal the one read afresh."""
    fresh = _read_quiet(conversation_id, after, now, current_user().id, None)
    if fresh != body:
        raise AssertionError(f"a reused poll answer differs from the state: {body!r} != {fresh!r}")


@bp.post("/conversations/<int:conversation_id>/messages")
@any_user
def messages_post(conversation_id: int):
    data = json_body()
    text = data.get("text")
    if not isinstance(text, str):
        raise ValidationFailed("text 必须是文本。", code="invalid_text")
    as_customer = data.get("as") == "customer"
    if not as_customer:
        agent_turns.read_ahead(text)  # before the write lock: the model's reading is cached by text
    with unit_of_work() as s:
        ctx = load_contact(conversation_id, write=True, as_customer=as_customer)
        if ctx.drill is None:
            msg = ctx.post_free(s, text, as_customer)
            body = {"message": message_json(msg, ctx.audience), "replies": [], "hints": []}
        else:
            result = agent_turns.post_agent_message(s, runtime().clock, ctx.drill, ctx.contact, text, current_user().id)
            body = {"message": message_json(result.message), "hints": result.hints,
                    "replies": [message_json(m) for m in result.customer_replies]}
    return jsonify(body), 201


@bp.post("/conversations/<int:conversation_id>/recognize")
@any_user
def messages_recognize(conversation_id: int):
    drill_gate(conversation_id, BOT)
    with unit_of_work() as s:
        ctx = load_contact(conversation_id, write=True)
        if ctx.drill is None:
            raise NotFound("该会话不是演练会话。", code="not_a_drill_conversation")
        msgs = agent_turns.recognize(s, runtime().clock, ctx.drill, ctx.contact)
        body = {"recognized": [message_json(m) for m in msgs]}
    return jsonify(body)


# --------------------------------------------------------------------------- voice turns heard


def _voice_turn_text(conversation_id: int, seq: int) -> str:
    """What the customer says in voice turn ``seq`` of a drill conversation the caller may see
    (the same access as its messages): the true words, not the recognised text, masked."""
    ctx = load_contact(conversation_id)
    msg = event_log.message_at(db(), conversation_id, seq) if ctx.drill is not None else None
    if msg is None or msg.speaker != "customer" or msg.kind != "audio":
        raise NotFound("这条消息不是客户语音。", code="not_a_voice_turn")
    text = speech.speech_text(redact(msg.text))
    end_read()
    return text


@bp.get("/conversations/<int:conversation_id>/messages/<int:seq>/speech")
@any_user
def message_speech(conversation_id: int, seq: int):
    """A voice customer turn to be played: its words (for the browser's own voice) and whether
    the server can render it (``audio_url``, espeak-ng)."""
    text = _voice_turn_text(conversation_id, seq)
    server = speech.espeak_available()
    return jsonify({"conversation": conversation_id, "seq": seq, "text": text, "lang": "zh-CN",
                    "server_audio": server, "engine": speech.ENGINE_LABEL if server else None,
                    "audio_url": url_for("api.message_audio", conversation_id=conversation_id, seq=seq)
                    if server else None})


@bp.get("/conversations/<int:conversation_id>/messages/<int:seq>/audio")
@any_user
def message_audio(conversation_id: int, seq: int):
    """The voice turn as a WAV clip rendered by espeak-ng (503 ``tts_unavailable`` without it)."""
    text = _voice_turn_text(conversation_id, seq)
    clip = speech.render_clip(text, speech.cache_dir_of(runtime().settings.home)).read_bytes()  # ≤ ~1 MB
    response = Response(clip, mimetype="audio/wav")
    response.headers["Cache-Control"] = "private, max-age=600"
    response.add_etag()
    return response.make_conditional(request, accept_ranges=True, complete_length=len(clip))


# --------------------------------------------------------------------------- 智能识别


@bp.get("/conversations/<int:conversation_id>/assist")
@any_user
def drill_assist(conversation_id: int):
    """The recognised intent and KB suggestions for the latest customer turn."""
    from knowledge_base.search import get_kb

    target = drill_gate(conversation_id, BOT)
    ctx = load_contact(conversation_id)
    last = next((m for m in reversed(event_log.messages_after(db(), conversation_id, 0)) if m.speaker == "customer"), None)
    end_read()
    if last is None:
        return jsonify({"turn": None, "intent": None, "suggestions": []})
    if last.kind == "audio" and not last.recognized:
        return jsonify({"turn": last.seq, "intent": None, "suggestions": [], "pending_audio": True})
    text = (last.asr_text if last.kind == "audio" else last.text) or ""
    result = get_kb(runtime()).search(text, limit=3)
    hits = [h.to_dict() for h in result.hits]
    pin = kb_pin(target)
    if pin is not None:
        from sandbox.web.api.kb import pinned_results

        hits = pinned_results(hits, pin)
    return jsonify({"turn": last.seq, "text": redact(text), "intent": hits[0]["category"] if hits else None,
                    "suggestions": hits, "audience": ctx.audience})


@bp.post("/conversations/<int:conversation_id>/suggestions/use")
@any_user
def drill_use_suggestion(conversation_id: int):
    """Take a suggested article's answer as a draft reply (the candidate edits it before sending)."""
    from knowledge_base.text import markdown_to_plain
    from sandbox.web.kb import load_article

    data = json_body()
    article_id = data.get("article")
    if not isinstance(article_id, str) or not article_id:
        raise ValidationFailed("请指定知识条目（article）。", code="missing_article")
    target = drill_gate(conversation_id, BOT)
    load_contact(conversation_id)
    pin = kb_pin(target)
    if pin is not None:
        from knowledge_base.articles import record_as_of

        record = record_as_of(db(), article_id, pin)
        if record is None or record.get("status") != "已发布":
            raise NotFound("文章不存在或未发布。", code="unknown_article")
    else:
        record = load_article(article_id, False).to_record()
    with unit_of_work() as s, recorded(s, target, "suggestion.use", refusal=log_nothing) as rec:
        rec.set(article=article_id)
    return jsonify({"article": record["id"], "title": record["title"],
                    "draft": markdown_to_plain(record["answer"]), "plain": markdown_to_plain(record["plain_answer"])})


@bp.post("/drills/<int:drill_id>/compliance")
@any_user
def drills_compliance(drill_id: int):
    """Live wording hints while the candidate types (practice only; exams are scored silently)."""
    from sandbox.scoring.compliance import check_text

    drill = _own_drill(drill_id)
    if drill.mode != "practice":
        raise Forbidden("考试模式不提供实时提示。", code="hints_disabled")
    text = json_body().get("text")
    if not isinstance(text, str):
        raise ValidationFailed("text 必须是文本。", code="invalid_text")
    return jsonify({"findings": [f.to_dict() for f in check_text(text[:MAX_HINT_CHARS])]})


MAX_HINT_CHARS = 2000
