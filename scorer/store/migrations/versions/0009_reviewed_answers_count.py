"""a reviewer's standing answer counts over the AI's: re-score the reviewed cards, rebuild the rollups

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 04:00:00

No schema change. Cards a reviewer decided before this revision kept the AI's score unless a dispute re-scored
them: each card with a standing reviewer answer is re-scored with its reviewers' answers (the old score kept in its
``score_history`` with ``"review": true``), then the rollups are computed again, now counting the standing answers
(``scorer.store.standing``).
"""

from __future__ import annotations

from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from sqlalchemy.orm import Session

    from scorer.store.rollup import rebuild  # the same code the Store uses
    from scorer.store.standing import rescore_reviewed

    bind = op.get_bind()
    with Session(bind=bind) as session:  # joins the migration's transaction: commit() only flushes
        rescore_reviewed(session, {"review": True, "migration": "0009"})
        session.commit()
    rebuild(bind)


def downgrade() -> None:
    """The re-scored cards keep their scores (their history says what they replaced); the rollups are derived."""
