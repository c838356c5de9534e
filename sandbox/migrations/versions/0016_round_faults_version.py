"""a round counts the changes to its injected faults (the quiet poll's stamp reads it)

Revision ID: faultsver_0001
Revises: heldconv_0001
Create Date: 2026-12-07 02:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'faultsver_0001'
down_revision: Union[str, Sequence[str], None] = 'heldconv_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('rounds') as batch:
        batch.add_column(sa.Column('faults_version', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('rounds') as batch:
        batch.drop_column('faults_version')
