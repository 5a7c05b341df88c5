"""Benchmark: the cost of PII redaction before a hosted call, next to rendering the prompt it protects.

Builds conversations of 20 turns in each seed language (en, zh, ro, bg), every other turn carrying an email, a
phone number and a national id or IBAN, and times, side by side in one run, ``Redactor.redact`` (detect, replace,
keep the mapping) and ``render_transcript`` (what the hosted judge does with the text anyway). Reports ms per
conversation and the ratio; a hosted call itself takes hundreds of ms, so redaction should be a small fraction of
it. Also times the YAML alias-bomb refusal. Writes bench-results/redact.json.

    python bench/bench_redact.py [--conversations 50]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prompts import render_transcript  # noqa: E402
from scorer._errors import RubricError  # noqa: E402
from scorer.redact import Redactor  # noqa: E402
from scorer.rubric import parse_rubric  # noqa: E402
from scorer.types import Conversation  # noqa: E402

PLAIN = {"en": "Thanks for waiting, I have checked the order and the parcel leaves the warehouse today.",
         "zh": "感谢您的耐心等待，我已经查看了订单，包裹今天从仓库发出。",
         "ro": "Vă mulțumesc pentru răbdare, am verificat comanda și coletul pleacă azi din depozit.",
         "bg": "Благодаря за търпението, проверих поръчката и пакетът тръгва днес от склада."}
PII = {"en": "Write to john.doe@example.com or call +1 415 555 2671; card 4111 1111 1111 1111.",
       "zh": "邮箱li.wei@example.cn，电话13812345678，身份证号11010519491231002X。",
       "ro": "Email ana.popescu@example.ro, telefon 0722 123 456, CNP 1800101221144.",
       "bg": "Имейл ivan@example.bg, телефон 0888 123 456, IBAN BG80 BNBG 9661 1020 3456 78."}


def conversations(count: int) -> list[Conversation]:
    out = []
    for n in range(count):
        lang = list(PLAIN)[n % 4]
        turns = [{"speaker": "customer" if t % 2 else "agent", "text": PII[lang] if t % 2 else PLAIN[lang]}
                 for t in range(20)]
        out.append(Conversation(id=f"b{n}", language=lang, turns=turns))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=50)
    args = parser.parse_args()
    convs = conversations(args.conversations)
    redactor = Redactor()
    redactor.redact(convs[0])  # warm-up (phonenumbers loads its metadata lazily)
    start = time.perf_counter()
    for c in convs:
        render_transcript(c, max_chars=200_000)
    render_ms = (time.perf_counter() - start) * 1000 / len(convs)
    start = time.perf_counter()
    replaced = 0
    for c in convs:
        replaced += redactor.redact(c)[1].total
    redact_ms = (time.perf_counter() - start) * 1000 / len(convs)
    bomb = "\n".join(['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
                     + [f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, 10)])
    start = time.perf_counter()
    with contextlib.suppress(RubricError):
        parse_rubric(bomb + "\nid: r\ncriteria: [{id: q, question: Q?}]\n")
    bomb_ms = (time.perf_counter() - start) * 1000
    result = {"conversations": len(convs), "turns_each": 20, "redact_ms_per_conversation": round(redact_ms, 2),
              "render_ms_per_conversation": round(render_ms, 3),
              "ratio_redact_to_render": round(redact_ms / render_ms, 1),
              "items_replaced_per_conversation": replaced / len(convs),
              "alias_bomb_9_levels_refused_ms": round(bomb_ms, 1)}
    print(json.dumps(result, indent=2))
    Path("bench-results").mkdir(exist_ok=True)
    Path("bench-results/redact.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
