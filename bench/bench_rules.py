"""Benchmark: rule checks throughput, and the share of a mixed rubric's questions that no longer reach a model.

1. 10,000 synthetic conversations (seeded; en/zh/ro/bg; 8-12 turns with timestamps, built from the example
   transcripts' turns with forbidden/required phrases mixed in) × 10 rule criteria (6 phrase lists in four
   languages with scopes and ``unless``, 1 regex, 3 timing checks), answered by ``scorer.rules.engine.answer_rules``
   in one process (one core). Target: ≥ 2,000 conversations/s per core. Side by side, on a slice, the naive way the
   engine replaces: normalise each turn and search every phrase of every criterion in it (a loop of searches).
2. ``examples/rubrics/support-core.yaml`` on ``examples/conversations.jsonl`` through the real pipeline with a
   counting judge: how many questions the model is asked with the rules, and how many it would be asked without.

    python bench/bench_rules.py [--n 10000] [--out bench-results/rules.json]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scorer.judges.fake import FakeJudge
from scorer.pipeline import score_conversation
from scorer.rubric import load_rubric, parse_rubric
from scorer.rules.engine import answer_rules, compile_rules
from scorer.rules.normalise import normalise
from scorer.types import Conversation, Criterion, Judgement

ROOT = Path(__file__).resolve().parents[1]
RUBRIC = parse_rubric("""
id: bench-rules
criteria:
  - id: forbidden
    question: Did the agent keep from using forbidden phrases?
    check:
      kind: phrases
      forbid:
        en: ["calm down", "that's not my job", "that's not my problem", "there is nothing I can do",
             "as I already told you", "you should have read the terms"]
        zh: ["冷静一点", "这不是我的工作", "这不是我的问题", "我已经说过了"]
        ro: ["calmați-vă", "nu e treaba mea", "nu pot face nimic", "cum v-am mai spus"]
        bg: ["успокойте се", "това не е моя работа", "нищо не мога да направя", "както вече ви казах"]
      unless: ["tell you to calm down"]
  - id: greeting
    question: Did the agent name themselves or the company?
    check:
      kind: phrases
      within: {first_turns: 1}
      require: {en: ["this is", "my name is", "I'm"], zh: ["我是", "这里是"], ro: ["sunt", "vă scrie"],
                bg: ["казвам се", "пише ви"]}
      unless: ["I'm sorry"]
  - id: closing
    question: Did the agent ask whether the customer needed anything else?
    check:
      kind: phrases
      within: {last_turns: 2}
      require: {en: ["anything else"], zh: ["还有其他"], ro: ["altceva"], bg: ["нещо друго"]}
  - id: disclosure
    question: Did the agent say the call is recorded?
    check:
      kind: phrases
      require: {en: ["this call is recorded", "may be recorded"], zh: ["录音"], ro: ["înregistrat"],
                bg: ["записва"]}
  - id: no_slang
    question: Did the agent avoid slang?
    check: {kind: phrases, forbid: {"*": ["gonna", "wanna", "dunno", "lol", "whatever"]}}
  - id: no_customer_threat
    question: Did the customer refrain from threatening to leave?
    check:
      kind: phrases
      speaker: customer
      forbid: {en: ["cancel my account", "switch provider"], zh: ["取消账户"], ro: ["reziliez"],
               bg: ["прекратя договора"]}
  - id: no_card_number
    question: Did the agent avoid asking for the full card number?
    check: {kind: regex, forbid: ["full card number", "\\\\b\\\\d{16}\\\\b"]}
  - id: first_response
    question: Did the agent answer within a minute?
    check: {kind: first_response, max_seconds: 60}
  - id: response_gap
    question: Did the agent answer every message within two minutes?
    check: {kind: response_gap, max_seconds: 120}
  - id: silence
    question: Did the agent avoid silences over 30 seconds?
    check: {kind: silence, max_seconds: 30}
