"""The calibration-session report: per criterion, Krippendorff's α among the reviewers, each reviewer against the
consensus ("grade the grader"), the AI against the consensus, and the disagreements to discuss in the meeting with
the transcript and each reviewer's answer and comment.

The consensus of a conversation and criterion is the answer most reviewers gave (a strict majority of those who
answered); without one it is *no consensus* and the item is a disagreement. α uses the ``krippendorff`` package:
nominal for yes/no scales, ordinal for ordinal scales; ``na`` is a category of its own (nominal) or missing
(ordinal).
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eval.report._html import Section, render_page, table_html
from scorer._extras import require
from scorer.store.calibration_sessions import Answer
from scorer.types import NA, Conversation, Criterion, Rubric

__all__ = ["CriterionCalibration", "Disagreement", "SessionReport", "alpha", "consensus_of", "session_html",
           "session_report"]


@dataclass
class Disagreement:
    conversation_id: str
    criterion_id: str
    answers: dict[str, str]
    comments: dict[str, str]
    consensus: str | None
    ai: str | None


@dataclass
class CriterionCalibration:
    criterion_id: str
    question: str
    units: int
    alpha: float | None
    reviewer_vs_consensus: dict[str, float | None]
    ai_vs_consensus: float | None
    ai_n: int


@dataclass
class SessionReport:
    name: str
    reviewers: list[str]
    criteria: list[CriterionCalibration]
    disagreements: list[Disagreement] = field(default_factory=list)
    consensus: dict[tuple[str, str], str] = field(default_factory=dict)


def consensus_of(answers: Sequence[str]) -> str | None:
    """The answer of a strict majority, else None."""
    if not answers:
        return None
    (top, count), *_ = Counter(answers).most_common(1)
    return top if count * 2 > len(answers) else None


def alpha(matrix: list[list[str | None]], criterion: Criterion) -> float | None:
    """Krippendorff's α of a reviewers × units matrix of answers (None = not answered); None when undefined."""
    krippendorff = require("krippendorff", "eval", "The calibration-session report")
    ordinal = criterion.scale.kind == "ordinal"
    codes = {a: i for i, a in enumerate(criterion.answers)}
    data = np.array([[np.nan if a is None or (ordinal and a == NA) else codes[a] for a in row] for row in matrix],
                    dtype=float)
    pairable = (np.sum(~np.isnan(data), axis=0) >= 2).sum()
    values = set(data[~np.isnan(data)].tolist())
    if pairable == 0 or len(values) < 2:
        return None  # α needs pairable units and more than one value overall
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal" if ordinal else "nominal"))


def session_report(name: str, rubric: Rubric, reviewers: Sequence[str], conversation_ids: Sequence[str],
                   answers: Sequence[Answer], ai: dict[tuple[str, str], str | None]) -> SessionReport:
    given: dict[tuple[str, str], dict[str, Answer]] = defaultdict(dict)
    for a in answers:
        given[(a.conversation_id, a.criterion_id)][a.reviewer] = a
    report = SessionReport(name, list(reviewers), [])
    for criterion in rubric.criteria:
        matrix = [[given[(cid, criterion.id)].get(r).answer if r in given[(cid, criterion.id)] else None  # type: ignore[union-attr]
                   for cid in conversation_ids] for r in reviewers]
        hits: dict[str, list[bool]] = {r: [] for r in reviewers}
        ai_hits: list[bool] = []
        units = 0
        for cid in conversation_ids:
            by_reviewer = given[(cid, criterion.id)]
            if not by_reviewer:
                continue
            units += 1
            chosen = consensus_of([a.answer for a in by_reviewer.values()])
            if chosen is not None:
                report.consensus[(cid, criterion.id)] = chosen
                for r, a in by_reviewer.items():
                    hits[r].append(a.answer == chosen)
                if ai.get((cid, criterion.id)) is not None:
                    ai_hits.append(ai[(cid, criterion.id)] == chosen)
            if len({a.answer for a in by_reviewer.values()}) > 1:
                report.disagreements.append(Disagreement(
                    cid, criterion.id, {r: a.answer for r, a in by_reviewer.items()},
                    {r: a.comment for r, a in by_reviewer.items() if a.comment}, chosen, ai.get((cid, criterion.id))))
        report.criteria.append(CriterionCalibration(
            criterion.id, criterion.question, units, alpha(matrix, criterion),
            {r: (sum(h) / len(h) if h else None) for r, h in hits.items()},
            sum(ai_hits) / len(ai_hits) if ai_hits else None, len(ai_hits)))
    return report


def session_html(report: SessionReport, transcripts: dict[str, Conversation]) -> str:
    """The report as one self-contained HTML page for the calibration meeting."""
    rows: list[dict[str, Any]] = []
    for c in report.criteria:
        row: dict[str, Any] = {"criterion": c.criterion_id, "units": c.units, "α (reviewers)": c.alpha,
                               "AI vs consensus": c.ai_vs_consensus}
        row.update({f"{r} vs consensus": v for r, v in c.reviewer_vs_consensus.items()})
        rows.append(row)
    columns = ["criterion", "units", "α (reviewers)", *[f"{r} vs consensus" for r in report.reviewers],
               "AI vs consensus"]
    parts = []
    for d in report.disagreements:
        conversation = transcripts.get(d.conversation_id)
        turns = "".join(f"<p><b>{html.escape(t.speaker)}:</b> {html.escape(t.text)}</p>"
                        for t in (conversation.turns if conversation else []))
        answers = "".join(f"<li><b>{html.escape(r)}</b>: {html.escape(a)}"
                          f"{(' — ' + html.escape(d.comments[r])) if r in d.comments else ''}</li>"
                          for r, a in sorted(d.answers.items()))
        parts.append(f"<h3>{html.escape(d.conversation_id)} · {html.escape(d.criterion_id)}</h3>"
                     f"<ul>{answers}<li class='note'>consensus: {html.escape(str(d.consensus or 'none'))} · AI: "
                     f"{html.escape(str(d.ai))}</li></ul><details><summary>transcript</summary>{turns}</details>")
    sections = [Section("Agreement per criterion", table_html(rows, columns)),
                Section(f"Disagreements to discuss ({len(report.disagreements)})", "".join(parts) or "<p>none</p>")]
    return render_page(f"Calibration session {report.name}", sections,
                       subtitle=f"reviewers: {', '.join(report.reviewers)}. Calibration answers are kept apart: they "
                                "change no score and train no judge unless a consensus is recorded.")
