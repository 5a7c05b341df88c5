"""Parsing a hosted model's reply: the JSON object of judgements, and answer probabilities from token logprobs."""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["answer_logprobs", "parse_reply", "quote_texts"]

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.M)
_ANSWER_KEY = re.compile(r'"answer"\s*:\s*"')
_ANSWER_LIST = re.compile(r'"answers"\s*:\s*\[')
_LIST_ITEM = re.compile(r'[\[,]\s*"')


def parse_reply(text: str, ids: list[str] | None = None) -> list[dict[str, Any]]:
    """The judgements in the reply (a list of objects with ``id``, or an object keyed by id, or the short form
    ``{"answers": [...]}`` whose k-th answer belongs to ``ids[k]``); raises ValueError with a short reason when
    there is none. Answers beyond ``ids`` are dropped; missing ones are simply absent."""
    cleaned = _FENCE.sub("", text.strip())
    start, end = cleaned.find("{"), cleaned.rfind("}")
    if start < 0 or end <= start:
        raise ValueError(f"the reply holds no JSON object: {text[:120]!r}")
    try:
        data = json.loads(cleaned[start : end + 1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"the reply is not valid JSON ({exc.msg}): {text[:120]!r}") from exc
    if isinstance(data, dict) and isinstance(data.get("answers"), list) and ids is not None:
        return [{"id": qid, "answer": answer} for qid, answer in zip(ids, data["answers"], strict=False)
                if isinstance(answer, str | int | float)]
    items = data.get("judgements") if isinstance(data, dict) else None
    if isinstance(items, dict):  # the schema-constrained form: {"judgements": {"<id>": {...}}}
        items = [{"id": key, **value} for key, value in items.items() if isinstance(value, dict)]
    if not isinstance(items, list):
        raise ValueError("the reply's JSON has no 'judgements' list")
    return [item for item in items if isinstance(item, dict)]


def _token_text(entry: Any) -> str:
    return str(entry.get("token", "") if isinstance(entry, dict) else getattr(entry, "token", ""))


def _top(entry: Any) -> list[tuple[str, float]]:
    tops = entry.get("top_logprobs") if isinstance(entry, dict) else getattr(entry, "top_logprobs", None)
    out = []
    for top in tops or []:
        token = top.get("token") if isinstance(top, dict) else getattr(top, "token", None)
        logprob = top.get("logprob") if isinstance(top, dict) else getattr(top, "logprob", None)
        if token is not None and logprob is not None:
            out.append((str(token), float(logprob)))
    return out


def _match(token: str, answers: list[str]) -> str | None:
    """Which allowed answer a token starts; None when it fits none or several."""
    key = token.strip().strip('"').lower()
    if not key:
        return None
    exact = [a for a in answers if a.lower() == key]
    if exact:
        return exact[0]
    starts = [a for a in answers if a.lower().startswith(key)]
    return starts[0] if len(starts) == 1 else None


def answer_logprobs(content: list[Any] | None, allowed: list[list[str]]) -> list[dict[str, float] | None]:
    """For the k-th ``"answer": "…"`` in the reply, the normalised probabilities over ``allowed[k]``.

    ``content`` is the ``logprobs.content`` list of the choice (one entry per generated token, with its
    ``top_logprobs``). An entry is None where the answer token cannot be found or matches no allowed answer.
    """
    if not content:
        return [None] * len(allowed)
    offsets, text = [], ""
    for entry in content:
        offsets.append(len(text))
        text += _token_text(entry)
    results: list[dict[str, float] | None] = []
    positions = _answer_positions(text)
    for k, answers in enumerate(allowed):
        if k >= len(positions):
            results.append(None)
            continue
        index = max(i for i, start in enumerate(offsets) if start <= positions[k])
        if offsets[index] + len(_token_text(content[index])) <= positions[k]:
            index += 1  # the quote ended a token; the answer starts the next one
        if index >= len(content):
            results.append(None)
            continue
        mass: dict[str, float] = {}
        for token, logprob in _top(content[index]) or [(_token_text(content[index]), 0.0)]:
            answer = _match(token, answers)
            if answer is not None:
                mass[answer] = mass.get(answer, 0.0) + math.exp(logprob)
        total = sum(mass.values())
        results.append({a: mass.get(a, 0.0) / total for a in answers} if total > 0 else None)
    return results


def _answer_positions(text: str) -> list[int]:
    """Where each answer's characters start: after ``"answer": "`` in the keyed form, after the opening quote of
    each element in the short form's list."""
    keyed = [m.end() for m in _ANSWER_KEY.finditer(text)]
    listed = _ANSWER_LIST.search(text)
    if keyed or listed is None:
        return keyed
    end = text.find("]", listed.end())
    body = text[listed.end() - 1 : end if end >= 0 else len(text)]
    return [listed.end() - 1 + m.end() for m in _LIST_ITEM.finditer(body)]


def quote_texts(quotes: Any) -> list[str]:
    """The reply's quotes as strings; a quote given as ``{"turn": 3, "text": "…"}`` becomes ``"[3] …"`` so the
    evidence locator tries the turn the model named first."""
    out = []
    for quote in quotes if isinstance(quotes, list) else []:
        if isinstance(quote, dict):
            text = str(quote.get("text") or quote.get("quote") or "")
            turn = quote.get("turn")
            quote = f"[{turn}] {text}" if isinstance(turn, int) and text.strip() else text
        if str(quote).strip():
            out.append(str(quote))
    return out
