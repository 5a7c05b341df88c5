"""indexes for the QA dashboard's aggregates

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 08:30:00

The dashboard reads the newest card of each conversation among a rubric's versions and groups conversations by
day, team, agent, channel and language, and judgements by criterion and answer. These covering indexes let those
queries be answered from the indexes alone, without reading the rows' JSON payloads.
"""

from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

INDEXES = [
    ('ix_score_cards_current', 'score_cards',
     ['conversation_id', 'rubric_version_id', 'id', 'score', 'status', 'auto_failed', 'provisional']),
    ('ix_judgements_card_criterion_answer', 'judgements', ['score_card_id', 'criterion_id', 'status', 'answer']),
    ('ix_conversations_dashboard', 'conversations',
     ['started_at', 'agent_id', 'team', 'channel', 'language', 'agent_name', 'created_at']),
    ('ix_conversations_agent_started', 'conversations', ['agent_id', 'started_at']),
    ('ix_conversations_team_started', 'conversations', ['team', 'started_at']),
    ('ix_conversations_channel', 'conversations', ['channel']),
    ('ix_conversations_language', 'conversations', ['language']),
    ('ix_review_events_kind_judgement', 'review_events', ['kind', 'judgement_id']),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
