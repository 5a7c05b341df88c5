"""reviewers' conversation-level labels (spam), kept append-only with provenance

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'conversation_labels',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('conversation_id', sa.String(255), nullable=False),
        sa.Column('label', sa.String(64), nullable=False),
        sa.Column('value', sa.Boolean(), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('reviewer', sa.String(255), nullable=True),
        sa.Column('source', sa.String(32), nullable=False),
        sa.Column('external_id', sa.String(64), nullable=False),
        sa.Column('external_version', sa.String(64), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('rubric_version', sa.String(64), nullable=True),
        sa.Column('superseded', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('conversation_id', 'label', 'source', 'external_id', 'external_version'),
    )
    op.create_index('ix_conversation_labels_conversation_id', 'conversation_labels', ['conversation_id'])
    op.create_index('ix_conversation_labels_label', 'conversation_labels', ['label'])
    op.create_index('ix_conversation_labels_task_id', 'conversation_labels', ['task_id'])


def downgrade() -> None:
    op.drop_table('conversation_labels')
