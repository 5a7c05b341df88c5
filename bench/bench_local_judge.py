"""Benchmark: per-question full prompts vs one transcript encoding per conversation, on the local judge.

For N synthetic support conversations × Q questions at two transcript lengths (~700 and ~3,000 tokens of turn
text; the rendered prompts are ~1,200 and ~4,800 tokens), it times the answer pass of each mode in the same run and
counts the tokens the model processed, then prints the ratios. Evidence-quote generation is switched off in all modes
so that only the answering work is compared.

The modes are interleaved conversation by conversation (and their order rotated), so that a change in the machine's
load during the run falls on every mode alike; both wall time and the process's CPU time are recorded. On a shared
machine the CPU-time ratio is the steadier of the two.

    python bench/bench_local_judge.py [--conversations 10] [--long-conversations 3] [--questions 10]
                                      [--modes full sequential packed] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from scorer.judges import JudgeOptions, get_judge
from scorer.judges.local import LocalJudge
from scorer.rubric import parse_rubric
from scorer.types import Conversation, Criterion

QUESTIONS = [
    "Did the agent greet the customer and give their own name?",
    "Did the agent say which of the customer's concerns they understand?",
    "Did the agent ask a clarifying question before proposing a fix?",
    "Did the agent offer an actionable solution or a follow-up timeline?",
    "Did the agent tell the customer what they need to do next?",
    "Did the agent use any phrase such as 'calm down' or 'that's not my job'?",
    "Did the agent say the problem was the customer's fault?",
    "Did the agent confirm the customer's account or order number?",
    "Did the agent ask whether there was anything else they could help with?",
    "Did the agent thank the customer before ending the conversation?",
    "Did the agent apologise for the inconvenience?",
    "Did the agent give a reference number for the case?",
]
_CUSTOMER = [
    "My {item} stopped working {when} and I need it for work.", "I was charged twice for {item} on my last bill.",
    "The tracking page for my {item} has not changed {when}.", "I already called {when} and nobody fixed it.",
    "Can you tell me when the {item} will be replaced?", "I tried restarting it, as the website says.",
    "This is the third time I write about the {item}.", "My account number is {num}.",
]
_AGENT = [
    "I'm sorry to hear that your {item} is causing trouble.", "Could you confirm the account number, please?",
    "I can see the order {num} in our system.", "I have booked a technician for {when}.",
    "I have refunded the duplicate charge; it will show within five working days.",
    "Please restart the {item} and tell me whether the light turns green.",
    "Your case reference is {num}; keep it for any follow-up.", "Is there anything else I can help you with?",
]
_FILL = {"item": ["router", "phone", "parcel", "subscription", "card", "laptop"],
         "when": ["since Monday", "yesterday", "for a week", "tomorrow morning", "on Friday"]}


def synth_conversation(index: int, target_tokens: int, tokenizer: object) -> Conversation:
    """A deterministic support conversation of about ``target_tokens`` tokens."""
    rng = random.Random(index * 7919 + target_tokens)
    turns: list[dict[str, str]] = []
    text_so_far = ""
    while len(tokenizer(text_so_far)["input_ids"]) < target_tokens:  # type: ignore[operator]
        speaker = "customer" if len(turns) % 2 == 0 else "agent"
        pool = _CUSTOMER if speaker == "customer" else _AGENT
        sentence = " ".join(
            rng.choice(pool).format(item=rng.choice(_FILL["item"]), when=rng.choice(_FILL["when"]),
                                    num=rng.randint(10000, 99999))
            for _ in range(rng.randint(1, 3))
        )
        turns.append({"speaker": speaker, "text": sentence})
        text_so_far += sentence + "\n"
    return Conversation(id=f"bench-{target_tokens}-{index}", channel="chat", turns=turns)


def _timed(judge: LocalJudge, mode: str, conv: Conversation, criteria: Sequence[Criterion]) -> tuple[float, float, int]:
    judge.mode = mode  # type: ignore[assignment]
    judge.tokens_processed = 0
    wall, cpu = time.perf_counter(), time.process_time()
    judge.judge(conv, criteria)
    return time.perf_counter() - wall, time.process_time() - cpu, judge.tokens_processed


def run(conversations: int, questions: int, lengths: list[int], long_conversations: int,
        modes: list[str]) -> dict[str, object]:
    judge = get_judge("local", JudgeOptions(evidence=False, max_context_tokens=8192))
    assert isinstance(judge, LocalJudge)
    rubric = parse_rubric("id: bench\ncriteria:\n" + "".join(
        f"  - {{id: q{i}, question: {json.dumps(q)}}}\n" for i, q in enumerate(QUESTIONS[:questions])))
    results: dict[str, object] = {"questions": questions, "conversations": conversations, "lengths": {},
                                  "load_average_start": os.getloadavg()[0]}
    warm = synth_conversation(0, 200, judge.loaded.tokenizer)
    for mode in modes:
        _timed(judge, mode, warm, rubric.criteria)
    for length in lengths:
        count = conversations if length < 2000 else long_conversations
        convs = [synth_conversation(i, length, judge.loaded.tokenizer) for i in range(count)]
        row = {mode: {"seconds": 0.0, "cpu_seconds": 0.0, "tokens": 0, "conversations": count} for mode in modes}
        for index, conv in enumerate(convs):
            for mode in modes[index % len(modes):] + modes[: index % len(modes)]:  # rotate the order
                wall, cpu, tokens = _timed(judge, mode, conv, rubric.criteria)
                row[mode]["seconds"] += wall
                row[mode]["cpu_seconds"] += cpu
                row[mode]["tokens"] += tokens
            print(f"  {length:>5} tokens  conversation {index + 1}/{count}  " + "  ".join(
                f"{mode} {row[mode]['seconds']:.1f} s" for mode in modes) + f"  (load {os.getloadavg()[0]:.1f})",
                flush=True)
        for mode in modes:
            row[mode]["seconds_per_conversation"] = row[mode]["seconds"] / count
            print(f"  {length:>5} tokens  {mode:<10} {row[mode]['seconds'] / count:7.2f} s/conv  "
                  f"{row[mode]['cpu_seconds'] / count:7.2f} CPU s/conv  {row[mode]['tokens']:>9,} tokens", flush=True)
        if "full" in row:
            for mode in modes:
                if mode != "full":
                    row[mode]["time_ratio"] = row["full"]["seconds"] / row[mode]["seconds"]
                    row[mode]["cpu_time_ratio"] = row["full"]["cpu_seconds"] / row[mode]["cpu_seconds"]
                    row[mode]["token_ratio"] = row["full"]["tokens"] / row[mode]["tokens"]
        results["lengths"][str(length)] = row  # type: ignore[index]
    results["load_average_end"] = os.getloadavg()[0]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--lengths", type=int, nargs="+", default=[700, 3000])
    parser.add_argument("--long-conversations", type=int, default=3,
                        help="conversations for lengths >= 2000 tokens (full prompts take ~4 min each there)")
    parser.add_argument("--modes", nargs="+", default=["full", "sequential", "packed"],
                        choices=["full", "sequential", "packed"], help="ratios need 'full'")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    parser.add_argument("--out", type=Path, default=Path("bench-results/local_judge.json"))
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    print(f"local judge: {args.conversations} conversations x {args.questions} questions "
          f"(answer pass only, no quote generation), {os.cpu_count()} CPU cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    results = run(args.conversations, args.questions, args.lengths, args.long_conversations or args.conversations,
                  list(dict.fromkeys(args.modes)))
    print(f"\nload average {results['load_average_start']:.1f} at the start, "
          f"{results['load_average_end']:.1f} at the end")
    others = [m for m in dict.fromkeys(args.modes) if m != "full"]
    if "full" in args.modes and others:
        print(f"{'transcript':>10} | {'convs':>5} | {'full s/conv':>11} | " + " | ".join(
            f"{m} s/conv | {m} time ratio | CPU-time ratio | token ratio" for m in others))
        for length, row in results["lengths"].items():  # type: ignore[attr-defined]
            print(f"{length:>10} | {row['full']['conversations']:>5} | "
                  f"{row['full']['seconds_per_conversation']:>11.2f} | " + " | ".join(
                      f"{row[m]['seconds_per_conversation']:.2f} | {row[m]['time_ratio']:.1f}x | "
                      f"{row[m]['cpu_time_ratio']:.1f}x | {row[m]['token_ratio']:.1f}x" for m in others))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
