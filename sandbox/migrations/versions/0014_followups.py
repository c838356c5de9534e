"""follow-up questions (追问): the candidate's answers and the examiner's marks

Revision ID: followups_0001
Revises: recordings_0001
Create Date: 2026-12-05 10:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import sandbox.db

revision: str = 'followups_0001'
down_revision: Union[str, Sequence[str], None] = 'recordings_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'followup_answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('drill_id', sa.Integer(), nullable=False),
        sa.Column('followup_id', sa.String(length=64), nullable=False),
        sa.Column('answer', sa.Text(), nullable=False),
        sa.Column('elapsed_seconds', sa.Float(), nullable=True),
        sa.Column('answered_at', sandbox.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('coverage', sa.JSON(), nullable=True),
        sa.Column('marks', sa.JSON(), nullable=True),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('marked_by', sa.Integer(), nullable=True),
        sa.Column('marked_at', sandbox.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['drill_id'], ['drills.id'], name=op.f('fk_followup_answers_drill_id_drills'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['marked_by'], ['users.id'], name=op.f('fk_followup_answers_marked_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_answers')),
        sa.UniqueConstraint('drill_id', 'followup_id', name=op.f('uq_followup_answers_drill_id')),
    )
    with op.batch_alter_table('followup_answers') as batch:
        batch.create_index(batch.f('ix_followup_answers_drill_id'), ['drill_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('followup_answers') as batch:
        batch.drop_index(batch.f('ix_followup_answers_drill_id'))
    op.drop_table('followup_answers')
