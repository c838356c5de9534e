"""Hostile input, through the real app (issue 15, items 1, 10, 12 and 13).

* A YAML alias bomb (and every other refused file) answers fast, with a Chinese error and
  its line, on every import path, and is parsed before any write lock is taken.
* Scenario templates only substitute plain ``{fact}`` placeholders.
* Deep JSON, lone surrogates, NUL characters and over-long CSV fields answer 400 with
  their own error codes instead of 500s, and write nothing.
* A work order may only name a conversation that exists and that its creator may act in.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import zipfile

import pytest
from sqlalchemy import func, select

from knowledge_base import transfer
from knowledge_base.models import Article
from sandbox.drill.facts import fill
from sandbox.drill.models import ScenarioVersion
from sandbox.drill.scenario import store
from sandbox.drill.scenario.errors import ScenarioInvalid
from sandbox.drill.scenario.files import seeded_scenarios_dir
from sandbox.drill.scenario.parse import parse_scenario
from sandbox.exam.models import RoundCandidate
from tests.trainer.helpers import form_data
from workorders.models import WorkOrder

SCENARIO = (seeded_scenarios_dir() / "cc-bill-enquiry.yaml").read_text(encoding="utf-8")


def alias_bomb(levels: int = 8, width: int = 9) -> str:
    """The attack run's file: eight levels of nine aliases (9**8 = 43 million leaves once expanded)."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join(f"*a{i - 1}" for _ in range(width)) + "]")
    return "\n".join(lines) + "\n"


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _count(runtime, column) -> int:
    with runtime.transaction() as s:
        return s.scalar(select(func.count(column)))


# --------------------------------------------------------------------------- item 1: YAML bombs


def test_the_alias_bomb_is_refused_within_a_second_on_the_page_and_the_api(login_as, api, runtime):
    bomb = alias_bomb()
    versions = _count(runtime, ScenarioVersion.id)
    trainer = login_as("trainer")
    started = time.perf_counter()
    page = trainer.post("/trainer/scenarios/edit", data={"yaml_text": bomb})
    assert time.perf_counter() - started < 1.0
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and "锚点或别名" in html and "第 1 行" in html
    started = time.perf_counter()
    upload = trainer.post("/trainer/scenarios/edit", data={"yaml_file": (io.BytesIO(bomb.encode()), "bomb.yaml")},
                          content_type="multipart/form-data")
    assert time.perf_counter() - started < 1.0 and upload.status_code == 400
    started = time.perf_counter()
    resp = api("trainer").post("/api/v1/trainer/scenarios", json={"yaml": bomb, "file": "bomb.yaml"})
    assert time.perf_counter() - started < 1.0
    error = resp.get_json()["error"]
    assert resp.status_code == 400 and error["code"] == "yaml_alias"
    assert error["errors"][0]["line"] == 1 and "锚点或别名" in error["errors"][0]["message"]
    assert _count(runtime, ScenarioVersion.id) == versions


@pytest.mark.parametrize("path", ["page", "api"])
def test_an_upload_is_parsed_without_the_write_lock_so_other_writers_go_on(login_as, api, runtime,
                                                                             monkeypatch, path):
    """While the upload is being parsed, another user's write completes (it would wait on the lock)."""
    real_parse = store.parse_scenario
    other_writer = api("candidate")
    seen: dict = {}

    def parse_while_someone_writes(*args, **kwargs):
        gate = getattr(runtime.engine, "sqlite_writer_gate", None)
        seen["gate_free"] = gate is None or not gate.lock.locked()
        result = {}
        writer = threading.Thread(target=lambda: result.update(resp=other_writer.post(
            "/api/v1/workorders", json={"category": "信用卡", "title": "上传期间的写入"})))
        writer.start()
        writer.join(timeout=10)
        seen["writer_done"] = not writer.is_alive() and result["resp"].status_code == 201
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(store, "parse_scenario", parse_while_someone_writes)
    edited = SCENARIO.replace("time_limit: 480", "time_limit: 540")
    if path == "page":
        resp = login_as("trainer").post("/trainer/scenarios/cc-bill-enquiry/edit", data={"yaml_text": edited})
        assert resp.status_code == 302
    else:
        resp = api("trainer").post("/api/v1/trainer/scenarios", json={"yaml": edited})
        seeded = int(re.search(r"^version: (\d+)", SCENARIO, re.M).group(1))
        assert resp.status_code == 200 and resp.get_json()["version"] == seeded + 1
    assert seen == {"gate_free": True, "writer_done": True}
    assert _count(runtime, WorkOrder.id) == 1


