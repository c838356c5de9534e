"""Helpers shared by the knowledge-base tests."""

from __future__ import annotations

import json
from typing import Any

from knowledge_base import articles


def record(external_id: str, title: str, **fields: Any) -> dict[str, Any]:
    base = {"id": external_id, "title": title, "questions": [], "answer": f"{title}的规范话术。",
            "plain_answer": "", "category": "借记卡", "tags": [], "status": "已发布", "forbidden_claims": []}
    base.update(fields)
    return base


def save(runtime, external_id: str, title: str, **fields: Any):
    with runtime.transaction() as s:
        return articles.save_article(s, runtime.clock, record(external_id, title, **fields), by="test")


def jsonl(*records: dict[str, Any]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def ids(result) -> list[str]:
    return [h.id for h in result.hits]


NASTY_QUERIES = [
    "", " ", "\t\n", '"', '"银行卡', "信用卡\"账单", "AND", "OR", "NOT", "AND OR NOT", "卡 AND NOT 账单",
    "*", "**", "信用*", "?", ":", "title:挂失", "id:CC-001", "(", ")", "((卡)", "[1 TO 2]", "{a TO}",
    "^", "卡^5", "~", "卡~2", "\\", "/", "'", "\x00", "\u200b", "😀", "😀😀💳🏦", "！！！", "？？？", "。，、；",
    "x" * 5000, "卡" * 5000, "挂失 " * 1200, "<script>alert(1)</script>", "' OR 1=1 --", "%", "_",
    "ｉｎｆｏ", "①②③", "𠀀𠀁", "\ud7ff", "NULL", "None", "0", "-1", "１２３４５６", "🏳️‍🌈",
]

# Issue 19's bad input, each through the domain API and GET /api/v1/kb/search: a list or an
# empty list, never an error.
BAD_INPUT = {
    "only_punctuation": "？！。，、；：“”‘’（）【】《》…—-~!?.,;:'\"()[]{}<>/\\|@#$%^&*_+=",
    "only_pinyin": "xinyongka",
    "pinyin_with_spaces": "xin yong ka gua shi",
    "pinyin_nonsense": "qqqqxxxzzz",
    "mixed_traditional": "信用卡掛失後補卡要多久 帳單還款",
    "ten_thousand_chars": "信用卡还款" * 2000,
    "ten_thousand_letters": "guashi" * 1667,
    "emoji": "💳丢了😭怎么办🏦",
    "control_chars": "\x00\x01\x07\x08\x1b[31m挂失\x7f\u202e\u200d\ufeff",
    "lone_surrogates": "\ud800信用卡\udfff挂\udbff",
    "combining_marks": "挂\u0301失\u0308",
}
