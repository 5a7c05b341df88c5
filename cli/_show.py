"""Render score results (the JSONL of ``rubricate score --out``) as Rich tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from cli._common import console
from scorer._errors import ConversationError
from scorer.evidence import turn_label

__all__ = ["print_records", "print_summary", "usage_line"]

_ANSWER_STYLE = {"yes": "green", "no": "red", "na": "dim"}


def _load(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise ConversationError(f"{path}: no such results file (write one with `rubricate score --out`)") from exc
    except IsADirectoryError as exc:
        raise ConversationError(f"{path}: is a directory; give the results file written by --out") from exc
    except UnicodeDecodeError as exc:
        raise ConversationError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start}); is it a results file?") from exc
    records = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConversationError(f"{path}:{number}: not a JSON result line: {exc.msg}") from exc
    return records


def usage_line(usage: Any) -> str:
    """``3 call(s) · 4,210 prompt tokens (1,024 cached) · 380 completion tokens · $0.0008`` from a Usage or dict."""
    u = usage if isinstance(usage, dict) else usage.model_dump()
    cost = u.get("cost_usd")
    price = f"${cost:.4f}" if cost is not None else "cost unknown (not in litellm's cost map)"
    cached = f" ({u.get('cached_tokens', 0):,} cached)" if u.get("cached_tokens") else ""
    return (f"{u.get('calls', 0)} call(s) · {u.get('prompt_tokens', 0):,} prompt tokens{cached} · "
            f"{u.get('completion_tokens', 0):,} completion tokens · {price}")


def _evidence_text(judgement: dict[str, Any]) -> Text:
    text = Text()
    for e in judgement.get("evidence", []):
        quote = e["quote"] if len(e["quote"]) <= 90 else e["quote"][:87] + "…"
        text.append(f"[{turn_label(e['turn'])}] ", style="dim")
        text.append(f"“{quote}”\n")
    if not judgement.get("evidence") and judgement.get("judge_id") == "rule" and judgement.get("rationale"):
        text.append(f"rule: {judgement['rationale']}", style="dim")  # e.g. none of the required phrases …
    if judgement.get("dropped_quotes"):
        text.append(f"{judgement['dropped_quotes']} quote(s) not found in transcript, dropped", style="yellow")
    return text


def print_records(path: Path, *, conversation: str | None = None, review_only: bool = False) -> None:
    """Print one table per conversation in the results file."""
    records = _load(path)
    if conversation:
        records = [r for r in records if r.get("conversation_id") == conversation]
        if not records:
            raise ConversationError(f"{path}: no results for conversation {conversation!r}")
    for record in records:
        if record.get("status") == "excluded":
            console.print(Text.assemble((str(record["conversation_id"]), "bold"), "  excluded: ",
                                        (str(record.get("reason")), "yellow"),
                                        ("  (not scored, no model call)", "dim")))
            continue
        score = record.get("score")
        failed = ", ".join(record.get("auto_failed_by", []))
        pending = ", ".join(record.get("pending_auto_fail", []))
        title = Text.assemble(
            (str(record["conversation_id"]), "bold"), f"  score {'—' if score is None else f'{score:.1f}'}",
            (f"  AUTO-FAIL: {failed}" if record.get("auto_failed") else "", "red"),
            (f"  PROVISIONAL: auto-fail {pending} awaits review" if record.get("provisional") else "", "yellow"),
            (f"  {record['rubric_id']}@{record['rubric_version']} · {record['judge']}", "dim"),
        )
        table = Table(title=title, title_justify="left", show_lines=True, expand=True)
        table.add_column("criterion", ratio=2)
        table.add_column("answer", ratio=1)
        table.add_column("conf.", justify="right", ratio=1)
        table.add_column("evidence", ratio=5)
        table.add_column("review", ratio=2)
        for j in record["judgements"]:
            if review_only and not j.get("needs_review"):
                continue
            if j["status"] == "unscored":
                answer = Text("unscored", style="bold yellow")
                evidence = Text(j.get("reason") or "", style="yellow")
            else:
                answer = Text(str(j["answer"]), style=_ANSWER_STYLE.get(str(j["answer"]), "cyan"))
                evidence = _evidence_text(j)
            confidence = "" if j.get("confidence") is None else f"{j['confidence']:.2f}"
            reasons = ", ".join(j.get("review_reasons", []))
            table.add_row(Text(str(j["criterion_id"])), answer, confidence, evidence, Text(reasons, style="magenta"))
        console.print(table)
        if record.get("usage"):
            console.print(Text(f"model usage: {usage_line(record['usage'])}", style="dim"))
    console.print(Text(f"{len(records)} conversation(s)"))
    _print_total_usage(records)


def _print_total_usage(records: list[dict[str, Any]]) -> None:
    from scorer.usage import Usage, total

    used = [Usage.model_validate(r["usage"]) for r in records if r.get("usage")]
    if used:
        console.print(f"total model usage over {len(used)} conversation(s): {usage_line(total(used))}")


def print_summary(path: Path) -> None:
    """One line per conversation: score, auto-fail, answers given, judgements flagged for review."""
    records = _load(path)
    table = Table(title=Text(f"{path}: {len(records)} conversation(s)"), title_justify="left")
    with_usage = any(r.get("usage") for r in records)  # columns that would stay empty are left out
    columns = ["conversation", "judge", "score", "auto-fail", "pending auto-fail", "yes / no / na / other",
               "unscored", "to review", *(["tokens", "cost $"] if with_usage else [])]
    for column in columns:
        table.add_column(column)
    for r in records:
        answers = [j.get("answer") for j in r["judgements"] if j["status"] == "scored"]
        counts = [answers.count("yes"), answers.count("no"), answers.count("na")]
        other = len(answers) - sum(counts)
        score = "—" if r.get("score") is None else f"{r['score']:.1f}"
        if r.get("status") == "excluded":
            score = f"excluded: {r.get('reason')}"
        table.add_row(Text(str(r["conversation_id"])), Text(str(r["judge"])), Text(score),
                      Text(", ".join(r.get("auto_failed_by", []))),
                      Text(", ".join(r.get("pending_auto_fail", []))),
                      f"{counts[0]} / {counts[1]} / {counts[2]} / {other}",
                      str(sum(j["status"] == "unscored" for j in r["judgements"])),
                      str(sum(bool(j.get("needs_review")) for j in r["judgements"])),
                      *(_usage_cells(r.get("usage")) if with_usage else ()))
    console.print(table)
    _print_total_usage(records)
    console.print(Text(summary_line(records)))


def summary_line(records: list[dict[str, Any]]) -> str:
    """The batch in one line: scores, auto-fails, provisional cards, who answered, what goes to review."""
    scores = [r["score"] for r in records if r.get("score") is not None]
    judgements = [j for r in records for j in r["judgements"]]
    by_rule = sum(j.get("judge_id") == "rule" for j in judgements)
    mean = f"mean score {sum(scores) / len(scores):.1f}" if scores else "no scores"
    return (f"{len(records)} conversation(s) · {mean} · {sum(s == 0 for s in scores)} scored 0 · "
            f"auto-failed {sum(bool(r.get('auto_failed')) for r in records)} · provisional (auto-fail awaiting "
            f"review) {sum(bool(r.get('provisional')) for r in records)} · {len(judgements)} judgements: "
            f"{by_rule} by rules, {len(judgements) - by_rule} by the model · "
            f"{sum(bool(j.get('needs_review')) for j in judgements)} to review")


def _usage_cells(usage: dict[str, Any] | None) -> tuple[str, str]:
    if not usage:
        return "", ""
    cost = usage.get("cost_usd")
    return (f"{usage.get('prompt_tokens', 0) + usage.get('completion_tokens', 0):,}",
            "?" if cost is None else f"{cost:.4f}")
