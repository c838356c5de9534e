"""The one definition of the user roles and of the named groups of roles.

Every role check (web decorators, API views, domain rules, the navigation) names one of
these groups instead of spelling out role strings, so a group means the same thing
everywhere. Plain values only: no Flask, no database.
"""

from __future__ import annotations

CANDIDATE, EXAMINER, TRAINER, ADMIN = "candidate", "examiner", "trainer", "admin"

# Every role with its label on pages (simplified Chinese).
ROLES: dict[str, str] = {
    CANDIDATE: "考生",
    EXAMINER: "考官",
    TRAINER: "培训师",
    ADMIN: "管理员",
}
ALL_ROLES: tuple[str, ...] = tuple(ROLES)

# Exam staff: run rounds, read other people's drills and reports, watch conversations,
# reveal a mock customer's unmasked data, work the human-agent queue.
STAFF_ROLES: tuple[str, ...] = (EXAMINER, ADMIN)

# Bank staff: everyone who works on the sandbox rather than sits the exam; they see the
# mock bank's test customers (the "magic" identities) in the customer list.
BANK_STAFF_ROLES: tuple[str, ...] = (EXAMINER, TRAINER, ADMIN)

# Knowledge-base and scenario editors.
TRAINER_ROLES: tuple[str, ...] = (TRAINER, ADMIN)

# Who may open and work on work orders.
WORK_ORDER_ROLES: tuple[str, ...] = (CANDIDATE, EXAMINER, ADMIN)
