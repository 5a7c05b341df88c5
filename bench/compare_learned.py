"""Side by side on the shared datasets: the learned judge with MiniLM vs e5, conversation- vs turn-level, and the
per-criterion choice (auto) — κ with bootstrap 95 % intervals beside the human–human baseline — and the simulated
active-learning curves (least sure first vs random order, e5 conversation-level features, 3 seeds), plotted into
docs/img/active-learning-<dataset>.png.

One training with every candidate kept (``train(candidates_out=…)``); each variant is that training's candidate for
every criterion. Embeddings come from the shared on-disk turn cache (filled by any earlier run).

    python bench/compare_learned.py --dataset stc3-en|esconv [--out bench-results/compare-<dataset>.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
from pathlib import Path
from typing import Any

from eval.active import simulate
from eval.datasets import load_dataset, split
from eval.harness import evaluate, predict
from eval.report.evaluation import active_learning_figure
from eval.training import DEFAULT_TURN_FEATURES, train
from scorer.judges._features import Featuriser
from scorer.judges.learned import LearnedJudge
from scorer.rubric import load_rubric
from scorer.settings import Settings

SHARED = Path(os.environ.get("RUBRICATE_SHARED_DATASETS", "/work/shared/datasets"))
DOCS_IMG = Path(__file__).resolve().parents[1] / "docs" / "img"
VARIANTS = ("minilm/conversation", "e5/conversation", "minilm/turn", "e5/turn", "minilm/turn+lexical",
            "e5/turn+lexical", "minilm/turn+joint", "e5/turn+joint", "minilm/turn+lexical+joint",
            "e5/turn+lexical+joint", "auto")  # candidate labels (CriterionModel.label); a column only where trained


def _fmt(m: dict[str, Any]) -> str:
    if m.get("kappa") is None:
        return "—"
    lo, hi = m["kappa_ci"] or (None, None)
    return f"{m['kappa']:.2f} [{lo:.2f}, {hi:.2f}]" if lo is not None else f"{m['kappa']:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["stc3-en", "esconv"], default="stc3-en")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--no-active-learning", action="store_true", help="skip the (slow) active-learning curves")
    parser.add_argument("--turn-features", default=",".join(DEFAULT_TURN_FEATURES),
                        help="turn feature sets to try, comma-separated: previous, reply, lexical")
    parser.add_argument("--joint", action="store_true", help="also try joint turn classifiers (where possible)")
    args = parser.parse_args()
    folder = SHARED / args.dataset
    rubric = load_rubric(folder / "rubric.yaml")
    if args.dataset == "esconv":
        train_set, test_set = load_dataset(folder / "dev.jsonl", rubric), load_dataset(folder / "test.jsonl", rubric)
    else:
        train_set, test_set = split(load_dataset(folder / "data.jsonl", rubric), 0.3, args.seed)
    cache = Settings().cache_dir / "embeddings"
    featurisers = {n: Featuriser(n, cache_dir=cache) for n in ("e5", "minilm")}
    results: dict[str, Any] = {}
    candidates: dict[str, dict[str, Any]] = {}
    auto = train(train_set, rubric, featurisers=featurisers, candidates_out=candidates,
                 turn_features=args.turn_features.split(","), joint=args.joint)
    variants = [v for v in VARIANTS if v == "auto" or any(v in found for found in candidates.values())]
    for name in variants:
        model = auto if name == "auto" else copy.copy(auto)
        if name != "auto":
            model.criteria = {cid: found[name] for cid, found in candidates.items() if name in found}
        judge = LearnedJudge(model, featurisers=featurisers)
        metrics = evaluate(test_set, predict(judge, test_set, rubric), rubric, seed=args.seed)
        results[name] = {
            cid: {k: getattr(m, k) for k in ("n", "accuracy", "kappa", "kappa_ci", "human_human_kappa",
                                    "auto_accept_coverage", "evidence_precision", "evidence_recall")}
            | {"chosen": _chosen(model.criteria[cid]) if cid in model.criteria else None,
               "heldout_kappa": model.criteria[cid].heldout_kappa if cid in model.criteria else None}
            for cid, m in metrics.per_criterion.items()}
        print(f"{name}: done", flush=True)
    auto.save(Path(f"bench-results/learned-{args.dataset}-auto"))
    e5 = copy.copy(auto)  # the best e5 candidate per criterion (by held-out κ): for the e5 throughput bench
    e5.criteria = {cid: max((m for k, m in found.items() if k.startswith("e5/")),
                            key=lambda m: m.heldout_kappa.get(m.label) or -2.0)
                   for cid, found in candidates.items() if any(k.startswith("e5/") for k in found)}
    e5.embeddings = {"e5": auto.embeddings.get("e5") or featurisers["e5"].fingerprint}
    e5.save(Path(f"bench-results/learned-{args.dataset}-e5"))
    if not args.no_active_learning:
        _active_learning(train_set, test_set, rubric, featurisers["e5"], args.dataset, results)
    _print_table(rubric, results, variants)
    out = args.out or Path(f"bench-results/compare-{args.dataset}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


def _active_learning(train_set: Any, test_set: Any, rubric: Any, featuriser: Featuriser, dataset: str,
                     results: dict[str, Any]) -> None:
    active = simulate(train_set, test_set, rubric, featuriser, seeds=3)
    results["active_learning"] = active
    for strategy in ("uncertainty", "random"):
        print(f"active learning, {strategy}: median reviews per criterion to reach {active['target_accuracy']:.3f}: "
              f"{active[strategy]['reviews_needed_median']} (per seed {active[strategy]['reviews_needed_per_seed']})")
    figure = active_learning_figure(active, f"{dataset}: active learning (e5, conversation level)")
    figure.savefig(DOCS_IMG / f"active-learning-{dataset}.png", dpi=110, bbox_inches="tight")


def _chosen(m: Any) -> str:
    return m.label + (f" ({m.aggregate})" if m.level == "turn" else "")


def _print_table(rubric: Any, results: dict[str, Any], variants: list[str]) -> None:
    header = "| criterion | human–human κ | " + " | ".join(variants) + " | auto chose (held-out κ) |"
    print(header)
    print("|" + "---|" * (len(variants) + 3))
    for criterion in rubric.criteria:
        cid = criterion.id
        hh = results["auto"][cid]["human_human_kappa"]
        cells = [_fmt(results[v][cid]) for v in variants]
        print(f"| {cid} | {'—' if hh is None else f'{hh:.2f}'} | " + " | ".join(cells)
              + f" | {results['auto'][cid]['chosen']} |")
    for cid in results["auto"]:
        print(cid, "held-out κ:", {k: None if v is None else round(v, 2)
                                   for k, v in (results["auto"][cid]["heldout_kappa"] or {}).items()})


if __name__ == "__main__":
    main()
