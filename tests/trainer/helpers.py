"""Helpers for the trainer-tool tests."""

from __future__ import annotations

from typing import Any

from knowledge_base import articles


def form_data(title: str, answer: str = "标准话术。", **fields: Any) -> dict[str, Any]:
    """The article editor's form fields."""
    data = {"title": title, "questions": "", "answer": answer, "plain_answer": "", "category": "借记卡",
            "tags": "", "status": "已发布", "base_version": "0"}
    data.update(fields)
    return data


def article(runtime, external_id: str):
    with runtime.transaction() as s:
        a = articles.get_article(s, external_id)
        s.expunge(a)
        return a


def search_ids(api_client, query: str, status_all: bool = False) -> list[str]:
    url = f"/api/v1/kb/search?q={query}&limit=10" + ("&status=all" if status_all else "")
    return [r["id"] for r in api_client.get(url).get_json()["results"]]
