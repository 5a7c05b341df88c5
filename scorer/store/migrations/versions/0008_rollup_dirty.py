"""rollup groups marked out of date by writes, recomputed by the next dashboard read

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rollup_dirty',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('agent_id', sa.String(255), nullable=True),
    )


def downgrade() -> None:
    op.drop_table('rollup_dirty')
