"""Read-side aggregates for the QA dashboard, computed by the database (GROUP BY over indexed columns).

``filters`` resolves what the user asked for into a :class:`Scope` (rubric, versions, period, agent binding);
``overview``, ``agents``, ``detail`` and ``listing`` answer the pages. Nothing here loads rows to aggregate them in
Python: only small grouped results (per day, per criterion and answer) are folded here.
"""

from scorer.store.dashboard.filters import UNASSIGNED, FilterError, Filters, Scope, resolve

__all__ = ["UNASSIGNED", "FilterError", "Filters", "Scope", "resolve"]
