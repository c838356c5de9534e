"""KB articles list forbidden claims

Revision ID: kbclaims_0001
Revises: agenda_0001
Create Date: 2026-12-04 18:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'kbclaims_0001'
down_revision: Union[str, Sequence[str], None] = 'agenda_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('kb_articles') as batch:
        batch.add_column(sa.Column('forbidden_claims', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('kb_articles') as batch:
        batch.drop_column('forbidden_claims')
