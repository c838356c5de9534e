"""a conversation may be held by nobody (the first drill of a round, prepared ahead)

Revision ID: heldconv_0001
Revises: followups_0001
Create Date: 2026-12-06 21:10:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'heldconv_0001'
down_revision: Union[str, Sequence[str], None] = 'followups_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.alter_column('owner_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Held conversations belong to prepared drills that never started: nobody saw them.
    op.execute("DELETE FROM conversations WHERE owner_id IS NULL")
    with op.batch_alter_table('conversations') as batch:
        batch.alter_column('owner_id', existing_type=sa.Integer(), nullable=False)
