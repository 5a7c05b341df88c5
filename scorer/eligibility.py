"""Eligibility: which conversations are worth scoring, decided by rules before any model call.

An excluded conversation is not dropped: it gets a score card with ``status: excluded`` and the reason, which is
stored, counted and shown like any other result. Reasons, checked in this order:

``tag:<tag>``     a tag listed in ``exclude_tags`` (default ``spam`` and ``test``)
``field:<name>``  a field matching ``exclude_if`` (e.g. ``{channel: [other]}``)
``bot_only``      no turn by a human agent
``spam``          the customer's messages read as spam by rules: a link plus a promotional phrase, or two
                  promotional phrases (en, zh, ro, bg)
``auto_reply``    every agent turn is an out-of-office or auto-acknowledgement message (en, zh, ro, bg rules)
``too_short``     fewer than ``min_agent_words`` words written by agents (each CJK character counts as a word)
``learned:spam``  after every rule, when a trained spam filter is present (:mod:`scorer.spam`, trained on the spam
                  labels reviewers tick in Label Studio): P(spam) ≥ ``learned_spam_threshold`` (default 0.8); the
                  card's ``excluded_confidence`` is that probability. ``exclude_spam: false`` turns it off too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Protocol

from scorer.conditions import matches
from scorer.programme import Eligibility
from scorer.types import Conversation, Rubric, ScoreCard

__all__ = ["AUTO_REPLY_PATTERNS", "LEARNED_SPAM", "SPAM_PATTERNS", "Eligibility", "Exclusion", "SpamScorer",
           "agent_word_count", "eligibility_check", "excluded_card", "exclusion", "exclusion_reason", "is_auto_reply",
           "is_spam"]

LEARNED_SPAM = "learned:spam"


class SpamScorer(Protocol):
    """What eligibility needs of a learned spam filter (:class:`scorer.spam.SpamFilter`)."""

    def probability(self, conversation: Conversation) -> float:
        """P(spam) of the conversation."""
        ...


Exclusion = tuple[str, float | None]
"""(reason, confidence): the confidence is the spam filter's P(spam) for ``learned:spam``, None for rules."""

AUTO_REPLY_PATTERNS: dict[str, tuple[str, ...]] = {
    "en": (r"\bout of (the )?office\b", r"\bauto(matic|mated)?[- ]?(reply|response|acknowledge?ment)\b",
           r"\bwe (have )?received your (message|email|request|ticket)\b", r"\bthis is an automated\b",
           r"\bdo not reply to this (e-?mail|message)\b", r"\bi am (currently )?(away|on (annual )?leave)\b",
           r"\bwill (get back|respond|reply) to you (as soon as possible|within)\b", r"\bticket (number|#)\s*\S+"),
    "zh": (r"自动回复", r"不在办公室", r"已收到您的(邮件|消息|来信|请求)", r"我们会尽快(回复|处理|联系)", r"休假",
           r"请勿(直接)?回复"),
    "ro": (r"\bplecat[ăa]? din birou\b", r"\b(r[ăa]spuns|mesaj) automat\b", r"\bam primit (mesajul|e-?mailul|"
           r"solicitarea|cererea) (dvs|dumneavoastr[ăa]|t[ăa]u)", r"\bv[ăa] vom r[ăa]spunde ([îi]n cel mai scurt|"
           r"c[âa]t mai cur[âa]nd)", r"\b[îi]n concediu\b", r"\bnu r[ăa]spunde(ți)? la acest"),
    "bg": (r"извън офиса", r"автоматичен отговор", r"автоматично съобщение",
           r"получихме (вашето|вашия|твоето) (съобщение|писмо|запитване)", r"ще ви отговорим възможно най-скоро",
           r"в отпуск", r"не отговаряйте на (това|този)"),
}
"""Phrases of out-of-office and auto-acknowledgement messages, by language (all are tried on every turn)."""