""")
EXTRAS = {"en": ["Calm down, please.", "This call is recorded.", "Is there anything else?", "I'm gonna check.",
                 "Did someone tell you to calm down?"],
          "zh": ["请冷静一点！", "本次通话将被录音。", "还有其他问题吗？"],
          "ro": ["Calmati-va, va rog.", "Apelul este înregistrat.", "Mai doriți altceva?"],
          "bg": ["Успокойте се.", "Разговорът се записва.", "Нещо друго?"]}


def synthetic(n: int, seed: int = 7) -> list[Conversation]:
    rng = random.Random(seed)
    pools: dict[str, dict[str, list[str]]] = {}
    for line in (ROOT / "examples" / "conversations.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        pool = pools.setdefault(record["language"], {"agent": [], "customer": []})
        for turn in record["turns"]:
            pool[turn["speaker"]].append(turn["text"])
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        language = rng.choice(sorted(pools))
        at = 0.0
        turns = []
        for k in range(rng.randint(8, 12)):
            speaker = "customer" if k % 2 == 0 else "agent"
            text = rng.choice(pools[language][speaker])
            if speaker == "agent" and rng.random() < 0.15:
                text += " " + rng.choice(EXTRAS[language])
            at += rng.uniform(2, 90)
            turns.append({"speaker": speaker, "text": text, "timestamp": t0 + timedelta(seconds=at)})
        out.append(Conversation(id=f"b{i}", language=language, channel="chat", turns=turns))
    return out


def naive(conversation: Conversation, criteria: Sequence[Criterion]) -> int:
    """The loop of searches the engine replaces: every phrase of every criterion searched in every turn."""
    hits = 0
    texts = [normalise(t.text).text for t in conversation.turns]
    for criterion in criteria:
        check = criterion.check
        if check is None or check.kind != "phrases":
            continue
        for phrase in check.phrases_for(check.lists, conversation.language):
            needle = normalise(phrase).text
            hits += sum(needle in text for text in texts)
    return hits


def big_list(size: int) -> Criterion:
    """A criterion with ``size`` distinct forbidden phrases (a long compliance list), none of which occurs."""
    phrases = [f"forbidden wording number {n} {chr(97 + n % 26)}" for n in range(size)]
    return parse_rubric(json.dumps({"id": "big", "criteria": [{
        "id": "big", "question": "Did the agent avoid the listed wordings?",
        "check": {"kind": "phrases", "forbid": phrases}}]})).criteria[0]


def per_core(work: Callable[[Conversation], object], conversations: Sequence[Conversation]) -> float:
    cpu = time.process_time()
    for c in conversations:
        work(c)
    return len(conversations) / (time.process_time() - cpu)


class CountingJudge(FakeJudge):
    """The fake judge, counting the questions it is asked."""

    def __init__(self) -> None:
        super().__init__("yes")
        self.asked = 0

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        self.asked += len(criteria)
        return super().judge(conversation, criteria)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("bench-results/rules.json"))
    args = parser.parse_args()
    conversations = synthetic(args.n)
    start = time.perf_counter()
    compile_rules(RUBRIC.criteria)
    compile_seconds = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    failing = sum(j.answer == "no" for c in conversations for j in answer_rules(c, RUBRIC.criteria))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    rate = len(conversations) / cpu_seconds  # per core: one process, one thread, CPU time (the machine is shared)
    slice_ = conversations[: max(1, len(conversations) // 10)]
    results: dict[str, float] = {}
    print(f"rules: {len(conversations):,} conversations x {len(RUBRIC.criteria)} rule criteria: {cpu_seconds:.2f} CPU "
          f"s = {rate:,.0f} conversations/s per core (target ≥ 2,000); wall clock {seconds:.2f} s = "
          f"{len(conversations) / seconds:,.0f}/s; compile {compile_seconds * 1000:.0f} ms; {failing:,} 'no' answers")
    phrase_only = [c for c in RUBRIC.criteria if c.check is not None and c.check.kind == "phrases"]
    for size in (0, 1000):
        criteria = phrase_only if size == 0 else [*phrase_only, big_list(size)]
        engine_rate = per_core(lambda c, cr=criteria: answer_rules(c, cr), slice_)  # type: ignore[misc]
        loop_rate = per_core(lambda c, cr=criteria: naive(c, cr), slice_)  # type: ignore[misc]
        what = "the bench's phrase criteria" if size == 0 else f"those + one criterion of {size:,} phrases"
        print(f"  side by side, {what}: engine {engine_rate:,.0f}/s (judgements and evidence included), "
              f"loop of searches {loop_rate:,.0f}/s (existence only), per core, {len(slice_):,} conversations")
        results[f"phrases_{size}_engine_per_second"] = engine_rate
        results[f"phrases_{size}_loop_per_second"] = loop_rate
    rubric = load_rubric(ROOT / "examples" / "rubrics" / "support-core.yaml")
    judge = CountingJudge()
    examples = [Conversation.model_validate_json(line) for line in
                (ROOT / "examples" / "conversations.jsonl").read_text(encoding="utf-8").splitlines()]
    for conversation in examples:
        score_conversation(conversation, rubric, judge)
    total = len(examples) * len(rubric.criteria)
    share = 1 - judge.asked / total
    print(f"mixed rubric {rubric.id} ({sum(c.check is not None for c in rubric.criteria)} of {len(rubric.criteria)} "
          f"criteria are rules) on {len(examples)} example conversations: the model was asked {judge.asked} of "
          f"{total} questions; {share:.1%} no longer reach a model")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "conversations": len(conversations), "rule_criteria": len(RUBRIC.criteria), "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "conversations_per_second_one_core": rate,
        **results, "compile_ms": compile_seconds * 1000, "mixed_rubric_questions": total, "asked_model": judge.asked,
        "share_not_reaching_model": share}, indent=2))


if __name__ == "__main__":
    main()
