"""daily rollups for the QA dashboard (cards, answers, review queue, agreement; answers and agreement also by
month and by week), filled from the stored rows

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:00:00

The overview and agent pages add up these per-(day, rubric, version, team, agent, channel, language) rows instead
of every card and judgement. The Store's sessions keep them current on every write (``scorer.store.rollup``);
this revision creates them and computes them once from what is stored (``rubricate db rebuild-rollups`` does the
same for repair).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _column(name: str, kind: sa.types.TypeEngine, nullable: bool = False) -> sa.Column:
    return sa.Column(name, kind, nullable=nullable)


def _key() -> list[sa.Column]:
    return [sa.Column('id', sa.Integer(), primary_key=True), _column('day', sa.Date()),
            _column('rubric_id', sa.String(255)), _column('version_id', sa.Integer()),
            _column('team', sa.String(255), True), _column('agent_id', sa.String(255), True),
            _column('agent_name', sa.String(255), True), _column('channel', sa.String(16)),
            _column('language', sa.String(32), True)]


_CARD_INTS = ['conversations', 'scored', 'excluded', 'unscored', 'provisional', 'auto_failed',
              *(f'b{i}' for i in range(10)), 'usage_cards', 'calls', 'prompt_tokens', 'completion_tokens',
              'cached_tokens', 'priced_cards']
TABLES: dict[str, list[sa.Column]] = {
    'rollup_cards': [*(_column(n, sa.Integer()) for n in _CARD_INTS), _column('score_sum', sa.Float()),
                     _column('cost_usd', sa.Float())],
    'rollup_answers': [_column('criterion_id', sa.String(255)), _column('status', sa.String(16)),
                       _column('answer', sa.String(255), True), _column('count', sa.Integer())],
    'rollup_queue': [_column('state', sa.String(16)), _column('count', sa.Integer())],
    'rollup_agreement': [_column('criterion_id', sa.String(255)), _column('review_day', sa.Date()),
                         _column('kind', sa.String(32)), _column('count', sa.Integer())],
}
for _level in ('month', 'week'):
    TABLES[f'rollup_answers_{_level}'] = [_column('criterion_id', sa.String(255)), _column('status', sa.String(16)),
                                          _column('answer', sa.String(255), True), _column('count', sa.Integer())]
    TABLES[f'rollup_agreement_{_level}'] = [_column('criterion_id', sa.String(255)),
                                            _column('review_week', sa.Date()), _column('kind', sa.String(32)),
                                            _column('count', sa.Integer())]


_COVERING = {'rollup_cards': ['agent_name', 'conversations', 'scored', 'score_sum', 'auto_failed', 'excluded'],
             'rollup_answers': ['criterion_id', 'status', 'answer', 'count'],
             'rollup_agreement': ['criterion_id', 'review_day', 'kind', 'count']}
"""The biggest daily rollups' scope indexes also hold the filter columns and the values (index-only reads)."""


def upgrade() -> None:
    for name, columns in TABLES.items():
        op.create_table(name, *_key(), *columns)
        cover = ['team', 'agent_id', 'channel', 'language', *_COVERING[name]] if name in _COVERING else []
        op.create_index(f'ix_{name}_scope_day', name, ['rubric_id', 'version_id', 'day', *cover])
        op.create_index(f'ix_{name}_agent_day', name, ['agent_id', 'day'])
    from scorer.store.rollup import rebuild  # the same SQL the Store maintains them with

    rebuild(op.get_bind(), marks=False)


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_index(f'ix_{name}_agent_day', table_name=name)
        op.drop_index(f'ix_{name}_scope_day', table_name=name)
        op.drop_table(name)
