"""a round whose faults were injected before it counted their changes counts them now

A round's ``faults_version`` of 0 now means "no fault was ever injected" (a drill of such a
round reads no faults); rounds from before 0016 may have faults with the counter still at 0.

Revision ID: faultsver_0002
Revises: faultsver_0001
Create Date: 2026-12-08 01:00:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = 'faultsver_0002'
down_revision: Union[str, Sequence[str], None] = 'faultsver_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.execute("UPDATE rounds SET faults_version = 1 WHERE faults_version = 0 "
               "AND EXISTS (SELECT 1 FROM injected_faults WHERE injected_faults.round_id = rounds.id)")


def downgrade() -> None:
    pass  # a higher count only makes the quiet polls look again once
