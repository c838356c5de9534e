"""every drill contact gets a customer of its own (fresh identity)

Revision ID: drillcust_0001
Revises: kbclaims_0001
Create Date: 2026-12-04 21:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'drillcust_0001'
down_revision: Union[str, Sequence[str], None] = 'kbclaims_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('bank_customers') as batch:
        batch.add_column(sa.Column('drill_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('template_code', sa.String(16), nullable=True))
        batch.create_index('ix_bank_customers_drill_id', ['drill_id'])
    with op.batch_alter_table('drill_contacts') as batch:
        batch.add_column(sa.Column('facts', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('drill_contacts') as batch:
        batch.drop_column('facts')
    with op.batch_alter_table('bank_customers') as batch:
        batch.drop_index('ix_bank_customers_drill_id')
        batch.drop_column('template_code')
        batch.drop_column('drill_id')
