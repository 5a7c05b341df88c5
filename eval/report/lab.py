"""The rubric lab's HTML page: one per ``rubric test`` or ``rubric compare`` run, with the same page builder as the
evaluation report (one file, plots inline)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from eval.report._html import Section, figure_to_data_uri, render_page, table_html

__all__ = ["compare_report", "test_report"]

_COLUMNS = ["criterion", "verdict", "static", "scored", "flip_rate", "majority_share", "na_rate", "evidence_rate",
            "judge_judge_kappa", "human_n", "human_accuracy", "human_kappa", "human_human_kappa", "human_auc"]
_CLASS = {"measurable": "good", "not_measurable": "bad"}


def _row(r: Any) -> dict[str, Any]:
    return {"criterion": r.criterion_id + (f" ({r.side.upper()})" if r.side else ""), "verdict": r.verdict,
            "static": r.static_verdict, "scored": f"{r.scored}/{r.conversations}", "flip_rate": r.flip_rate,
            "majority_share": r.majority_share, "na_rate": r.na_rate, "evidence_rate": r.evidence_rate,
            "judge_judge_kappa": r.judge_judge_kappa, "human_n": r.human_n, "human_accuracy": r.human_accuracy,
            "human_kappa": r.human_kappa, "human_human_kappa": r.human_human_kappa, "human_auc": r.human_auc}


def _detail(r: Any) -> str:
    verdict = f"<p class='{_CLASS.get(r.verdict, '')}'><b>{html.escape(r.verdict)}</b></p>"
    reasons = "".join(f"<li>{html.escape(x)}</li>" for x in r.reasons) or "<li>no behavioural problem found</li>"
    paraphrases = "".join(
        f"<li>{html.escape(p)} <span class='note'>(same answer as the wording: "
        f"{'—' if a is None else f'{a:.0%}'})</span></li>" for p, a in zip(r.paraphrases, r.paraphrase_agreement
                                                                           or [None] * len(r.paraphrases),
                                                                           strict=True))
    notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in r.notes)
    unscored = "".join(f"<li>{html.escape(k)} ×{v}</li>" for k, v in r.unscored_reasons.items())
    return (f"<p><i>{html.escape(r.question)}</i></p>{verdict}<ul>{reasons}</ul>"
            + (f"<p>Paraphrases asked:</p><ul>{paraphrases}</ul>" if paraphrases else "")
            + (f"<p>Unscored, by reason:</p><ul>{unscored}</ul>" if unscored else "") + notes)


def _bars(results: Sequence[Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = [r.criterion_id + (f" ({r.side.upper()})" if r.side else "") for r in results]
    fig, axes = plt.subplots(1, 2, figsize=(9, 0.45 * len(names) + 1.4), sharey=True)
    y = np.arange(len(names))
    axes[0].barh(y, [r.flip_rate if r.flip_rate is not None else 0 for r in results], color="#c66")
    axes[0].axvline(0.10, ls="--", color="#999")
    axes[0].set_title("paraphrase flip rate", fontsize=9)
    left = np.zeros(len(results))
    answers = list(dict.fromkeys(a for r in results for a in r.answer_shares))
    for answer in answers:
        shares = np.array([r.answer_shares.get(answer, 0.0) for r in results])
        axes[1].barh(y, shares, left=left, label=answer)
        left += shares
    axes[1].set_title("answer balance (the wording as written)", fontsize=9)
    axes[1].legend(fontsize=7, loc="lower right")
    axes[0].set_yticks(y, names, fontsize=8)
    axes[0].invert_yaxis()
    return figure_to_data_uri(fig)


def _header(meta: dict[str, Any]) -> str:
    lines = [f"{k}: {v}" for k, v in meta.items() if v not in (None, "", [])]
    return "".join(f"<p class='note'>{html.escape(str(line))}</p>" for line in lines)


def test_report(results: Sequence[Any], meta: dict[str, Any]) -> str:
    """The page of a ``rubric test`` run: summary table, plots, then one section per criterion."""
    sections = [Section("Run", _header(meta)),
                Section("Verdicts and the numbers behind them", table_html([_row(r) for r in results], _COLUMNS),
                        [_bars(results)] if results else [])]
    sections += [Section(r.criterion_id, _detail(r)) for r in results]
    return render_page("Rubric lab: behavioural check", sections,
                       "A verdict is about the wording with this judge; a weak judge makes every wording look worse.")


def compare_report(comparisons: Sequence[Any], meta: dict[str, Any]) -> str:
    """The page of a ``rubric compare`` run: per pair, both wordings side by side and the difference."""
    sections = [Section("Run", _header(meta))]
    rows = [{"pair": f"{c.a.criterion_id} → {c.b.criterion_id}", "better": c.better or "—",
             "accuracy_diff": c.accuracy_diff, "ci_low": c.accuracy_diff_ci[0] if c.accuracy_diff_ci else None,
             "ci_high": c.accuracy_diff_ci[1] if c.accuracy_diff_ci else None, "auc_diff": c.auc_diff,
             "auc_ci_low": c.auc_diff_ci[0] if c.auc_diff_ci else None,
             "auc_ci_high": c.auc_diff_ci[1] if c.auc_diff_ci else None, "kappa_diff": c.kappa_diff,
             "flip_rate_diff": c.flip_rate_diff, "paired_n": c.paired_n} for c in comparisons]
    sections.append(Section("Which wording agrees more with humans (B − A)", table_html(rows, list(rows[0]))
                            if rows else "<p>no pairs</p>"))
    for c in comparisons:
        body = (f"<p>{html.escape(c.summary)}</p>"
                + table_html([_row(c.a), _row(c.b)], _COLUMNS)
                + "<div style='display:flex;gap:2rem'><div><h3>A</h3>" + _detail(c.a) + "</div><div><h3>B</h3>"
                + _detail(c.b) + "</div></div>")
        sections.append(Section(f"{c.a.criterion_id} → {c.b.criterion_id}", body, [_bars([c.a, c.b])]))
    return render_page("Rubric lab: two wordings compared", sections,
                       "Both wordings were asked of the same conversations by the same judge.")
