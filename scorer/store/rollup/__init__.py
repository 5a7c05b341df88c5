"""The dashboard's daily rollups (tables in :mod:`scorer.store.rollup_models`): rebuilt from scratch by
:func:`rebuild`, recomputed per (day, agent) group by :func:`refresh`. Every Store transaction marks the groups it
changed (:func:`mark`, through the session hooks :func:`install` adds) and the next dashboard read recomputes them
(:func:`settle`), so a write costs one INSERT whatever the size of its group."""

from scorer.store.rollup._build import (
    CARD_COLUMNS,
    Key,
    card_measures,
    key_of,
    keys_of,
    mark,
    month_end,
    month_start,
    rebuild,
    refresh,
    settle,
    week_start,
)
from scorer.store.rollup._track import install

__all__ = ["CARD_COLUMNS", "Key", "card_measures", "install", "key_of", "keys_of", "mark", "month_end",
           "month_start", "rebuild", "refresh", "settle", "week_start"]
