"""The dashboard's daily rollups (tables in :mod:`scorer.store.rollup_models`): rebuilt from scratch by
:func:`rebuild`, recomputed per (day, agent) group by :func:`refresh`, and kept current in every Store transaction
by the session hooks :func:`install` adds."""

from scorer.store.rollup._build import (
    CARD_COLUMNS,
    Key,
    card_measures,
    keys_of,
    month_end,
    month_start,
    rebuild,
    refresh,
    week_start,
)
from scorer.store.rollup._track import install

__all__ = ["CARD_COLUMNS", "Key", "card_measures", "install", "keys_of", "month_end", "month_start", "rebuild",
           "refresh", "week_start"]
