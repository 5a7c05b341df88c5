"""A small OpenAI-compatible chat server of our own, served over real HTTP on loopback for the hosted-judge tests.

It answers every ``<question id="…">`` in the prompt, quoting the first agent turn of the transcript it received.
The model name picks a behaviour: ``good`` (with token logprobs), ``nologprobs``, ``vary`` (answers change between
requests), ``slow``, ``ratelimit-then-ok``, ``always-429``, ``garbage``, ``missing-question``, ``bad-answer``.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

__all__ = ["StubServer", "chat_completion", "free_port", "make_app", "openai_stub", "serve"]

_CACHED = 64  # prompt tokens the stub says it served from its cache, from the second request of a model on
_QUESTION = re.compile(r'<question id="([^"]+)">')
_AGENT_TURN = re.compile(r'<turn index="\d+" speaker="agent">(.*?)</turn>', re.S)


@dataclass
class StubServer:
    """The running server: its base URL and what it received."""

    base_url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    scripted: dict[str, dict[str, Any]] = field(default_factory=dict)


def _reply_items(prompt: str, model: str, count: int) -> list[dict[str, Any]]:
    ids = _QUESTION.findall(prompt)
    agent = _AGENT_TURN.findall(prompt)
    quote = html.unescape(agent[0].split(". ")[0]) if agent else ""
    items = []
    for n, qid in enumerate(ids):
        answer = "yes"
        if model == "bad-answer" and n == 0:
            answer = "maybe"
        if model == "vary" and n == 0 and count % 2 == 0:
            answer = "no"
        items.append({"id": qid, "reasoning": f"The agent's first turn shows it ({qid}).",
                      "quotes": [quote, "a sentence nobody said"], "answer": answer, "confidence": 0.8})
    if model == "missing-question" and items:
        items.pop()
    return items


def _logprobs(text: str) -> dict[str, Any]:
    """Tokens of the reply, with the value of each "answer" as its own token and alternatives in top_logprobs."""
    tokens: list[dict[str, Any]] = []
    cursor = 0
    for match in re.finditer(r'"answer": "([a-z]+)"|(?:(?<=\[")|(?<=, "))([a-z]+)(?=")', text):
        group = 1 if match.group(1) is not None else 2
        start, end = match.span(group)
        tokens.append({"token": text[cursor:start], "logprob": -0.01, "top_logprobs": []})
        answer = match.group(group)
        alternatives = {"yes": -0.2, "no": -1.8, "na": -3.5}
        tops = [{"token": a, "logprob": lp if a != answer else -0.2, "bytes": None} for a, lp in alternatives.items()]
        tokens.append({"token": answer, "logprob": -0.2, "top_logprobs": tops, "bytes": None})
        cursor = end
    tokens.append({"token": text[cursor:], "logprob": -0.01, "top_logprobs": []})
    return {"content": tokens}


def _schema(response_format: Any) -> dict[str, Any] | None:
    """The JSON schema of a ``json_schema`` or ``json_object`` + ``schema`` response_format, if any."""
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_schema":
        return response_format.get("json_schema", {}).get("schema")  # type: ignore[no-any-return]
    return response_format.get("schema")


def _constrained(items: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
    """What a grammar-constrained server returns: the schema's keyed form with only the schema's fields."""
    wanted = schema["properties"]["judgements"]["properties"]
    return {item["id"]: {k: item[k] for k in wanted[item["id"]]["properties"] if k in item}
            for item in items if item["id"] in wanted}


def chat_completion(state: StubServer, body: dict[str, Any], model: str, count: int) -> dict[str, Any]:
    """The chat.completion the stub answers ``body`` with (also what its batch sibling puts in an output file)."""
    prompt = "\n".join(m["content"] for m in body["messages"])
    items = ([{"id": qid, **state.scripted[qid]} for qid in _QUESTION.findall(prompt) if qid in state.scripted]
             if model == "scripted" else _reply_items(prompt, model, count))
    schema = _schema(body.get("response_format"))
    short = schema is not None and "answers" in schema.get("properties", {})
    reply: dict[str, Any] = ({"answers": [item["answer"] for item in items]} if short else
                             {"judgements": _constrained(items, schema) if schema else items})
    text = "Sure! Here you go: {" if model == "garbage" else json.dumps(reply, ensure_ascii=False)
    choice: dict[str, Any] = {"index": 0, "finish_reason": "stop",
                              "message": {"role": "assistant", "content": text}}
    if body.get("logprobs") and model not in ("nologprobs", "vary", "scripted"):
        choice["logprobs"] = _logprobs(text)
    return {"id": f"stub-{count}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [choice],
            "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(text) // 4,
                      "total_tokens": (len(prompt) + len(text)) // 4,
                      "prompt_tokens_details": {"cached_tokens": _CACHED if count > 1 else 0}}}


def make_app(state: StubServer) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> JSONResponse:
        body = await request.json()
        model = str(body.get("model", "good"))
        state.requests.append(body)
        state.counts[model] = state.counts.get(model, 0) + 1
        count = state.counts[model]
        if model == "slow":
            await asyncio.sleep(3)
        if model == "always-429" or (model == "ratelimit-then-ok" and count <= 2):
            return JSONResponse({"error": {"message": "rate limited", "type": "rate_limit"}}, status_code=429)
        return JSONResponse(chat_completion(state, body, model, count))

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: FastAPI, port: int) -> Iterator[None]:
    """Run ``app`` on a loopback port in a thread for the duration of the block."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("the OpenAI stub server did not start")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def openai_stub() -> Iterator[StubServer]:
    """Start the stub on a free loopback port in a thread; stop it after the module."""
    port = free_port()
    state = StubServer(base_url=f"http://127.0.0.1:{port}/v1")
    with serve(make_app(state), port):
        yield state
