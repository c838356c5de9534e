"""The navigation bar per role: one table, read by the base template."""

from __future__ import annotations

from flask import url_for
from werkzeug.routing import BuildError

# (endpoint, label, roles)
NAV: list[tuple[str, str, tuple[str, ...]]] = [
    ("main.dashboard", "首页", ("candidate", "examiner", "trainer", "admin")),
    ("drills.index", "实操演练", ("candidate", "examiner", "trainer", "admin")),
    ("rounds.exam_home", "参加考试", ("candidate",)),
    ("rounds.index", "考试管理", ("examiner", "admin")),
    ("scenario_library.index", "场景库", ("trainer", "admin")),
    ("kb.index", "知识库", ("candidate", "examiner", "trainer", "admin")),
    ("main.users", "用户管理", ("admin",)),
    ("trainer.articles", "知识库管理", ("trainer", "admin")),
    ("trainer.synonyms", "同义词", ("trainer", "admin")),
    ("trainer.analytics_page", "检索分析", ("trainer", "admin")),
    ("bank.practice", "练习会话", ("candidate", "examiner", "trainer", "admin")),
    ("bank.examiner_customers", "模拟客户", ("examiner", "admin")),
    ("workorders.index", "工单", ("candidate", "examiner", "admin")),
    ("workorders.queue", "人工坐席队列", ("examiner", "admin")),
]


def navigation_for(role: str | None) -> list[tuple[str, str]]:
    """(url, label) pairs this role sees; endpoints not registered yet are skipped."""
    if role is None:
        return []
    items = []
    for endpoint, label, roles in NAV:
        if role in roles:
            try:
                items.append((url_for(endpoint), label))
            except BuildError:
                continue
    return items
