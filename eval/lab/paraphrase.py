"""Paraphrases of a behaviour question, made offline from templates, for the paraphrase-stability check.

A measurable wording names one behaviour; asking the same behaviour in other words should not change the answer.
The templates change the frame around the behaviour (where to look, how the question is put), never the behaviour
itself, so a flip between wordings is the wording's (or the judge's) instability, not a different question. Authors
can pass their own paraphrases instead (``rubric test --paraphrases FILE``), e.g. written by a colleague or a model.
"""

from __future__ import annotations

import re

from eval.lab._text import language_of, lower_first
from scorer.types import Criterion

__all__ = ["paraphrase_criteria", "paraphrases"]

_IRREGULAR = {"give": "gave", "tell": "told", "say": "said", "make": "made", "take": "took", "send": "sent",
              "get": "got", "find": "found", "keep": "kept", "leave": "left", "write": "wrote", "speak": "spoke",
              "begin": "began", "show": "showed", "do": "did", "have": "had", "go": "went", "put": "put",
              "let": "let", "set": "set", "read": "read", "understand": "understood", "mean": "meant",
              "hold": "held", "know": "knew", "think": "thought", "bring": "brought", "offer": "offered",
              "stop": "stopped", "plan": "planned", "refer": "referred", "admit": "admitted", "commit": "committed",
              "transfer": "transferred", "forget": "forgot", "share": "shared", "pay": "paid"}
# Base-form verbs that often follow "or"/"and" in a behaviour question ("thank the agent or say …").
_SECOND_VERBS = {*_IRREGULAR, "ask", "thank", "explain", "apologise", "apologize", "confirm", "provide", "use",
                 "mention", "greet", "check", "promise", "suggest", "state", "name", "repeat", "restate", "reflect",
                 "affirm", "reassure", "share", "summarise", "summarize", "verify", "acknowledge", "agree", "answer",
                 "paraphrase", "describe", "offer", "give", "tell", "say"}
_DID = re.compile(r"^(?:did|does|do) (the [\w-]+|they|he|she)\s+([a-z]+)\b(.*)$", re.I | re.S)
_FRAMES = {
    "en": ["In this conversation: {q}", "Going by the transcript alone: {q}",
           "Question about the transcript below: {q}", "Based only on what was written: {q}"],
    "zh": ["在这段对话中：{q}", "只根据对话记录回答：{q}", "关于下面这段对话：{q}", "根据对话中写下的内容：{q}"],
    "ro": ["În această conversație: {q}", "Citind doar transcrierea: {q}",
           "Întrebare despre transcrierea de mai jos: {q}", "Pe baza a ceea ce s-a scris: {q}"],
    "bg": ["В този разговор: {q}", "Като четете само записа: {q}", "Въпрос за записа по-долу: {q}",
           "Според написаното: {q}"],
}


def _past(verb: str) -> str:
    low = verb.lower()
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if low.endswith("e"):
        return low + "d"
    if low.endswith("y") and low[-2:-1] not in "aeiou":
        return low[:-1] + "ied"
    return low + "ed"


def _english(q: str) -> list[str]:
    """For "Did the agent <verb> …?": a frame, the same in the affirmative ("Is it true that the agent offered
    …?"), with "at any point", and a second frame; other questions get frames only."""
    match = _DID.match(q)
    frames = [t.format(q=lower_first(q)) for t in _FRAMES["en"]]
    if not match:
        return frames
    actor, verb, rest = match.group(1), match.group(2), match.group(3).rstrip("?").rstrip()
    past_rest = re.sub(r"\b(or|and)\s+([a-z]+)\b",
                       lambda m: f"{m.group(1)} {_past(m.group(2)) if m.group(2) in _SECOND_VERBS else m.group(2)}",
                       rest)
    return [frames[0], f"Is it true that {actor} {_past(verb)}{past_rest}?",
            f"At any point in the conversation, did {actor} {verb.lower()}{rest}?", frames[1]]


def _chinese(q: str) -> list[str]:
    frames = [t.format(q=q) for t in _FRAMES["zh"]]
    if "是否" not in q:
        return frames
    return [frames[0], q.replace("是否", "有没有", 1), q.replace("是否", "是不是", 1), frames[1]]


def paraphrases(question: str, n: int = 3) -> list[str]:
    """``n`` rewordings of ``question`` (at most 4), all different from it and from each other."""
    lang = language_of(question)
    q = question.strip()
    if lang == "en":
        out = _english(q)
    elif lang == "zh":
        out = _chinese(q)
    else:
        out = [t.format(q=lower_first(q) if lang == "ro" else q) for t in _FRAMES[lang]]
    return [p for p in dict.fromkeys(out) if p != q][:n]


def paraphrase_criteria(criterion: Criterion, texts: list[str]) -> list[Criterion]:
    """Copies of ``criterion`` asking ``texts`` instead, with ids ``<id>.p1``, ``<id>.p2``… (scale, condition and
    guidance unchanged, so only the wording differs)."""
    return [criterion.model_copy(update={"id": f"{criterion.id}.p{k}", "question": text})
            for k, text in enumerate(texts, 1)]
