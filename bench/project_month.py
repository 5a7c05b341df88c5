"""A projection on paper: calls, tokens, money and GPU hours to score N conversations a month.

Prices come from litellm's offline cost map (``LITELLM_LOCAL_MODEL_COST_MAP=True``), for the named model, with and
without prompt-cache hits on the shared prefix (system prompt + questions, which rubricate sends first) and at the
provider's batch price where the map has one. GPU hours for a self-hosted 8B model on vLLM come from a published
throughput figure given on the command line (default: Llama-3.1-8B-Instruct on one A100 40GB, 1,024 input / 128
output tokens per request, about 495 output tokens/s at concurrency 8 — 6.6x the ~75 tokens/s of one request;
J. Musgrave, "vLLM throughput-latency sweep on NVIDIA A100", johnmusgrave.com/p/vllm-throughput-latency-sweep-on).

    python bench/project_month.py [--conversations 1000000] [--model gpt-4o-mini] [--prefix-tokens 700]
        [--transcript-tokens 900] [--completion-tokens 120] [--gpu-output-tokens-per-s 495]
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--model", default="gpt-4o-mini", help="a model in litellm's cost map")
    parser.add_argument("--prefix-tokens", type=int, default=700, help="system prompt + 10 questions (shared)")
    parser.add_argument("--transcript-tokens", type=int, default=900, help="a typical chat transcript")
    parser.add_argument("--completion-tokens", type=int, default=120,
                        help="short answers for 10 questions ≈ 120; capped reasoning ≈ 10 x 110")
    parser.add_argument("--gpu-output-tokens-per-s", type=float, default=495.0)
    args = parser.parse_args()
    import litellm

    prices = litellm.model_cost[args.model]
    n = args.conversations
    prompt = args.prefix_tokens + args.transcript_tokens
    p_in, p_out = prices["input_cost_per_token"], prices["output_cost_per_token"]
    p_cached = prices.get("cache_read_input_token_cost", p_in)
    plain = n * (prompt * p_in + args.completion_tokens * p_out)
    cached = n * (args.prefix_tokens * p_cached + args.transcript_tokens * p_in + args.completion_tokens * p_out)
    batch_in, batch_out = prices.get("input_cost_per_token_batches"), prices.get("output_cost_per_token_batches")
    batch = n * (prompt * batch_in + args.completion_tokens * batch_out) if batch_in and batch_out else None
    gpu_hours = n * args.completion_tokens / args.gpu_output_tokens_per_s / 3600
    result = {
        "conversations": n, "calls": n, "prompt_tokens": n * prompt, "completion_tokens": n * args.completion_tokens,
        "model": args.model, "usd_no_cache": round(plain, 2), "usd_prefix_cached": round(cached, 2),
        "usd_batch_api": round(batch, 2) if batch is not None else None,
        "vllm_8b_gpu_hours": round(gpu_hours, 1), "gpu_output_tokens_per_s": args.gpu_output_tokens_per_s,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
