"""simulated customer agenda state

Revision ID: agenda_0001
Revises: auth_0008
Create Date: 2026-12-04 17:10:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'agenda_0001'
down_revision: Union[str, Sequence[str], None] = 'auth_0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('drill_contacts') as batch:
        batch.add_column(sa.Column('agenda', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('drill_contacts') as batch:
        batch.drop_column('agenda')
