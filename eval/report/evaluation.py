"""The evaluation report: per-criterion table, confusion matrices, reliability diagrams, coverage–accuracy curves
and the learning curve."""

from __future__ import annotations

from typing import Any

import numpy as np

from eval.report._html import Section, figure_to_data_uri, render_page, table_html
from eval.results import CriterionMetrics, EvaluationResult, LearningPoint

__all__ = ["active_learning_figure", "evaluation_report"]

COLUMNS = ["criterion", "n", "accuracy", "kappa", "human_human_kappa", "macro_f1", "ece", "auto_accept_threshold",
           "auto_accept_coverage", "auto_accept_accuracy", "evidence_precision", "evidence_recall"]


def _plots(cid: str, m: CriterionMetrics) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = []
    if m.confusion:
        labels, matrix = m.confusion["labels"], np.asarray(m.confusion["matrix"])
        fig, ax = plt.subplots(figsize=(3.2, 3))
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(labels)), labels, rotation=30)
        ax.set_yticks(range(len(labels)), labels)
        for (i, j), v in np.ndenumerate(matrix):
            ax.text(j, i, str(v), ha="center", va="center")
        ax.set_xlabel("AI")
        ax.set_ylabel("human")
        ax.set_title(f"{cid}: confusion", fontsize=9)
        images.append(figure_to_data_uri(fig))
    conf, correct = np.asarray(m.reliability.confidence, float), np.asarray(m.reliability.correct, float)
    if len(conf):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(6.4, 3))
        bins = np.linspace(0, 1, 11)
        which = np.clip(np.digitize(conf, bins[1:-1]), 0, 9)
        xs = [conf[which == b].mean() for b in range(10) if np.any(which == b)]
        ys = [correct[which == b].mean() for b in range(10) if np.any(which == b)]
        a1.plot([0, 1], [0, 1], "--", color="#999")
        a1.plot(xs, ys, "o-")
        a1.set_title("reliability", fontsize=9)
        a1.set_xlabel("confidence")
        a1.set_ylabel("accuracy")
        order = np.argsort(-conf)
        coverage = np.arange(1, len(order) + 1) / len(order)
        a2.plot(coverage, np.cumsum(correct[order]) / np.arange(1, len(order) + 1))
        a2.set_title("auto-accept: coverage vs accuracy", fontsize=9)
        a2.set_xlabel("coverage")
        a2.set_ylim(0, 1.02)
        fig.suptitle(cid, fontsize=9)
        images.append(figure_to_data_uri(fig))
    return images


def _learning_plot(points: list[LearningPoint]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    sizes = [p.train_size for p in points]
    for cid in points[0].kappa:
        kappas = [np.nan if p.kappa[cid] is None else float(p.kappa[cid] or 0.0) for p in points]
        ax.plot(sizes, kappas, "o-",
                label=cid)
    ax.set_xlabel("reviewed items used for training")
    ax.set_ylabel("Cohen's κ on the test split")
    ax.legend(fontsize=7)
    return figure_to_data_uri(fig)


def active_learning_figure(result: dict[str, Any], title: str = "") -> Any:
    """Mean test accuracy against reviews per criterion, least-sure-first vs random order (a matplotlib figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    for strategy, label in (("uncertainty", "least sure first (review push --learn-share)"),
                            ("random", "random order")):
        needed = result[strategy]["reviews_needed_median"]
        ax.plot(result["sizes"], result[strategy]["mean_accuracy"], "o-", markersize=3,
                label=f"{label}: target at {'—' if needed is None else int(needed)}")
    ax.axhline(result["target_accuracy"], color="#999", linestyle="--", label="target (all labels − 0.01)")
    ax.set_xlabel("reviews per criterion")
    ax.set_ylabel(f"mean accuracy on the test set ({result['seeds']} seeds)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return fig


def evaluation_report(metrics: EvaluationResult, *, title: str, subtitle: str = "") -> str:
    rows: list[dict[str, Any]] = [{"criterion": cid, **m.model_dump()} for cid, m in metrics.per_criterion.items()]
    notes = "".join(f"<p class='note'>{cid}: {m.note}</p>" for cid, m in metrics.per_criterion.items() if m.note)
    sections = [Section("Agreement with human labels, per criterion", table_html(rows, COLUMNS) + notes)]
    for cid, m in metrics.per_criterion.items():
        sections.append(Section(cid, "", _plots(cid, m)))
    learning = metrics.learning_curve
    if learning:
        table = table_html([{"train_size": p.train_size, "accuracy": p.accuracy} for p in learning],
                           ["train_size", "accuracy"])
        sections.append(Section("Learning curve: how many reviews until it can be trusted", table,
                                [_learning_plot(learning)]))
    active = metrics.active_learning
    if active:
        table = table_html([{"order": k, "reviews_needed_median": active[k]["reviews_needed_median"],
                             "reviews_needed_per_seed": active[k]["reviews_needed_per_seed"]}
                            for k in ("uncertainty", "random")], ["order", "reviews_needed_median",
                                                                  "reviews_needed_per_seed"])
        sections.append(Section("Active learning: reviews needed, least sure first vs random order", table,
                                [figure_to_data_uri(active_learning_figure(active))]))
    return render_page(title, sections, subtitle)
