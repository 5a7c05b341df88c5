"""indexes for the QA dashboard's aggregates

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 08:30:00

The dashboard picks the newest card of each conversation per rubric version and groups its judgements by criterion
and answer; these composite indexes let both be answered from the index alone.
"""

from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_score_cards_version_conversation', 'score_cards',
                    ['rubric_version_id', 'conversation_id', 'id'])
    op.create_index('ix_judgements_card_criterion_answer', 'judgements',
                    ['score_card_id', 'criterion_id', 'status', 'answer'])
    op.create_index('ix_conversations_agent_started', 'conversations', ['agent_id', 'started_at'])
    op.create_index('ix_conversations_team_started', 'conversations', ['team', 'started_at'])


def downgrade() -> None:
    op.drop_index('ix_conversations_team_started', table_name='conversations')
    op.drop_index('ix_conversations_agent_started', table_name='conversations')
    op.drop_index('ix_judgements_card_criterion_answer', table_name='judgements')
    op.drop_index('ix_score_cards_version_conversation', table_name='score_cards')
