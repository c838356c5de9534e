"""The navigation bar per role: one table, read by the base template."""

from __future__ import annotations

from flask import url_for
from werkzeug.routing import BuildError

from sandbox.roles import ADMIN, ALL_ROLES, CANDIDATE, STAFF_ROLES, TRAINER_ROLES, WORK_ORDER_ROLES

# (endpoint, label, roles)
NAV: list[tuple[str, str, tuple[str, ...]]] = [
    ("main.dashboard", "首页", ALL_ROLES),
    ("drills.index", "实操演练", ALL_ROLES),
    ("rounds.exam_home", "参加考试", (CANDIDATE,)),
    ("rounds.index", "考试管理", STAFF_ROLES),
    ("scenario_library.index", "场景库", TRAINER_ROLES),
    ("kb.index", "知识库", ALL_ROLES),
    ("main.users", "用户管理", (ADMIN,)),
    ("trainer.articles", "知识库管理", TRAINER_ROLES),
    ("trainer.synonyms", "同义词", TRAINER_ROLES),
    ("trainer.analytics_page", "检索分析", TRAINER_ROLES),
    ("bank.practice", "练习会话", ALL_ROLES),
    ("interview.index", "面试练习", ALL_ROLES),
    ("bank.examiner_customers", "模拟客户", STAFF_ROLES),
    ("workorders.index", "工单", WORK_ORDER_ROLES),
    ("workorders.queue", "人工坐席队列", STAFF_ROLES),
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