@pytest.mark.parametrize("text,code,line", [
    ("id: x\nbase: &b {a: 1}\nmore: *b\n", "yaml_alias", 2),
    ("id: x\nlist: " + "[" * 40 + "]" * 40 + "\n", "yaml_too_deep", 2),
    ("id: x\nitems: [" + ", ".join(["1"] * 25_000) + "]\n", "yaml_too_many_nodes", 2),
    ("id: x\nbrief: " + "长" * 70_000 + "\n", "file_too_large", None),
])
def test_refused_scenario_files_name_the_code_and_line(api, text, code, line):
    resp = api("trainer").post("/api/v1/trainer/scenarios", json={"yaml": text})
    error = resp.get_json()["error"]
    assert resp.status_code == 400 and error["code"] in (code, "file_too_large"), error
    if code != "file_too_large":
        assert error["code"] == code and error["errors"][0]["line"] == line


def test_the_cli_refuses_the_bomb_with_file_and_line(runner, tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(), encoding="utf-8")
    started = time.perf_counter()
    result = runner.invoke(args=["scenarios", "validate", str(path)])
    assert time.perf_counter() - started < 1.0
    assert result.exit_code != 0 and f"{path}:1" in result.output and "锚点或别名" in result.output


def test_kb_import_refuses_the_bomb_deep_json_and_bad_text_before_writing(login_as, runtime, runner, tmp_path):
    trainer = login_as("trainer")
    articles = _count(runtime, Article.id)
    started = time.perf_counter()
    resp = trainer.post("/trainer/import", data={"file": (io.BytesIO(alias_bomb().encode()), "kb.yaml"), "fmt": ""},
                        content_type="multipart/form-data")
    assert time.perf_counter() - started < 1.0
    page = resp.get_data(as_text=True)
    assert "锚点或别名" in page and "确认导入" not in page
    record = {"id": "HX-1", "title": "标题", "questions": [], "answer": "答案", "category": "借记卡"}
    lines = [json.dumps(record, ensure_ascii=False), "[" * 1000 + "]" * 1000,
             json.dumps({**record, "id": "HX-2", "title": "坏\u0000字"}),
             json.dumps({**record, "id": "HX-3", "title": "坏\ud800字"})]
    rows, errors = transfer.parse("\n".join(lines), "jsonl")
    assert [line for line, _ in rows] == [1]
    assert [(e.line, "嵌套过深" in e.message or "空字符" in e.message or "代理项" in e.message) for e in errors] == \
        [(2, True), (3, True), (4, True)]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = runner.invoke(args=["kb", "import", str(path)])
    assert result.exit_code != 0 and "第 2 行" in result.output and "第 4 行" in result.output
    assert _count(runtime, Article.id) == articles


