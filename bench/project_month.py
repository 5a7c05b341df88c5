"""A projection on paper: calls, tokens, money and GPU hours to score N conversations a month.

Tokens per conversation come from rubricate's own hosted-path accounting: ``bench/measure_tokens.py`` writes what
``scorer.usage`` recorded per conversation (prompt tokens, split into the shared prefix and the transcript, and
completion tokens) to bench-results/tokens.json, which ``--tokens`` reads; ``--prefix-tokens`` and friends override
single figures (e.g. a longer transcript than the measured data set's). One call per conversation (questions grouped).

Prices come from litellm's offline cost map (``LITELLM_LOCAL_MODEL_COST_MAP=True``) for the named model: without
cache, with prompt-cache hits on the shared prefix (rubricate sends it first; OpenAI serves from cache only when
the first 1,024 tokens repeat, then in 128-token steps, so a shared prefix under 1,024 tokens gets no discount), and
at the provider's batch price where the map has one.

GPU hours for a self-hosted 8B model on vLLM = completion tokens ÷ a published output throughput of
Llama-3.1-8B-Instruct on vLLM (the A100 runs had 8 input tokens per output token and MLPerf's Llama3.1-8B task is
summarisation, both close to rubricate's short-answer calls, so their prefill cost is inside the figure):

* A100 40GB, BF16, vLLM 0.23.0, 1,024 input / 128 output tokens, concurrency 8 (the latency knee): about 75 output
  tokens/s for one request × 6.6 ≈ 495 tokens/s — J. Musgrave, "vLLM throughput-latency sweep on NVIDIA A100",
  https://johnmusgrave.com/p/vllm-throughput-latency-sweep-on
* H100, FP8, vLLM 0.10.0, MLPerf Inference v5.1 Llama3.1-8B: 5,777 tokens/s (Offline), 5,103 tokens/s (Server) —
  Red Hat, "Efficient and reproducible LLM inference: Red Hat MLPerf Inference v5.1 results",
  https://www.redhat.com/en/blog/efficient-and-reproducible-llm-inference-red-hat-mlperf-inference-v51-results

    python bench/project_month.py [--tokens bench-results/tokens.json] [--conversations 1000000]
        [--model gpt-4o-mini] [--transcript-tokens N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parent.parent

CACHE_MIN, CACHE_STEP = 1024, 128
GPUS = {  # name -> (output tokens/s, source)
    "a100_40gb_bf16_c8": (495.0, "https://johnmusgrave.com/p/vllm-throughput-latency-sweep-on"),
    "h100_fp8_mlperf_server": (5103.0, "https://www.redhat.com/en/blog/"
                               "efficient-and-reproducible-llm-inference-red-hat-mlperf-inference-v51-results"),
}
# Used only when no tokens.json is given: the figures measure_tokens.py gave on STC-3 (6 questions), for a quick look.
FALLBACK = {"short": {"prefix": 399, "transcript": 278, "completion": 73},
            "reasoning": {"prefix": 468, "transcript": 278, "completion": 1044}}


def shapes(path: Path | None, overrides: argparse.Namespace) -> tuple[dict[str, dict[str, float]], str]:
    """Per mode: shared prefix, transcript and completion tokens per conversation, and where they came from."""
    if path is not None and path.exists():
        measured = json.loads(path.read_text())
        result = {mode: {"prefix": m["shared_prefix_tokens"]["mean"], "transcript": m["transcript_tokens"]["mean"],
                         "completion": m["completion_tokens_for_projection"]}
                  for mode, m in measured["modes"].items()}
        source = (f"measured by bench/measure_tokens.py ({path.name}): {measured['conversations']} conversations of "
                  f"{measured['data']}, rubric {measured['rubric']} ({measured['questions']} questions), "
                  f"{measured['tokenizer']}")
    else:
        result, source = {m: dict(v) for m, v in FALLBACK.items()}, "built-in figures (no tokens.json given)"
    for mode in result:
        if overrides.prefix_tokens is not None:
            result[mode]["prefix"] = overrides.prefix_tokens
        if overrides.transcript_tokens is not None:
            result[mode]["transcript"] = overrides.transcript_tokens
    if overrides.transcript_tokens is not None or overrides.prefix_tokens is not None:
        source += "; overridden on the command line: " + ", ".join(
            f"{k} {v}" for k, v in (("prefix", overrides.prefix_tokens), ("transcript", overrides.transcript_tokens))
            if v is not None)
    return result, source


def project(n: int, shape: dict[str, float], prices: dict[str, Any]) -> dict[str, Any]:
    prompt = shape["prefix"] + shape["transcript"]
    p_in, p_out = prices["input_cost_per_token"], prices["output_cost_per_token"]
    p_cached = prices.get("cache_read_input_token_cost", p_in)
    batch_in, batch_out = prices.get("input_cost_per_token_batches"), prices.get("output_cost_per_token_batches")
    completion = shape["completion"]
    # OpenAI serves a prompt from cache only when its first 1,024 tokens repeat, then in steps of 128 tokens: only
    # a shared prefix (system prompt + questions) of at least 1,024 tokens gets the discount.
    cached = (int(shape["prefix"]) // CACHE_STEP) * CACHE_STEP if shape["prefix"] >= CACHE_MIN else 0
    out = {
        "calls": n, "prompt_tokens": round(n * prompt), "completion_tokens": round(n * completion),
        "per_conversation": {"prompt_tokens": round(prompt), "shared_prefix_tokens": round(shape["prefix"]),
                             "completion_tokens": round(completion)},
        "usd_no_cache": round(n * (prompt * p_in + completion * p_out), 2),
        "cached_prompt_tokens_per_conversation": cached,
        "usd_prefix_cached": round(n * (cached * p_cached + (prompt - cached) * p_in + completion * p_out), 2),
        "usd_batch_api": round(n * (prompt * batch_in + completion * batch_out), 2) if batch_in and batch_out
        else None,
        "vllm_8b_gpu_hours": {gpu: round(n * completion / tps / 3600, 1) for gpu, (tps, _) in GPUS.items()},
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--model", default="gpt-4o-mini", help="a model in litellm's cost map")
    parser.add_argument("--tokens", type=Path, default=ROOT / "bench-results" / "tokens.json",
                        help="measure_tokens.py's output")
    parser.add_argument("--prefix-tokens", type=float, default=None, help="override the shared prefix")
    parser.add_argument("--transcript-tokens", type=float, default=None, help="override the transcript length")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import litellm

    prices = litellm.model_cost[args.model]
    per_mode, source = shapes(args.tokens, args)
    result = {
        "conversations": args.conversations, "model": args.model, "tokens_source": source,
        "prices_per_million": {k: round(prices[k] * 1e6, 4) for k in (
            "input_cost_per_token", "cache_read_input_token_cost", "output_cost_per_token",
            "input_cost_per_token_batches", "output_cost_per_token_batches") if prices.get(k) is not None},
        "gpu_output_tokens_per_s": {gpu: {"tokens_per_s": tps, "source": src} for gpu, (tps, src) in GPUS.items()},
        "modes": {mode: project(args.conversations, shape, prices) for mode, shape in per_mode.items()},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
