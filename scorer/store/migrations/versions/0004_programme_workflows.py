"""the QA programme's workflows: disputes, alert deliveries and attempts, calibration sessions and answers,
review queue assignee

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'disputes',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('judgement_id', sa.Integer(), sa.ForeignKey('judgements.id', ondelete='CASCADE'), nullable=False),
        sa.Column('open_judgement_id', sa.Integer(), nullable=True),
        sa.Column('conversation_id', sa.String(255), nullable=False),
        sa.Column('criterion_id', sa.String(255), nullable=False),
        sa.Column('rubric_id', sa.String(255), nullable=False),
        sa.Column('rubric_version', sa.String(64), nullable=False),
        sa.Column('agent_id', sa.String(255), nullable=True),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('disputed_answer', sa.String(255), nullable=True),
        sa.Column('decided_answer', sa.String(255), nullable=True),
        sa.Column('reviewer', sa.String(255), nullable=True),
        sa.Column('reviewer_comment', sa.Text(), nullable=True),
        sa.Column('score_before', sa.Float(), nullable=True),
        sa.Column('score_after', sa.Float(), nullable=True),
        sa.Column('created_at', _TS, nullable=False),
        sa.Column('resolved_at', _TS, nullable=True),
        sa.UniqueConstraint('open_judgement_id'),
    )
    op.create_index('ix_disputes_judgement_id', 'disputes', ['judgement_id'])
    op.create_index('ix_disputes_conversation_id', 'disputes', ['conversation_id'])
    op.create_index('ix_disputes_agent_id', 'disputes', ['agent_id'])
    op.create_index('ix_disputes_status', 'disputes', ['status'])
    op.create_table(
        'alert_deliveries',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('dedupe_key', sa.String(255), nullable=False, unique=True),
        sa.Column('event', sa.String(32), nullable=False),
        sa.Column('conversation_id', sa.String(255), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', _TS, nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', _TS, nullable=False),
        sa.Column('delivered_at', _TS, nullable=True),
    )
    for column in ('event', 'conversation_id', 'status', 'next_attempt_at'):
        op.create_index(f'ix_alert_deliveries_{column}', 'alert_deliveries', [column])
    op.create_table(
        'alert_attempts',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('delivery_id', sa.Integer(), sa.ForeignKey('alert_deliveries.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', _TS, nullable=False),
    )
    op.create_index('ix_alert_attempts_delivery_id', 'alert_attempts', ['delivery_id'])
    op.create_table(
        'calibration_sessions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(255), nullable=False, unique=True),
        sa.Column('rubric_id', sa.String(255), nullable=False),
        sa.Column('rubric_version', sa.String(64), nullable=False),
        sa.Column('judge', sa.String(255), nullable=True),
        sa.Column('reviewers', sa.JSON(), nullable=False),
        sa.Column('conversation_ids', sa.JSON(), nullable=False),
        sa.Column('projects', sa.JSON(), nullable=False),
        sa.Column('consensus', sa.JSON(), nullable=True),
        sa.Column('created_at', _TS, nullable=False),
    )
    op.create_table(
        'calibration_answers',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('session_id', sa.Integer(), sa.ForeignKey('calibration_sessions.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('reviewer', sa.String(255), nullable=False),
        sa.Column('conversation_id', sa.String(255), nullable=False),
        sa.Column('criterion_id', sa.String(255), nullable=False),
        sa.Column('answer', sa.String(255), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('external_id', sa.String(64), nullable=False),
        sa.Column('updated_at', _TS, nullable=False),
        sa.UniqueConstraint('session_id', 'reviewer', 'conversation_id', 'criterion_id'),
    )
    op.create_index('ix_calibration_answers_session_id', 'calibration_answers', ['session_id'])
    with op.batch_alter_table('review_queue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee', sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('review_queue', schema=None) as batch_op:
        batch_op.drop_column('assignee')
    for table in ('calibration_answers', 'calibration_sessions', 'alert_attempts', 'alert_deliveries', 'disputes'):
        op.drop_table(table)