SPAM_PATTERNS: tuple[str, ...] = (
    r"\b(you('ve| have)? won|winner|claim your (prize|reward)|free (gift|cruise|iphone|money))\b",
    r"\bclick (here|the link|below)\b", r"\b(bitcoin|crypto|forex) (investment|profit|opportunit)", r"\bviagra\b",
    r"\b(limited|exclusive) offer\b", r"\bearn \$?\d+ (a|per) (day|week)\b",
    r"恭喜您?中奖", r"免费领取", r"点击(链接|这里)", r"加微信",
    r"\bai c[âa]știgat\b", r"\bofert[ăa] (limitat[ăa]|exclusiv[ăa])\b", r"\bclick aici\b", r"\bgratuit\b",
    r"спечелихте", r"безплатн[аоие]", r"кликнете (тук|на линка)", r"ограничена оферта",
)
"""Promotional phrases; a customer message with a link and one of them, or with two, reads as spam."""
_SPAM = [re.compile(p, re.IGNORECASE) for p in SPAM_PATTERNS]
_LINK = re.compile(r"https?://|www\.", re.IGNORECASE)

_COMPILED = [re.compile(p, re.IGNORECASE) for patterns in AUTO_REPLY_PATTERNS.values() for p in patterns]
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def agent_word_count(conversation: Conversation) -> int:
    """Words written by agents; CJK characters count one each (those scripts put no spaces between words)."""
    count = 0
    for turn in conversation.turns:
        if turn.speaker == "agent":
            count += len(_CJK.findall(turn.text)) + len(_WORD.findall(_CJK.sub(" ", turn.text)))
    return count


def is_auto_reply(text: str) -> bool:
    """True when the text reads like an out-of-office or auto-acknowledgement message (en, zh, ro, bg)."""
    return any(p.search(text) for p in _COMPILED)


def is_spam(conversation: Conversation) -> bool:
    """True when the customer's messages read as spam (a link and a promotional phrase, or two phrases)."""
    text = "\n".join(t.text for t in conversation.turns if t.speaker == "customer")
    hits = sum(bool(p.search(text)) for p in _SPAM)
    return hits >= 2 or (hits >= 1 and bool(_LINK.search(text)))


def exclusion_reason(conversation: Conversation, rules: Eligibility) -> str | None:
    """Why the conversation is not worth scoring under ``rules``, or None when it is eligible."""
    tags = {t.casefold(): t for t in conversation.tags}
    for tag in rules.exclude_tags:
        if tag.casefold() in tags:
            return f"tag:{tag}"
    if rules.exclude_if:
        for name, values in rules.exclude_if.items():
            if matches(conversation, {name: values}):
                return f"field:{name}"
    if rules.exclude_spam and is_spam(conversation):
        return "spam"
    agent_turns = [t for t in conversation.turns if t.speaker == "agent"]
    if rules.exclude_bot_only and not agent_turns:
        return "bot_only"
    if rules.exclude_auto_replies and agent_turns and all(is_auto_reply(t.text) for t in agent_turns):
        return "auto_reply"
    if rules.min_agent_words and agent_word_count(conversation) < rules.min_agent_words:
        return "too_short"
    return None


def exclusion(conversation: Conversation, rules: Eligibility, spam: SpamScorer | None = None) -> Exclusion | None:
    """Why the conversation is not worth scoring and how sure: the rules first, then (with ``spam``, a trained
    filter) ``learned:spam`` when P(spam) reaches ``rules.learned_spam_threshold``; None when it is eligible."""
    reason = exclusion_reason(conversation, rules)
    if reason is not None:
        return reason, None
    if spam is not None and rules.exclude_spam:
        p = spam.probability(conversation)
        if p >= rules.learned_spam_threshold:
            return LEARNED_SPAM, p
    return None


def eligibility_check(conversation: Conversation, rubric: Rubric, judge_id: str,
                      spam: SpamScorer | None = None) -> ScoreCard | None:
    """The ``excluded`` card when the rubric's eligibility rules (or the spam filter) exclude it, else None."""
    found = exclusion(conversation, rubric.eligibility, spam)
    return None if found is None else excluded_card(conversation, rubric, judge_id, *found)


def excluded_card(conversation: Conversation, rubric: Rubric, judge_id: str, reason: str,
                  confidence: float | None = None) -> ScoreCard:
    """The score card of an excluded conversation: no judgements, no score, the reason (and its confidence)."""
    return ScoreCard(conversation_id=conversation.id, rubric_id=rubric.id, rubric_version=rubric.version,
                     judge=judge_id, score=None, status="excluded", excluded_reason=reason,
                     excluded_confidence=confidence, judgements=[], created_at=datetime.now(UTC))