def _zip_bomb(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_zip_bombs_are_refused_from_the_central_directory(login_as, runtime, runner, tmp_path):
    # 64 MB of zeros deflate to about 64 KB: a ratio no spreadsheet or backup has.
    bomb = _zip_bomb({"[Content_Types].xml": b"<Types/>", "xl/worksheets/sheet1.xml": bytes(64 * 1024 * 1024)})
    rows, errors = transfer.parse_bytes(bomb, "xlsx")
    assert rows == [] and "压缩比异常" in errors[0].message
    resp = login_as("trainer").post("/trainer/import", data={"file": (io.BytesIO(bomb), "kb.xlsx"), "fmt": ""},
                                    content_type="multipart/form-data")
    assert "压缩比异常" in resp.get_data(as_text=True)
    for name, data, message in (
            ("ratio.zip", _zip_bomb({"manifest.json": b"{}", "tables/x.json": bytes(64 * 1024 * 1024)}), "压缩比异常"),
            ("many.zip", _zip_bomb({f"tables/t{i}.json": b"[]" for i in range(600)}), "文件过多")):
        path = tmp_path / name
        path.write_bytes(data)
        started = time.perf_counter()
        result = runner.invoke(args=["restore", str(path), "--yes"])
        assert time.perf_counter() - started < 2.0
        assert result.exit_code == 1 and message in result.output
    assert _count(runtime, Article.id) > 0  # nothing was replaced


# --------------------------------------------------------------------------- item 10: templates


@pytest.mark.parametrize("placeholder", ["{name.__class__.__mro__}", "{name:>3000000}", "{name[0]}", "{name!r}",
                                         "{no_such_fact}", "{", "}"])
def test_only_plain_fact_placeholders_pass_validation(api, placeholder):
    text = SCENARIO.replace("账单金额为{bill_amount}元", f"账单金额为{placeholder}元", 1)
    assert text != SCENARIO
    line = _line_of(text, f"账单金额为{placeholder}元")
    with pytest.raises(ScenarioInvalid) as caught:
        parse_scenario(text, "cc-bill-enquiry.yaml")
    assert any(e.line == line and "占位符" in e.message for e in caught.value.errors), caught.value.errors
    resp = api("trainer").post("/api/v1/trainer/scenarios", json={"yaml": text})
    error = resp.get_json()["error"]
    assert resp.status_code == 400 and error["code"] == "scenario_invalid"
    assert any(e["line"] == line and "占位符" in e["message"] for e in error["errors"])


def test_fill_substitutes_plain_names_only():
    facts = {"name": "张三", "bill_amount": "8632.50"}
    assert fill("您好{name}，账单{bill_amount}元", facts) == "您好张三，账单8632.50元"
    assert fill("{name.__class__.__mro__}", facts) == "{name.__class__.__mro__}"
    assert fill("{name:>3000000}", facts) == "{name:>3000000}"
    assert fill("{{name}} {unknown} {", facts) == "{name} {unknown} {"


def test_a_scenario_with_plain_placeholders_still_fills_them_in_a_drill(api):
    text = SCENARIO.replace("      - 你好，我想问下我这个月信用卡要还多少钱？什么时候要还？",
                            "      - 你好，我是{name}，卡尾号{card_last4}，想问下{{账单}}要还多少钱？")
    assert text != SCENARIO
    saved = api("trainer").post("/api/v1/trainer/scenarios", json={"yaml": text})
    seeded = int(re.search(r"^version: (\d+)", SCENARIO, re.M).group(1))
    assert saved.status_code == 200 and saved.get_json()["version"] == seeded + 1
    drill = api("candidate").post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    conv = drill["conversations"][0]["id"]
    messages = api("candidate").get(f"/api/v1/conversations/{conv}/messages").get_json()["messages"]
    opening = messages[0]["text"]
    assert opening.startswith("你好，我是") and "{name}" not in opening and "{card_last4}" not in opening
    assert "{账单}" in opening and "{{" not in opening


# --------------------------------------------------------------------------- item 12: 400s, not 500s


@pytest.fixture
def targets(api):
    """Real endpoints that take JSON text: a drill message, a work order, the KB preview, a roster."""
    cand, examiner = api("candidate"), api("examiner")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    conv = drill["conversations"][0]["id"]
    rnd = examiner.post("/api/v1/rounds", json={"name": "加固测试", "scenarios": ["cc-bill-enquiry"]}).get_json()
    return [(cand, f"/api/v1/conversations/{conv}/messages", "text"),
            (cand, "/api/v1/workorders", "title"),
            (api("trainer"), "/api/v1/trainer/preview", "markdown"),
            (examiner, f"/api/v1/rounds/{rnd['id']}/candidates", "csv")]


def _raw_post(client, url: str, body: str):
    return client.post(url, data=body.encode("utf-8", "surrogatepass"), headers={"Content-Type": "application/json"})


def test_json_nested_a_thousand_deep_answers_json_too_deep(targets, runtime):
    orders = _count(runtime, WorkOrder.id)
    for client, url, field in targets:
        body = f'{{"{field}": "x", "deep": {"[" * 1000}{"]" * 1000}}}'
        resp = _raw_post(client, url, body)
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "json_too_deep", url
    assert _count(runtime, WorkOrder.id) == orders


@pytest.mark.db
@pytest.mark.parametrize("bad", ["\\ud800", "\\u0000", "a\\udfffb", "x\\u0000y"])
def test_a_lone_surrogate_or_nul_in_any_text_field_answers_invalid_text(targets, runtime, bad):
    orders = _count(runtime, WorkOrder.id)
    for client, url, field in targets:
        resp = _raw_post(client, url, f'{{"category": "信用卡", "{field}": "前{bad}后"}}')
        error = resp.get_json()["error"]
        assert resp.status_code == 400 and error["code"] == "invalid_text" and error["field"] == field, url
        nested = _raw_post(client, url, f'{{"{field}": "ok", "extra": {{"k{bad}": 1}}}}')
        assert nested.status_code == 400 and nested.get_json()["error"]["code"] == "invalid_text", url
    assert _count(runtime, WorkOrder.id) == orders


@pytest.mark.db
def test_nul_in_forms_paths_and_queries_never_reaches_the_database(login_as, api, runtime):
    """On PostgreSQL a NUL in any bound string is a driver error: forms answer 400, paths 404,
    query strings have it removed."""
    articles = _count(runtime, Article.id)
    trainer = login_as("trainer")
    resp = trainer.post("/trainer/articles/new", data=form_data("空字符\x00标题"))
    assert resp.status_code == 400 and "空字符" in resp.get_data(as_text=True)
    assert _count(runtime, Article.id) == articles
    cand = api("candidate")
    resp = cand.get("/api/v1/kb/articles/CC-001%00")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    assert cand.post("/api/v1/workorders", json={"category": "信用卡", "title": "筛选用"}).status_code == 201
    resp = cand.get("/api/v1/workorders", query_string={"queue": "\x00", "status": "新建\x00"})
    assert resp.status_code == 200 and resp.get_json()["count"] == 1
    assert cand.get("/api/v1/kb/search", query_string={"q": "挂失\x00"}).status_code == 200
    assert login_as("candidate").get("/workorders", query_string={"priority": "\x00"}).status_code == 200


def test_a_roster_field_over_131072_characters_answers_field_too_long(api, login_as, runtime):
    examiner = api("examiner")
    rnd = examiner.post("/api/v1/rounds", json={"name": "名单测试", "scenarios": ["cc-bill-enquiry"]}).get_json()
    before = _count(runtime, RoundCandidate.id)
    for csv_text in ("newbie1,新考生\nnewbie2," + "名" * 131_073 + "\n", "newbie1," + "x" * 300):
        resp = examiner.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"csv": csv_text})
        error = resp.get_json()["error"]
        assert resp.status_code == 400 and error["code"] == "field_too_long" and "字段过长" in error["message"]
    page = login_as("examiner")
    upload = ("newbie3,考生\n" + "y" * 140_000).encode("utf-8")
    resp = page.post(f"/rounds/{rnd['id']}/roster", data={"csv_file": (io.BytesIO(upload), "roster.csv")},
                     content_type="multipart/form-data", follow_redirects=True)
    assert resp.status_code == 200 and "第 2 行" in resp.get_data(as_text=True) and "字段过长" in resp.get_data(as_text=True)
    resp = page.post(f"/rounds/{rnd['id']}/roster", data={"csv_file": (io.BytesIO(b"ok1,\x00bad"), "roster.csv")},
                     content_type="multipart/form-data", follow_redirects=True)
    assert resp.status_code == 200 and "空字符" in resp.get_data(as_text=True)
    assert _count(runtime, RoundCandidate.id) == before


