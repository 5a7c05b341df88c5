"""conversation fields for the dashboard, agent-bound keys, excluded and provisional score cards

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agent_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('agent_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('team', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('csat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.create_index(batch_op.f('ix_conversations_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_team'), ['team'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_started_at'), ['started_at'], unique=False)
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agent_id', sa.String(length=255), nullable=True))
    with op.batch_alter_table('score_cards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False, server_default='scored'))
        batch_op.add_column(sa.Column('provisional', sa.Boolean(), nullable=False, server_default=sa.text('false')))
        batch_op.create_index(batch_op.f('ix_score_cards_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('score_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_score_cards_status'))
        batch_op.drop_column('provisional')
        batch_op.drop_column('status')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('agent_id')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_started_at'))
        batch_op.drop_index(batch_op.f('ix_conversations_team'))
        batch_op.drop_index(batch_op.f('ix_conversations_agent_id'))
        for name in ('tags', 'csat', 'started_at', 'team', 'agent_name', 'agent_id'):
            batch_op.drop_column(name)
