"""The OpenAPI 3.0 description of /api/v1, served at ``GET /api/v1/openapi.json``.

This module is the one source of the document: a Python dict built once and cached.
tests/proof/test_openapi.py keeps it true (every route documented with its methods,
every documented path routed, the document valid, and a schemathesis run against the
app finding no 500 and no answer outside the documented statuses and shapes).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from flask import Response

from sandbox import __version__
from sandbox.web.api import bp
from sandbox.web.security import public

JSON = "application/json"

# --------------------------------------------------------------------------- schema helpers


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: dict[str, Any] | None = None, optional: dict[str, Any] | None = None,
        **extra: Any) -> dict:
    """An object schema: ``required`` fields must be present; more fields may appear."""
    props = {**(required or {}), **(optional or {})}
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = sorted(required)
    schema.update(extra)
    return schema


def arr(items: dict) -> dict:
    return {"type": "array", "items": items}


def nullable(schema: dict) -> dict:
    if "$ref" in schema:
        return {"allOf": [schema], "nullable": True}
    return {**schema, "nullable": True}


STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
ANY_OBJ = {"type": "object"}
N_STR = nullable(STR)
N_INT = nullable(INT)
N_NUM = nullable(NUM)
TIME = {"type": "string", "description": "ISO 8601 时间（含时区）"}
N_TIME = nullable(TIME)
MONEY = {"type": "string", "description": "金额，两位小数的十进制字符串", "example": "8632.50"}

# --------------------------------------------------------------------------- components

SCHEMAS: dict[str, dict] = {
    "Error": obj({"error": obj({"code": {"type": "string", "description": "稳定的 snake_case 错误码"},
                                 "message": {"type": "string", "description": "中文说明"}})},
                 description="所有错误的统一形状；部分错误在 error 内附加 field、allowed 等细节。"),
    "Health": obj({"status": {"type": "string", "enum": ["ok"]}, "version": STR}),
    "Me": obj({"username": STR, "role": {"type": "string", "enum": ["candidate", "examiner", "trainer", "admin"]},
               "display_name": STR}),
    "Changed": obj({"changed": BOOL}),
    "ScenarioSaved": obj({"id": STR, "version": INT, "title": STR, "enabled": BOOL}),
    "PasswordChanged": obj({"changed": BOOL, "sessions_ended": INT, "tokens_revoked": INT}),
    "ScenarioSummary": obj({"id": STR, "title": STR, "version": INT, "difficulty": STR, "channel": STR,
                            "time_limit": INT, "contacts": INT},
                           {"summary": STR, "persona": arr(STR), "tags": arr(STR)}),
    "Contact": obj({"id": INT, "contact": STR, "channel": STR,
                    "customer": obj({"label": STR}, {"segment": N_STR}),
                    "arrived": BOOL, "closed": BOOL, "mood": STR, "waiting_seconds": N_INT, "last_seq": INT}),
    "Fault": obj({"component": STR, "message": STR}),
    "Drill": obj({"id": INT, "scenario": ref("ScenarioSummary"), "brief": STR,
                  "mode": {"type": "string", "enum": ["practice", "exam"]},
                  "status": STR, "started_at": TIME, "deadline": TIME,
                  "remaining_seconds": NUM, "elapsed_seconds": NUM,
                  "conversations": arr(ref("Contact")), "faults": arr(ref("Fault")),
                  "round_id": N_INT, "ended_by": N_STR},
                 {"total": N_NUM, "hard_fail": nullable(BOOL), "progress": nullable(ref("DrillProgress"))},
                 description="演练状态；remaining_seconds 以服务器时间为准。total、hard_fail 仅在可以看成绩时出现"
                             "（考生的考试演练：考官发布成绩之后）。考试演练带 progress（第 index / count 题）。"),
    "DrillProgress": obj({"round_id": INT, "index": INT, "count": INT, "finished": INT, "complete": BOOL,
                          "remaining_seconds": NUM, "ticking": BOOL},
                         description="考试中的位置：本题是第 index / count 题；remaining_seconds 为本场剩余时间"
                                     "（本题剩余加未开始题目的时长，不超过截止时间），ticking 表示正在倒计时。"),
    "NextAction": obj({"method": {"type": "string", "enum": ["POST"]}, "href": STR, "label": STR},
                      description="下一步：向 href 发 POST 开始（或回到）下一题；题目由服务器决定，不能跳题或重做。"),
    "Report": obj({"drill": INT, "status": STR, "mode": STR, "scenario": STR, "released": BOOL},
                  {"message": STR, "total": N_NUM, "auto_total": N_NUM, "hard_fail": nullable(BOOL),
                   "hard_fails": arr(ANY_OBJ), "checks": arr(ANY_OBJ), "dimensions": {},
                   "expected_outcome": {}, "reference_run": arr(ANY_OBJ), "answers_withheld": BOOL,
                   "withheld_message": STR, "progress": ref("DrillProgress"), "step": STR, "step_label": STR,
                   "next": nullable(ref("NextAction"))},
                  description="评分报告；考生在考官发布前只看到 released=false（无任何分数、评分项与依据）。"
                              "场景被尚未结束的考试使用时，考生的练习报告 answers_withheld=true，不含参考答案与评分项。"
                              "考生交卷（finish）考试题时附 progress、step 与 next（最后一题后 next 为 null，"
                              "step=complete）。"),
    "Message": obj({"seq": INT, "speaker": STR, "kind": STR, "at": TIME, "text": N_STR},
                   {"recognized": BOOL, "audio_seconds": INT, "confidence": N_NUM},
                   description="语音消息在识别前 text 为 null。"),
    "MessageList": obj({"conversation": INT, "messages": arr(ref("Message"))},
                       {"drill": obj({"status": STR, "remaining_seconds": NUM}), "closed": BOOL, "mood": STR}),
    "MessagePosted": obj({"message": ref("Message"), "replies": arr(ref("Message")), "hints": arr(ANY_OBJ)}),
    "Recognized": obj({"recognized": arr(ref("Message"))}),
    "Speech": obj({"conversation": INT, "seq": INT, "text": STR, "lang": STR, "server_audio": BOOL,
                   "engine": N_STR, "audio_url": N_STR},
                  description="客户语音的原话（不是识别结果，已脱敏），供浏览器的中文语音朗读；"
                              "server_audio=true 时 audio_url 是服务器用 espeak-ng 合成的 WAV。"),
    "KbHit": obj({"id": STR, "title": STR, "category": STR, "score": NUM, "snippet": STR}, {"status": STR}),
    "Assist": obj({"turn": N_INT, "intent": N_STR, "suggestions": arr(ref("KbHit"))},
                  {"text": STR, "audience": STR, "pending_audio": BOOL}),
    "Draft": obj({"article": STR, "title": STR, "draft": STR, "plain": STR}),
    "Findings": obj({"findings": arr(obj({"kind": STR, "message": STR}, {"phrase": STR, "suggestion": STR}))}),
    "CustomerSummary": obj({"id": STR, "name": STR, "salutation": STR, "gender": N_STR, "age": N_INT,
                            "segment": N_STR}, {"magic": N_STR}),
    "IdentityState": obj({"verified": BOOL, "locked": BOOL, "attempts_left": INT, "method": N_STR,
                          "expires_at": N_TIME},
                         {"lock": {"type": "string", "enum": ["conversation", "agent_customer"], "nullable": True},
                          "retry_after": N_INT}),
    "Conversation": obj({"id": INT, "channel": STR, "status": STR, "drill_id": N_INT, "created_at": TIME,
                         "customer": ref("CustomerSummary"), "identity": ref("IdentityState")}),
    "SmsSent": obj({"sent": BOOL, "phone": STR, "expires_in": INT}),
    "VerifyResult": obj({"verified": BOOL, "attempts_left": INT, "message": STR}),
    "Phone": obj({"conversation_id": INT, "messages": arr(ANY_OBJ)}),
    "CustomerProfile": obj({"id": STR, "name": STR, "id_number": STR, "phone": STR}, {
        "salutation": STR, "gender": N_STR, "age": N_INT, "segment": N_STR, "address": N_STR,
        "company": N_STR, "risk_level": N_STR, "risk_assessed": N_STR, "risk_expires": N_STR,
        "risk_expired": nullable(BOOL), "holdings": arr(ANY_OBJ)}, description="已脱敏的客户资料。"),
    "Account": obj({"ref": STR, "number": STR, "kind": STR, "status": STR, "balance": MONEY, "currency": STR},
                   {"branch": N_STR, "opened": N_STR, "status_memo": N_STR}),
    "Accounts": obj({"accounts": arr(ref("Account"))}),
    "Transaction": obj({"id": STR, "at": TIME, "amount": MONEY, "type": STR},
                       {"balance_after": MONEY, "channel": N_STR, "counterparty": N_STR, "memo": N_STR}),
    "Transactions": obj({"account": ref("Account"), "transactions": arr(ref("Transaction")),
                         "from": N_STR, "to": N_STR}, {"risk_events": arr(ANY_OBJ)}),
    "Card": obj({"ref": STR, "number": STR, "product": STR, "status": STR, "limit": MONEY, "available": MONEY},
                {"due_date": N_STR, "statement_day": N_INT, "overdue_days": N_INT, "status_memo": N_STR}),
    "Cards": obj({"cards": arr(ref("Card"))}),
    "CardStatus": obj({"number": STR, "status": STR},
                      {"product": STR, "limit": MONEY, "available": MONEY, "opened": N_STR, "due_date": N_STR,
                       "overdue_days": N_INT, "annual_fee": ANY_OBJ, "recent_transactions": arr(ref("Transaction"))}),
    "Bill": obj({"ref": STR, "card": ref("Card"), "bill": nullable(ANY_OBJ), "instalments": arr(ANY_OBJ)}),
    "FreezeResult": obj({"ref": STR, "status": STR, "previous_status": STR, "message": STR}),
    "Customers": obj({"customers": arr(ref("CustomerSummary"))}),
    "Reveal": obj({"customer_id": STR, "field": STR, "ref": N_STR, "value": STR}),
    "KbSearch": obj({"query": STR, "total": INT, "took_ms": NUM, "results": arr(ref("KbHit")),
                     "page": INT, "limit": INT, "category": N_STR}),
    "KbArticle": obj({"id": STR, "title": STR, "questions": arr(STR), "answer": STR, "plain_answer": STR,
                      "category": STR, "tags": arr(STR), "status": STR, "version": INT, "updated_at": TIME,
                      "answer_html": STR, "plain_answer_html": STR}),
    "Transition": obj({"to": STR, "label": STR, "requires": arr(STR)}, {"from": STR}),
    "HistoryEntry": obj({"at": TIME, "field": STR, "who": N_STR},
                        {"field_label": N_STR, "from": {"nullable": True}, "to": {"nullable": True},
                         "note": N_STR, "visibility": N_STR}),
    "WorkOrder": obj({"number": {"type": "string", "example": "WO20261128-0001"}, "type": STR, "category": STR,
                      "priority": STR, "queue": STR, "status": STR, "title": STR, "description": N_STR,
                      "customer": obj({"id": N_STR, "label": N_STR}), "conversation_id": N_INT,
                      "creator": N_STR, "assignee": N_STR, "created_at": TIME, "updated_at": TIME,
                      "due_at": N_TIME, "first_response_due_at": N_TIME, "first_responded_at": N_TIME,
                      "closed_at": N_TIME, "expected_callback_at": N_TIME, "overdue": BOOL,
                      "sla_paused": BOOL, "paused_seconds": INT, "waiting_on_customer": BOOL,
                      "reopen_count": INT, "allowed_transitions": arr(ref("Transition"))},
                     {"resolution_note": N_STR, "satisfaction": N_STR, "contact_result": N_STR,
                      "history": arr(ref("HistoryEntry")), "customer_updates": arr(ANY_OBJ)}),
    "WorkOrderList": obj({"items": arr(ref("WorkOrder")), "count": INT}),
    "WorkOrderMeta": obj({"types": arr(STR), "priorities": arr(STR), "queues": arr(STR), "categories": arr(STR),
                          "states": arr(STR), "satisfaction": arr(STR), "contact_results": arr(STR),
                          "visibilities": ANY_OBJ, "defaults": ANY_OBJ, "transitions": arr(ref("Transition")),
                          "sla": obj({"first_response_seconds": ANY_OBJ, "resolution_seconds": ANY_OBJ})}),
    "Handoff": obj({"id": INT, "conversation_id": INT, "queue": STR, "status": STR, "status_label": STR,
                    "customer": obj({"id": N_STR, "label": N_STR}), "summary": ANY_OBJ, "created_at": TIME,
                    "waiting_seconds": N_INT, "timeout_seconds": INT, "timed_out": BOOL, "callback_offer": BOOL,
                    "accepted_by": N_STR, "accepted_at": N_TIME, "callback_work_order": N_STR},
                   {"transcript": {"nullable": True},
                    "messages": arr(obj({"who": N_STR, "text": STR, "at": TIME}))}),
    "HandoffQueue": obj({"items": arr(ref("Handoff")), "timeout_seconds": INT}),
}

# Request bodies: the fields each endpoint reads. The app checks every value itself
# (wrong types and unknown values are 400s with a code), so these stay permissive.
ROUND_SCHEMAS: dict[str, dict] = {
    "RoundFault": obj({"id": INT, "component": STR, "message": STR, "user_id": N_INT, "starts_at": TIME,
                       "ends_at": N_TIME, "active": BOOL}),
    "Round": obj({"id": INT, "name": STR, "status": {"type": "string", "enum": ["draft", "running", "paused", "ended"]},
                  "status_label": STR, "join_code": STR,
                  "scenarios": arr(obj({"id": STR, "version": INT})), "shuffle": BOOL,
                  "time_per_scenario": N_INT, "kb_version": INT, "opens_at": N_TIME, "closes_at": N_TIME,
                  "started_at": N_TIME, "results_released": BOOL, "candidates": INT,
                  "faults": arr(ref("RoundFault"))}),
    "RoundForCandidate": obj({"id": INT, "name": STR, "status": STR, "status_label": STR},
                             {"progress": ANY_OBJ}),
    "RoundJoined": obj({"id": INT, "name": STR, "status": STR}),
    "Roster": obj({"added": arr(STR), "already": arr(STR),
                   "created": arr(obj({"username": STR, "password": STR}))}),
    "Extended": obj({"user_id": INT, "extra_seconds": INT}),
    "Progress": obj({"id": INT, "name": STR, "status": STR, "status_label": STR,
                     "plan": arr(obj({"scenario": STR, "version": INT, "drill": N_INT, "status": STR},
                                     {"index": INT})),
                     "current": N_INT, "next": N_STR},
                    {"index": INT, "count": INT, "finished": INT, "complete": BOOL}),
    "MyRound": obj({"id": INT, "name": STR, "status": STR, "status_label": STR, "results_released": BOOL,
                    "progress": obj({"plan": arr(ANY_OBJ), "current": N_INT, "next": N_STR, "index": INT,
                                     "count": INT, "finished": INT, "complete": BOOL, "remaining_seconds": NUM,
                                     "ticking": BOOL}),
                    "step": {"type": "string", "enum": ["continue", "start", "next", "complete", "ended", "wait",
                                                        "not_open", "paused"]},
                    "step_label": STR, "can_go_on": BOOL, "next": nullable(ref("NextAction"))},
                   description="考生本人的考试：第 index / count 题、本场剩余时间和下一步（不含任何分数）。"),
    "LiveBoard": obj({"round": ref("Round"), "candidates": arr(obj(
        {"user_id": INT, "username": STR, "display_name": STR, "joined": BOOL, "extra_seconds": INT,
         "finished": INT, "total": INT, "current": nullable(ANY_OBJ), "hard_fails": arr(ANY_OBJ)}))}),
    "Results": obj({"round": INT, "name": STR, "status": STR, "released": BOOL, "complete": BOOL,
                    "rows": arr(obj({"username": STR, "display_name": STR, "scenario": STR,
                                     "scenario_title": STR, "version": INT,
                                     "drill": N_INT, "complete": BOOL, "status": STR, "auto_total": N_NUM,
                                     "total": N_NUM, "hard_fail": nullable(BOOL), "dimensions": ANY_OBJ},
                                    {"adjustments": arr(ANY_OBJ)}))},
                   {"candidates": arr(obj({"username": STR, "display_name": STR, "scenarios": INT, "finished": INT,
                                           "auto_total": NUM, "total": NUM, "max_total": NUM, "average": N_NUM,
                                           "hard_fails": INT, "adjustments": arr(ANY_OBJ)}))}),
    "Adjusted": obj({"total": NUM, "auto_total": NUM, "adjustments": arr(obj(
        {"check": STR, "from": NUM, "to": NUM, "comment": STR, "by": STR, "at": TIME}))}),
    "Events": obj({"drill": INT, "events": arr(obj({"id": INT, "t": NUM, "type": STR, "contact": N_STR,
                                                    "data": ANY_OBJ}))}),
    "Preview": obj({"html": STR}),
}

BODIES: dict[str, dict] = {
    "RoundNew": obj({"name": STR, "scenarios": arr(STR)},
                    {"shuffle": BOOL, "time_per_scenario": N_INT, "opens_at": N_STR, "closes_at": N_STR}),
    "RosterAdd": obj({}, {"usernames": arr(STR), "csv": STR}),
    "JoinCode": obj({"code": STR}),
    "Extend": obj({"user": {"oneOf": [STR, INT]}, "seconds": INT}),
    "FaultNew": obj({"component": {"type": "string", "enum": ["bot", "kb", "lookup"]}},
                    {"user": {"oneOf": [STR, INT]}, "start_in": INT, "duration": INT, "message": STR}),
    "Adjustment": obj({"check": STR, "points": NUM, "comment": STR}),
    "PreviewBody": obj({"markdown": STR}),
    "ScenarioUpload": obj({"yaml": {"type": "string", "description": "场景文件全文（YAML，不允许锚点与别名）"}},
                          {"file": {"type": "string", "description": "文件名（只用于错误信息）"}}),
    "PasswordChange": obj({"old_password": STR, "new_password": STR}),
    "DrillStart": obj({"scenario": {"type": "string", "example": "cc-bill-enquiry"}},
                      {"mode": {"type": "string", "enum": ["practice", "exam"], "default": "practice"}}),
    "Text": obj({"text": STR}),
    "ConversationOpen": obj({"customer_id": {"type": "string", "example": "C001"}},
                            {"channel": {"type": "string", "enum": ["文字", "语音"], "default": "文字"}}),
    "Verify": obj({"method": {"type": "string", "enum": ["id_phone", "sms"]}},
                  {"name": STR, "id_last6": STR, "phone_last4": STR, "code": STR}),
    "Reveal": obj({"field": {"type": "string", "enum": ["id_number", "phone", "card", "account"]}},
                  {"ref": {"type": "string", "example": "K1"}}),
    "Suggestion": obj({"article": {"type": "string", "example": "CC-001"}}),
    "WorkOrderNew": obj({"category": STR, "title": STR},
                        {"type": STR, "priority": STR, "queue": STR, "description": STR, "customer_id": STR,
                         "customer_name": STR, "conversation_id": INT, "expected_callback_at": TIME}),
    "WorkOrderChange": obj(optional={"type": STR, "category": STR, "priority": STR, "queue": STR, "title": STR,
                                     "description": STR, "expected_callback_at": TIME, "customer_id": STR,
                                     "customer_name": STR, "note": STR}),
    "TransitionRequest": obj({"to": STR}, {"assignee": STR, "note": STR, "resolution_note": STR}),
    "Note": obj({"text": STR}, {"visibility": STR}),
    "FollowUp": obj({"contact_result": STR}, {"satisfaction": STR, "note": STR}),
    "Waiting": obj({"waiting": BOOL}, {"note": STR}),
    "HandoffNew": obj({"summary": obj({"intent": STR, "request": STR},
                                      {"actions_taken": STR, "verification_status": STR, "mood": STR})},
                      {"queue": STR}),
    "Callback": obj(optional={"type": STR, "priority": STR, "expected_callback_at": TIME, "note": STR}),
}

ERROR_TEXT = {
    400: ("请求有误（malformed_json、字段缺失或取值非法等）。带 JSON 请求体的接口都可能答："
          "json_too_deep（JSON 嵌套超过 32 层）、invalid_text（文本含空字符 NUL 或不成对的 Unicode 代理项）；"
          "上传与导入另有：scenario_invalid、yaml_alias（YAML 锚点/别名）、yaml_too_deep、yaml_too_many_nodes、"
          "file_too_large、field_too_long（CSV 字段过长）、invalid_csv、too_many_rows"),
    401: "未登录或令牌无效（unauthenticated）",
    403: "角色无权访问，或不是本人的资源（forbidden 等）",
    404: "资源不存在（not_found 等）",
    409: "与当前状态冲突（drill_expired、illegal_transition 等）",
    413: "请求体过大（payload_too_large；录音超过大小上限为 recording_too_large）",
    415: "录音格式不受支持，或文件内容与声明的格式不符（bad_recording_type，带 allowed）",
    422: "录音超过时长上限（recording_too_long）",
    429: "尝试过多（too_many_attempts / verification_locked / verification_throttled / "
         "password_check_throttled，带 retry_after 秒数）",
    503: "服务暂不可用：演练中被注入的故障，或数据库暂时不可达（service_unavailable / database_unavailable）；"
         "服务器语音合成不可用（tts_unavailable / tts_timeout / tts_failed）",
}

# --------------------------------------------------------------------------- operations

AUTH = [{"bearerAuth": []}, {"cookieAuth": []}]
AUTH_WRITE = [{"bearerAuth": []}, {"cookieAuth": [], "csrfToken": []}]
ID = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}  # bigger ids answer 404
CONV = {"name": "conversation_id", "in": "path", "required": True, "schema": ID}
REF = {"name": "ref", "in": "path", "required": True,
       "schema": {"type": "string"}, "description": "本会话内的引用（账户 A1…、卡片 K1…）"}
DRILL = {"name": "drill_id", "in": "path", "required": True, "schema": ID}
NUMBER = {"name": "number", "in": "path", "required": True,
          "schema": {"type": "string"}, "description": "工单号，如 WO20261128-0001"}
HANDOFF = {"name": "handoff_id", "in": "path", "required": True, "schema": ID}
ROUND = {"name": "round_id", "in": "path", "required": True, "schema": ID}
FAULT = {"name": "fault_id", "in": "path", "required": True, "schema": ID}
SEQ = {"name": "seq", "in": "path", "required": True, "schema": ID, "description": "消息在会话内的序号"}


def q(name: str, schema: dict, description: str = "") -> dict:
    p = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        p["description"] = description
    return p


def op(summary: str, tag: str, roles: str, ok: int, schema: dict, errors: tuple[int, ...],
       params: list[dict] | None = None, body: str | None = None, write: bool = False,
       public_: bool = False, op_id: str = "") -> dict:
    """One operation: its success shape, the error statuses it can answer, auth and inputs."""
    o: dict[str, Any] = {"operationId": op_id, "summary": summary, "tags": [tag],
                         "description": f"角色：{roles}", "responses": {}}
    o["responses"][str(ok)] = {"description": "成功", "content": {JSON: {"schema": schema}}}
    statuses = set(errors) | {503}
    if not public_:
        statuses |= {401, 403}
    if body:
        statuses |= {400, 413}
        o["requestBody"] = {"required": True, "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
    for status in sorted(statuses):
        o["responses"][str(status)] = {"$ref": f"#/components/responses/E{status}"}
    if params:
        o["parameters"] = params
    o["security"] = [] if public_ else (AUTH_WRITE if write or body else AUTH)
    return o


def file_op(o: dict, content_type: str, description: str) -> dict:
    """Operation ``o`` answering a file of ``content_type`` instead of JSON."""
    o["responses"]["200"] = {"description": description,
                             "content": {content_type: {"schema": {"type": "string", "format": "binary"}}}}
    return o


ALL = "任何登录用户"
CEA = "考生（仅本人）、考官、管理员"
EA = "考官、管理员"
# Conversation-scoped calls: ownership (403), unknown ids (404), expired drill (409),
# locked verification (429) and injected faults (503).
CONV_ERR = (400, 404, 409, 429)


EXPORT_NOTE = ("CSV（UTF-8 带 BOM）或 XLSX 文件（工作表“成绩”与“考生汇总”，含调分说明和考生总分）；"
               "可能被当作公式的文本单元格在 CSV 中加前缀 '，在 XLSX 中存为文本。")


def paths() -> dict[str, dict]:
    P = "/api/v1"
    conv = f"{P}/conversations/{{conversation_id}}"
    return {
        f"{P}/openapi.json": {"get": op("本文档（OpenAPI 3.0）", "meta", "公开", 200, ANY_OBJ, (), public_=True,
                                        op_id="openapi")},
        f"{P}/health": {"get": op("健康检查", "meta", "公开", 200, ref("Health"), (), public_=True, op_id="health")},
        f"{P}/me": {"get": op("当前用户", "account", ALL, 200, ref("Me"), (), op_id="me")},
        f"{P}/me/password": {"post": op("修改本人密码（原密码校验限频；成功后结束本人全部会话和 API 令牌，"
                                        "浏览器会话以新会话继续）", "account", ALL, 200, ref("PasswordChanged"), (400, 429),
                                        body="PasswordChange", op_id="change_password")},
        f"{P}/scenarios": {"get": op("可演练的场景（不含答案）", "drills", ALL, 200, arr(ref("ScenarioSummary")), (),
                                     op_id="scenarios_list")},
        f"{P}/drills": {"post": op("开始一次演练（考生不能练习本人尚未结束的考试中的场景：403 scenario_reserved_for_exam）",
                                   "drills", "考生（仅练习模式）、考官、培训师、管理员", 201,
                                   ref("Drill"), (400, 404), body="DrillStart", op_id="drills_start")},
        f"{P}/drills/{{drill_id}}": {"get": op("演练状态（服务器倒计时）", "drills", "本人或考官、管理员", 200,
                                               ref("Drill"), (404,), [DRILL], op_id="drills_get")},
        f"{P}/drills/{{drill_id}}/finish": {"post": op("交卷并评分", "drills", "本人或考官、管理员", 200, ref("Report"),
                                                        (404, 409), [DRILL], write=True, op_id="drills_finish")},
        f"{P}/drills/{{drill_id}}/report": {"get": op("评分报告", "drills", "本人或考官、管理员", 200, ref("Report"),
                                                       (404, 409), [DRILL], op_id="drills_report")},
        f"{P}/drills/{{drill_id}}/compliance": {"post": op("输入时的合规提示（仅练习模式）", "drills", "本人", 200,
                                                            ref("Findings"), (404, 409), [DRILL], body="Text",
                                                            op_id="drills_compliance")},
        f"{conv}/messages": {
            "get": op("会话消息（轮询）", "conversations", "本人或考官、管理员", 200, ref("MessageList"), CONV_ERR,
                      [CONV, q("after", {"type": "integer", "minimum": 0}, "只返回 seq 大于它的消息")],
                      op_id="messages_list"),
            "post": op("坐席发送消息（模拟客户可能回复）", "conversations", "本人", 201, ref("MessagePosted"), CONV_ERR,
                       [CONV], body="Text", op_id="messages_post")},
        f"{conv}/recognize": {"post": op("语音识别", "conversations", "本人", 200, ref("Recognized"), CONV_ERR, [CONV],
                                         write=True, op_id="messages_recognize")},
        f"{conv}/messages/{{seq}}/speech": {"get": op("客户语音的原话与播放方式（仅演练中语音渠道的客户消息）",
                                                      "conversations", "本人或考官、管理员", 200, ref("Speech"),
                                                      CONV_ERR, [CONV, SEQ], op_id="message_speech")},
        f"{conv}/messages/{{seq}}/audio": {"get": file_op(
            op("客户语音的 WAV 音频（服务器 espeak-ng 合成；未安装时 503 tts_unavailable）", "conversations",
               "本人或考官、管理员", 200, ANY_OBJ, CONV_ERR, [CONV, SEQ], op_id="message_audio"),
            "audio/wav", "WAV 音频")},
        f"{conv}/assist": {"get": op("智能识别：意图与推荐文章", "conversations", "本人或考官、管理员", 200,
                                     ref("Assist"), CONV_ERR, [CONV], op_id="drill_assist")},
        f"{conv}/suggestions/use": {"post": op("采用推荐文章作为草稿", "conversations", "本人", 200, ref("Draft"),
                                               CONV_ERR, [CONV], body="Suggestion", op_id="drill_use_suggestion")},
        f"{P}/conversations": {"post": op("开一个自由练习会话", "bank", ALL, 201, ref("Conversation"), (404,),
                                          body="ConversationOpen", op_id="open_conversation")},
        conv: {"get": op("会话与身份核验状态", "bank", "本人或考官、管理员", 200, ref("Conversation"), CONV_ERR, [CONV],
                         op_id="conversation")},
        f"{conv}/close": {"post": op("结束会话", "bank", "本人", 200, ref("Conversation"), CONV_ERR, [CONV],
                                     write=True, op_id="close_conversation")},
        f"{conv}/identity/sms": {"post": op("发送短信验证码到客户手机", "bank", "本人", 200, ref("SmsSent"), CONV_ERR,
                                            [CONV], write=True, op_id="identity_sms")},
        f"{conv}/identity/verify": {"post": op("身份核验（本会话三次失败锁定；同一坐席对同一客户 15 分钟内累计失败三次"
                                               "暂停 15 分钟）", "bank", "本人", 200, ref("VerifyResult"),
                                               CONV_ERR, [CONV], body="Verify", op_id="identity_verify")},
        f"{conv}/identity/confirm": {"post": op("客户在自己的手机上确认验证短信（客户一方；验证码不经过坐席）", "bank",
                                                "练习会话发起人或考官、管理员", 200, ref("VerifyResult"), CONV_ERR, [CONV],
                                                write=True, op_id="identity_confirm")},
        f"{conv}/phone": {"get": op("客户手机收到的短信（练习会话）", "bank", "本人或考官、管理员", 200, ref("Phone"),
                                    CONV_ERR, [CONV], op_id="phone")},
        f"{conv}/customer": {"get": op("客户资料（核验后，脱敏）", "bank", "本人", 200, ref("CustomerProfile"),
                                       CONV_ERR, [CONV], op_id="customer_profile")},
        f"{conv}/accounts": {"get": op("账户列表（核验后）", "bank", "本人", 200, ref("Accounts"), CONV_ERR, [CONV],
                                       op_id="accounts")},
        f"{conv}/accounts/{{ref}}/transactions": {"get": op(
            "账户交易明细", "bank", "本人", 200, ref("Transactions"), CONV_ERR,
            [CONV, REF, q("from", {"type": "string", "example": "2026-11-01"}, "起始日期 YYYY-MM-DD"),
             q("to", {"type": "string", "example": "2026-11-30"}, "结束日期 YYYY-MM-DD")],
            op_id="account_transactions")},
        f"{conv}/accounts/{{ref}}/freeze": {"post": op("账户临时挂失", "bank", "本人", 200, ref("FreezeResult"),
                                                        CONV_ERR, [CONV, REF], write=True, op_id="account_freeze")},
        f"{conv}/accounts/{{ref}}/unfreeze": {"post": op("解除挂失（客服渠道不可办，答 409）", "bank", "本人", 200,
                                                          ref("FreezeResult"), CONV_ERR, [CONV, REF], write=True,
                                                          op_id="account_unfreeze")},
        f"{conv}/cards": {"get": op("信用卡列表（核验后）", "bank", "本人", 200, ref("Cards"), CONV_ERR, [CONV],
                                    op_id="cards")},
        f"{conv}/workorders": {"get": op("客户的工单记录（核验后，闭环跟进用；演练中记为 lookup.workorders）", "bank",
                                         CEA, 200, ref("WorkOrderList"), CONV_ERR, [CONV],
                                         op_id="conversation_workorders")},
        f"{conv}/cards/{{ref}}": {"get": op("信用卡状态", "bank", "本人", 200, ref("CardStatus"), CONV_ERR,
                                            [CONV, REF], op_id="card_status")},
        f"{conv}/cards/{{ref}}/bill": {"get": op("信用卡本期账单", "bank", "本人", 200, ref("Bill"), CONV_ERR,
                                                 [CONV, REF], op_id="card_bill")},
        f"{conv}/cards/{{ref}}/freeze": {"post": op("信用卡临时挂失", "bank", "本人", 200, ref("FreezeResult"),
                                                     CONV_ERR, [CONV, REF], write=True, op_id="card_freeze")},
        f"{conv}/cards/{{ref}}/unfreeze": {"post": op("信用卡解除挂失（客服渠道不可办，答 409）", "bank", "本人", 200,
                                                       ref("FreezeResult"), CONV_ERR, [CONV, REF], write=True,
                                                       op_id="card_unfreeze")},
        f"{P}/bank/customers": {"get": op("模拟银行客户（脱敏；考官可见 magic 标记）", "bank", ALL, 200,
                                          ref("Customers"), (), op_id="bank_customers")},
        f"{P}/bank/customers/{{customer_id}}/reveal": {"post": op(
            "查看一项完整信息（留审计）", "bank", EA, 200, ref("Reveal"), (404,),
            [{"name": "customer_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            body="Reveal", op_id="bank_reveal")},
        f"{P}/kb/search": {"get": op("知识库检索", "kb", ALL, 200, ref("KbSearch"), (404, 409), [
            q("q", {"type": "string"}, "查询（可为空；畸形输入不报错）"), q("category", {"type": "string"}),
            q("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}),
            q("page", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1}),
            q("status", {"type": "string", "enum": ["all"]}, "all：含未发布文章（培训师、管理员）"),
            q("conversation", {"type": "integer"}, "在演练会话中检索时给出，记入事件日志")], op_id="kb_search")},
        f"{P}/kb/articles/{{external_id}}": {"get": op(
            "知识库文章", "kb", ALL, 200, ref("KbArticle"), (404, 409),
            [{"name": "external_id", "in": "path", "required": True, "schema": {"type": "string"}},
             q("status", {"type": "string", "enum": ["all"]}), q("conversation", {"type": "integer"})],
            op_id="kb_article")},
        f"{P}/workorders/meta": {"get": op("工单词表、状态迁移表与 SLA 表", "workorders", CEA, 200,
                                           ref("WorkOrderMeta"), (), op_id="workorders_meta")},
        f"{P}/workorders": {
            "get": op("工单列表（考生只见本人）", "workorders", CEA, 200, ref("WorkOrderList"), (400,), [
                q("queue", STR), q("status", STR), q("type", STR), q("priority", STR),
                q("overdue", {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no"]}),
                q("conversation_id", {"type": "integer", "minimum": 1}),
                q("limit", {"type": "integer", "minimum": 1})], op_id="workorders_list"),
            "post": op("创建工单", "workorders", CEA, 201, ref("WorkOrder"), (400, 404, 409), body="WorkOrderNew",
                       op_id="workorders_create")},
        f"{P}/workorders/{{number}}": {
            "get": op("工单详情与历史", "workorders", CEA, 200, ref("WorkOrder"), (404,), [NUMBER],
                      op_id="workorders_get"),
            "patch": op("修改工单描述字段", "workorders", CEA, 200, ref("WorkOrder"), (404, 409), [NUMBER],
                        body="WorkOrderChange", op_id="workorders_update")},
        f"{P}/workorders/{{number}}/transitions": {"post": op(
            "状态迁移（非法迁移答 409）", "workorders", CEA, 200, ref("WorkOrder"), (404, 409), [NUMBER],
            body="TransitionRequest", op_id="workorders_transition")},
        f"{P}/workorders/{{number}}/notes": {"post": op("添加备注", "workorders", CEA, 201, ref("WorkOrder"),
                                                          (404, 409), [NUMBER], body="Note", op_id="workorders_note")},
        f"{P}/workorders/{{number}}/follow-ups": {"post": op(
            "回访（不满意则重开）", "workorders", CEA, 200, ref("WorkOrder"), (404, 409), [NUMBER], body="FollowUp",
            op_id="workorders_follow_up")},
        f"{P}/workorders/{{number}}/waiting": {"post": op(
            "等待客户（暂停/恢复 SLA 计时）", "workorders", CEA, 200, ref("WorkOrder"), (404, 409), [NUMBER],
            body="Waiting", op_id="workorders_waiting")},
        f"{conv}/handoff": {"post": op("转人工（带小结）", "handoff", CEA, 201, ref("Handoff"), CONV_ERR, [CONV],
                                       body="HandoffNew", op_id="conversation_handoff")},
        f"{P}/handoffs": {"get": op("人工坐席队列", "handoff", EA, 200, ref("HandoffQueue"), (),
                                    op_id="handoff_queue")},
        f"{P}/handoffs/{{handoff_id}}": {"get": op("转人工详情", "handoff", CEA, 200, ref("Handoff"), (404,),
                                                    [HANDOFF], op_id="handoff_get")},
        f"{P}/handoffs/{{handoff_id}}/accept": {"post": op("接起转人工", "handoff", EA, 200, ref("Handoff"),
                                                            (404, 409), [HANDOFF], write=True,
                                                            op_id="handoff_accept")},
        f"{P}/handoffs/{{handoff_id}}/messages": {"post": op("人工坐席发消息", "handoff", EA, 201, ref("Handoff"),
                                                              (404, 409), [HANDOFF], body="Text",
                                                              op_id="handoff_messages")},
        f"{P}/handoffs/{{handoff_id}}/callback": {"post": op(
            "超时未接：登记留言回电工单", "handoff", CEA, 201, ref("WorkOrder"), (404, 409), [HANDOFF],
            body="Callback", op_id="handoff_callback")},
        **round_paths(P),
        **interview_paths(P),
        **followup_paths(P),
        f"{P}/drills/{{drill_id}}/adjustments": {"post": op(
            "考官调整评分项（必须填写理由；自动分与最终分都保留）", "rounds", EA, 200, ref("Adjusted"), (404, 409),
            [DRILL], body="Adjustment", op_id="drills_adjust")},
        f"{P}/drills/{{drill_id}}/events": {"get": op(
            "演练事件日志（回放）：考官随时、考生在成绩发布后", "drills", "本人或考官、管理员", 200, ref("Events"),
            (404,), [DRILL], op_id="drills_events")},
        f"{P}/trainer/preview": {"post": op("文章 Markdown 的净化预览", "trainer", "培训师、管理员", 200,
                                            ref("Preview"), (), body="PreviewBody", op_id="trainer_preview")},
        f"{P}/trainer/scenarios": {"post": op(
            "上传或修改场景（先校验后保存；改动的内容成为新版本）", "trainer", "培训师、管理员", 200,
            ref("ScenarioSaved"), (), body="ScenarioUpload", op_id="trainer_scenario_upload")},
    }


AUDIO_TYPES = ("audio/webm", "audio/ogg", "audio/mp4", "audio/wav", "audio/x-wav", "audio/mpeg")
RECORDING = {"name": "recording_id", "in": "path", "required": True, "schema": ID}
QUESTION = {"name": "question_id", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "面试练习题 id，如 self-intro"}
INTERVIEW_SCHEMAS: dict[str, dict] = {
    "Recording": obj({"recording": obj({
        "id": INT, "item": STR, "content_type": STR, "bytes": INT, "duration_s": NUM, "pause_count": INT,
        "longest_pause_s": NUM, "url": STR}, {"drill_id": N_INT, "practice_id": N_INT, "created_at": TIME})}),
    "InterviewQuestions": obj({"categories": arr(STR),
                               "questions": arr(obj({"id": STR, "category": STR, "question": STR,
                                                     "time_limit": INT, "countdown": BOOL})),
                               "transcriber": obj({"available": BOOL, "name": STR, "note": N_STR}),
                               "limits": obj({"max_seconds": INT, "max_bytes": INT})}),
    "InterviewAttempt": obj({"attempt": obj({
        "id": INT, "question": STR, "answer": STR, "elapsed_seconds": N_INT, "recording_id": N_INT,
        "coverage": arr(obj({"id": STR, "text": STR, "covered": BOOL, "evidence": N_STR})),
        "covered": INT, "total": INT, "model_answer": STR, "created_at": TIME,
        "recording": nullable(ANY_OBJ)})}),
    "FollowUps": obj({"drill": INT, "enabled": BOOL, "items": arr(ANY_OBJ), "count": INT},
                     {"answered": INT, "marked": INT, "in_round": BOOL, "total": {"type": "number", "nullable": True},
                      "max_total": {"type": "number", "nullable": True}, "pending": INT, "dimensions": ANY_OBJ}),
    "FollowUpItem": obj({"item": ANY_OBJ}),
    "FollowUpAnswer": obj({"text": {"type": "string", "maxLength": 2000}},
                          {"elapsed_seconds": {"type": "number", "minimum": 0, "nullable": True}}),
    "FollowUpMarks": obj({"marks": {"type": "object", "additionalProperties": BOOL}},
                         {"comment": {"type": "string", "maxLength": 500}}),
    "InterviewAnswer": obj(optional={"answer": STR, "recording_id": N_INT,
                                     "elapsed_seconds": {"type": "number", "minimum": 0, "nullable": True}}),
    "RecordingUpload": obj({"file": {"type": "string", "format": "binary",
                                     "description": "录音文件（audio/webm、ogg、mp4、wav、mpeg；须与文件头相符）"},
                            "duration_ms": INT, "item": {"type": "string", "maxLength": 80}},
                           {"pause_count": INT, "longest_pause_ms": INT, "drill_id": INT, "practice_id": INT}),
}


FOLLOWUP = {"name": "followup_id", "in": "path", "required": True, "schema": {"type": "string"}}


def followup_paths(P: str) -> dict[str, dict]:
    """追问 after a drill: the items, the candidate's answers and the examiner's marks."""
    return {
        f"{P}/drills/{{drill_id}}/followups": {"get": op(
            "演练的追问（要点、参考答案在可见时才给出）", "drills", "本人或员工", 200, ref("FollowUps"), (404,), [DRILL],
            op_id="followups_list")},
        f"{P}/drills/{{drill_id}}/followups/{{followup_id}}/answer": {"post": op(
            "回答一道追问（交卷后）", "drills", "演练本人", 200, ref("FollowUpItem"), (404, 409), [DRILL, FOLLOWUP],
            body="FollowUpAnswer", op_id="followups_answer")},
        f"{P}/drills/{{drill_id}}/followups/{{followup_id}}/marks": {"post": op(
            "考官按要点评阅一道追问", "drills", "考官、管理员", 200, ref("FollowUpItem"), (404, 409), [DRILL, FOLLOWUP],
            body="FollowUpMarks", op_id="followups_mark")},
    }


def interview_paths(P: str) -> dict[str, dict]:
    """Recordings of spoken answers and the interview practice bank."""
    upload = op("上传一段录音作答（multipart；大小与时长有上限；给 drill_id 或 practice_id，都不给时为练习录音，"
                "提交作答时关联）", "interview", ALL, 201, ref("Recording"), (400, 404, 413, 415, 422), write=True,
                op_id="recordings_create")
    upload["requestBody"] = {"required": True, "content": {"multipart/form-data": {
        "schema": ref("RecordingUpload")}}}
    audio = op("录音音频（支持 Range 请求；Cache-Control: private）", "interview", "本人；演练的录音考官、管理员也可",
               200, ANY_OBJ, (404,), [RECORDING], op_id="recordings_audio")
    audio["responses"]["200"] = {"description": "录音文件", "content": {
        t: {"schema": {"type": "string", "format": "binary"}} for t in AUDIO_TYPES}}
    return {
        f"{P}/recordings": {"post": upload},
        f"{P}/recordings/{{recording_id}}": {"get": op(
            "录音信息", "interview", "本人；演练的录音考官、管理员也可；其他人 404", 200, ref("Recording"), (404,),
            [RECORDING], op_id="recordings_get")},
        f"{P}/recordings/{{recording_id}}/audio": {"get": audio},
        f"{P}/interview/questions": {"get": op("面试练习题（不含要点与参考回答）", "interview", ALL, 200,
                                               ref("InterviewQuestions"), (400,), op_id="interview_questions")},
        f"{P}/interview/questions/{{question_id}}/attempts": {"post": op(
            "提交一次面试练习作答，返回要点核对（✔/✘ 与依据句）、参考回答和录音", "interview", ALL, 201,
            ref("InterviewAttempt"), (404,), [QUESTION], body="InterviewAnswer", op_id="interview_attempt")},
    }


def round_paths(P: str) -> dict[str, dict]:
    r = f"{P}/rounds/{{round_id}}"

    def control(summary: str, name: str) -> dict:
        return {"post": op(summary, "rounds", EA, 200, ref("Round"), (404, 409), [ROUND], write=True, op_id=name)}

    return {
        f"{P}/rounds": {
            "get": op("考试场次（考官看全部；考生看自己参加的）", "rounds", ALL, 200,
                      arr({"oneOf": [ref("Round"), ref("RoundForCandidate")]}), (), op_id="rounds_list"),
            "post": op("创建考试（固定场景版本与知识库）", "rounds", EA, 201, ref("Round"), (), body="RoundNew",
                       op_id="rounds_create")},
        f"{P}/rounds/join": {"post": op("考生用加入码加入考试", "rounds", "考生", 200, ref("RoundJoined"), (404, 409),
                                        body="JoinCode", op_id="rounds_join")},
        r: {"get": op("考试详情", "rounds", EA, 200, ref("Round"), (404,), [ROUND], op_id="rounds_get")},
        f"{r}/candidates": {"post": op("加入考生（用户名列表或 CSV，全部成功或全部不加）", "rounds", EA, 200,
                                       ref("Roster"), (404, 409), [ROUND], body="RosterAdd",
                                       op_id="rounds_add_candidates")},
        f"{r}/start": control("开始考试：同时为名单上每位考生备好第一题（抽取客户、建立会话，计时未开始、考生不可见），"
                              "考生点“开始作答”时只需开始计时；每位考生约需数毫秒，200 人约 2–5 秒", "rounds_start"),
        f"{r}/pause": control("全体暂停（所有人的计时停止）", "rounds_pause"),
        f"{r}/resume": control("继续计时", "rounds_resume"),
        f"{r}/end": control("结束考试（未交卷的演练自动收卷）", "rounds_end"),
        f"{r}/release": control("发布成绩", "rounds_release"),
        f"{r}/extend": {"post": op("为一名考生延时（当前与之后的题目）", "rounds", EA, 200, ref("Extended"),
                                   (404, 409), [ROUND], body="Extend", op_id="rounds_extend")},
        f"{r}/live": {"get": op("实时监控", "rounds", EA, 200, ref("LiveBoard"), (404,), [ROUND],
                                op_id="rounds_live")},
        f"{r}/faults": {"post": op("注入故障（全体或一名考生；立即或稍后）", "rounds", EA, 201, ref("RoundFault"),
                                   (404, 409), [ROUND], body="FaultNew", op_id="rounds_inject_fault")},
        f"{r}/faults/{{fault_id}}/restore": {"post": op("恢复服务", "rounds", EA, 200, ref("RoundFault"), (404,),
                                                        [ROUND, FAULT], write=True, op_id="rounds_restore_fault")},
        f"{r}/progress": {"get": op("考生本人的作答进度", "rounds", "考生（名单内）", 200, ref("Progress"), (404,),
                                    [ROUND], op_id="rounds_progress")},
        f"{r}/me": {"get": op("考生本人的考试：进度（第几题/共几题、剩余时间）与下一步 next", "rounds", "考生（名单内）",
                              200, ref("MyRound"), (404,), [ROUND], op_id="rounds_me")},
        f"{r}/next": {"post": op("开始（或继续）下一题：考试模式演练；题目顺序由服务器决定，不能跳题或重做",
                                 "rounds", "考生（名单内）", 201, ref("Drill"),
                                 (404, 409), [ROUND], write=True, op_id="rounds_next")},
        f"{r}/results": {"get": op("成绩（每位考生每个场景一行，未完成的标明）", "rounds", EA, 200, ref("Results"),
                                   (404,), [ROUND], op_id="rounds_results")},
        f"{r}/export": {"get": {**op("导出成绩", "rounds", EA, 200, ANY_OBJ, (404,),
                                     [ROUND, q("format", {"type": "string", "enum": ["csv", "xlsx"]})],
                                     op_id="rounds_export"),
                                "responses": {**op("导出成绩", "rounds", EA, 200, ANY_OBJ, (404,))["responses"],
                                              "200": {"description": EXPORT_NOTE, "content": {
                                                  "text/csv": {"schema": {"type": "string"}},
                                                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                                                      {"schema": {"type": "string", "format": "binary"}}}}}}},
    }


def build_document() -> dict[str, Any]:
    schemas = {**SCHEMAS, **ROUND_SCHEMAS, **BODIES, **INTERVIEW_SCHEMAS}
    responses = {f"E{status}": {"description": text, "content": {JSON: {"schema": ref("Error")}}}
                 for status, text in ERROR_TEXT.items()}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "bankdrill API（银行智能客服实操演练沙箱）", "version": __version__,
            "description": ("JSON API。认证：`Authorization: Bearer <令牌>`（`bankdrill users token NAME`），"
                            "或浏览器会话 cookie；会话方式的写请求须带页面的 CSRF 令牌（`X-CSRFToken`）。"
                            "错误一律为 `{\"error\": {\"code\", \"message\"}}`。"),
        },
        "paths": paths(),
        "components": {
            "schemas": schemas,
            "responses": responses,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "API 令牌（哈希存储）"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "bankdrill_session",
                               "description": "登录页建立的浏览器会话"},
                "csrfToken": {"type": "apiKey", "in": "header", "name": "X-CSRFToken",
                              "description": "会话方式的写请求须带页面的 CSRF 令牌"},
            },
        },
        "tags": [{"name": n} for n in ("meta", "account", "drills", "conversations", "bank", "kb", "workorders",
                                       "handoff", "rounds", "trainer", "interview")],
    }


@lru_cache(maxsize=1)
def document_bytes() -> bytes:
    return json.dumps(build_document(), ensure_ascii=False, sort_keys=False).encode("utf-8")


@bp.get("/openapi.json")
@public
def openapi():
    """The OpenAPI description of this API (public: it holds no data)."""
    return Response(document_bytes(), mimetype="application/json")