# --------------------------------------------------------------------------- item 13: work-order conversations


def test_a_work_order_names_only_a_conversation_its_creator_may_act_in(api, login_as, runtime):
    mine = api("candidate").post("/api/v1/conversations", json={"customer_id": "C001"}).get_json()["id"]
    theirs = api("candidate2").post("/api/v1/conversations", json={"customer_id": "C002"}).get_json()["id"]
    before = _count(runtime, WorkOrder.id)
    body = {"category": "信用卡", "title": "账单咨询"}
    resp = api("candidate").post("/api/v1/workorders", json={**body, "conversation_id": theirs})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert resp.get_json()["error"]["field"] == "conversation_id"
    resp = api("candidate").post("/api/v1/workorders", json={**body, "conversation_id": 999_999})
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_conversation"
    # The console's work-order panel posts the same way with the browser session.
    panel = login_as("candidate2")
    resp = panel.post("/api/v1/workorders", json={**body, "conversation_id": mine})
    assert resp.status_code == 403 and "不是您的会话" in resp.get_json()["error"]["message"]
    assert _count(runtime, WorkOrder.id) == before
    own = api("candidate").post("/api/v1/workorders", json={**body, "conversation_id": mine})
    assert own.status_code == 201 and own.get_json()["conversation_id"] == mine
    staff = api("examiner").post("/api/v1/workorders", json={**body, "conversation_id": theirs})
    assert staff.status_code == 201 and staff.get_json()["conversation_id"] == theirs
    assert panel.post("/api/v1/workorders", json={**body, "conversation_id": theirs}).status_code == 201
