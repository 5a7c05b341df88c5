"""Measure: tokens per conversation on the hosted path, as rubricate's own accounting records them.

rubricate's hosted judge (``litellm/openai/gpt-4o-mini``, one call per conversation with all its questions) is
pointed at a loopback OpenAI-compatible server (real HTTP, this file's FastAPI app) that counts the prompt with
gpt-4o-mini's tokenizer (tiktoken ``o200k_base``, shipped inside litellm: no network) and answers with the
schema-valid reply the request's ``response_format`` asks for. What is reported is what ``scorer.usage`` recorded
for each conversation (prompt and completion tokens, dollars from litellm's offline cost map), plus the shared
prefix (system prompt + questions + answer format, everything before ``<transcript``) tokenised the same way.

Two reply modes: ``short`` (answers only: the reply is fixed by the schema, so its token count is what a model
constrained by that schema emits, give or take whitespace) and ``reasoning`` (capped reasoning and two quotes per
question; the fake fills them to their caps so the call succeeds, and the projection takes the ``max_tokens``
rubricate sends as the upper bound of what a model may generate). Conversations: STC-3 English helpdesk
dialogues with the STC-3 rubric (7 questions), or ``--data``/``--rubric``. Writes bench-results/tokens.json,
which ``bench/project_month.py --tokens`` reads.

    python bench/measure_tokens.py [--conversations 200] [--json bench-results/tokens.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI, Request  # noqa: E402  (module level: the route's annotations are resolved here)

from bench.bench_api import percentile  # noqa: E402
from bench.bench_peers import DATA  # noqa: E402

MODEL = "gpt-4o-mini"


def filled(schema: dict[str, Any], *, at_caps: bool) -> Any:
    """A value valid against ``schema`` (the subset rubricate sends): the first allowed answer; strings and arrays
    empty, or filled to their ``maxLength``/``maxItems`` with ``at_caps``; numbers at their middle."""
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        return {name: filled(sub, at_caps=at_caps) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [filled(schema["items"], at_caps=at_caps) for _ in range(schema.get("maxItems", 1) if at_caps else 0)]
    if kind == "string":
        return ("the agent said so in turn 3 " * 40)[: schema.get("maxLength", 40)].strip() if at_caps else ""
    if kind in ("number", "integer"):
        return 0.5 if kind == "number" else 1
    return None


def fake_openai(at_caps: bool) -> Any:
    """An OpenAI-compatible ``/v1/chat/completions`` that counts tokens as OpenAI would for gpt-4o-mini."""
    import litellm

    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> dict[str, Any]:
        body = await request.json()
        fmt = body.get("response_format") or {}
        schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema") or {"type": "object"}
        content = json.dumps(filled(schema, at_caps=at_caps))
        prompt = litellm.token_counter(model=MODEL, messages=body["messages"])
        completion = litellm.token_counter(model=MODEL, text=content, count_response_tokens=True)
        return {"id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()), "model": MODEL,
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion}}

    return app


class Server:
    """uvicorn on a free loopback port in a thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}/v1"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def measure(mode: str, criteria: list[Any], conversations: list[Any]) -> dict[str, Any]:
    import litellm

    from scorer.judges import JudgeOptions
    from scorer.judges.hosted import HostedJudge
    from scorer.usage import recording

    short = mode == "short"
    with Server(fake_openai(at_caps=not short)) as base:
        judge = HostedJudge(f"openai/{MODEL}", JudgeOptions(api_base=base, max_retries=0, short_answers=short,
                                                             response_format="json_schema", evidence=not short))
        rows = []
        for conversation in conversations:
            with recording() as usage:
                judgements = judge.judge(conversation, criteria)
            unscored = [j.reason for j in judgements if j.status != "scored"]
            if unscored:
                raise SystemExit(f"{conversation.id}: not scored: {unscored[0]}")
            messages = judge.messages(conversation, criteria)
            head = messages[1]["content"].split("<transcript", 1)[0]
            prefix = litellm.token_counter(model=MODEL, messages=[messages[0], {"role": "user", "content": head}])
            rows.append((usage, prefix, judge.request_shape(criteria)["max_tokens"]))
    completions = [float(u.completion_tokens) for u, _, _ in rows]

    def stats(values: list[float]) -> dict[str, float]:
        return {"mean": round(statistics.fmean(values), 1), "p50": percentile(values, 50),
                "p95": percentile(values, 95)}

    prompts = [float(u.prompt_tokens) for u, _, _ in rows]
    prefixes = [float(p) for _, p, _ in rows]
    costs = [u.cost_usd for u, _, _ in rows]
    return {
        "mode": mode, "calls_per_conversation": statistics.fmean(u.calls for u, _, _ in rows),
        "prompt_tokens": stats(prompts), "shared_prefix_tokens": stats(prefixes),
        "transcript_tokens": stats([a - b for a, b in zip(prompts, prefixes, strict=True)]),
        "completion_tokens": stats(completions), "max_tokens_requested": rows[0][2],
        # what the projection should assume: the schema-fixed short reply; for reasoning, the cap rubricate sends
        "completion_tokens_for_projection": round(statistics.fmean(completions)) if short else rows[0][2],
        "usd_per_conversation": round(statistics.fmean(c for c in costs if c is not None), 7)
        if all(c is not None for c in costs) else None,
        "priced_as": rows[0][0].priced_as,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--data", type=Path, default=DATA, help="a dataset folder with data.jsonl and rubric.yaml")
    parser.add_argument("--file", default="data.jsonl", help="the conversations file inside --data")
    parser.add_argument("--rubric", type=Path, default=None, help="another rubric (default: the dataset's); its "
                        "rule criteria (check:) are left out, as the rule engine answers them, not the model")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results" / "tokens.json")
    args = parser.parse_args()
    from eval.datasets import load_dataset
    from scorer.rubric import load_rubric

    rubric = load_rubric(args.rubric or args.data / "rubric.yaml")
    items = list(load_dataset(args.data / args.file, load_rubric(args.data / "rubric.yaml")).items)
    random.Random(args.seed).shuffle(items)
    conversations = [item.conversation for item in items[:args.conversations]]
    criteria = [c for c in rubric.criteria if c.check is None]
    result = {"model": MODEL, "tokenizer": "o200k_base (litellm's bundled tiktoken files)",
              "rubric": rubric.id, "questions": len(criteria), "conversations": len(conversations),
              "data": str(args.data / args.file),
              "modes": {m: measure(m, criteria, conversations) for m in ("short", "reasoning")}}
    print(json.dumps(result, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
