"""recordings of spoken answers and interview practice attempts

Revision ID: recordings_0001
Revises: drillcust_0001
Create Date: 2026-12-06 10:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sandbox.db


revision: str = 'recordings_0001'
down_revision: Union[str, Sequence[str], None] = 'drillcust_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('interview_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(length=64), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=True),
    sa.Column('elapsed_seconds', sa.Integer(), nullable=True),
    sa.Column('coverage', sa.JSON(), nullable=False),
    sa.Column('created_at', sandbox.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_interview_attempts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interview_attempts'))
    )
    with op.batch_alter_table('interview_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interview_attempts_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interview_attempts_question_id'), ['question_id'], unique=False)
    op.create_table('recordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('drill_id', sa.Integer(), nullable=True),
    sa.Column('practice_id', sa.Integer(), nullable=True),
    sa.Column('item_key', sa.String(length=80), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('byte_size', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('pause_count', sa.Integer(), nullable=False),
    sa.Column('longest_pause_ms', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sandbox.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_recordings_owner_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['drill_id'], ['drills.id'], name=op.f('fk_recordings_drill_id_drills'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practice_id'], ['interview_attempts.id'],
                            name=op.f('fk_recordings_practice_id_interview_attempts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recordings'))
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recordings_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_drill_id'), ['drill_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_practice_id'), ['practice_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_practice_id'))
        batch_op.drop_index(batch_op.f('ix_recordings_drill_id'))
        batch_op.drop_index(batch_op.f('ix_recordings_owner_id'))
    op.drop_table('recordings')
    with op.batch_alter_table('interview_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interview_attempts_question_id'))
        batch_op.drop_index(batch_op.f('ix_interview_attempts_user_id'))
    op.drop_table('interview_attempts')
