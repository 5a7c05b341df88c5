"""The offline static check of criterion wordings: does the question name something a reviewer can point to?

Rules (each finding carries a reason and a concrete rewrite suggestion; word lists in ``_lexicon``):

* **trait** — names what the agent *is* ("empathetic", "professional", 态度好, empatic, учтив) · not measurable;
* **holistic** — judges the whole ("handled well", "good service", 服务好) · not measurable;
* **feeling** — an inner state ("satisfied", 满意) that nobody *said* · not measurable;
* **hypothetical** — "Would the customer be…?": asks about what did not happen · not measurable;
* **vague** — an evaluative word with no standard ("effectively", "quickly", 及时) · ambiguous, unless the guidance or
  described ordinal levels give the standard;
* **double** — two behaviours joined by "and" (且/并且/和, și, и), two questions in one, or "and/or" · ambiguous.
  *The "or" rule*: "or" is accepted when it lists alternatives under one actor, any one of which passes the criterion
  ("an actionable solution or a follow-up timeline", "ask whether … or thank them"): a "yes" still names what a
  reviewer must find — at least one of them. It is flagged only when it starts a second question or a second actor
  ("…, or did the agent…", "…or was…", "…or the customer…"), where the answer no longer says who did what;
* **not_a_question** / **no_actor** — a statement, or a question in which nobody does anything · ambiguous;
* **frequency** — "always"/"never" (总是/从不) without a scope · ambiguous;
* **needs_na** — a behaviour that only sometimes applies (escalation, refund, transfer, hold, 退款…) or a question
  with its own condition ("If the customer…"), without ``applies_when`` and without N/A · ambiguous;
* **scale_mismatch** — a yes/no question on an ordinal scale, or a "How…?" question on yes/no · ambiguous;
* **levels_undescribed** — ordinal levels without a description of what each looks like · ambiguous.

Verdict: ``not_measurable`` when any not-measurable rule fires, else ``ambiguous`` when any rule fires, else
``measurable``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from eval.lab import _lexicon as lex
from eval.lab._finding import Finding
from eval.lab._text import find_terms, head_of, language_of, lower_first, strip_quotes
from eval.lab.rule_checks import rule_findings
from scorer.types import Criterion, Rubric

__all__ = ["SEVERE_RULES", "CriterionCheck", "Finding", "Verdict", "check_criterion", "check_rubric"]

Verdict = Literal["measurable", "ambiguous", "not_measurable"]
SEVERE_RULES = ("trait", "holistic", "feeling", "hypothetical", "check")
"""Rules whose finding makes a criterion ``not_measurable``; every other rule makes it ``ambiguous``."""
_ORDER = (*SEVERE_RULES, "double", "not_a_question", "no_actor", "vague", "frequency", "needs_na", "scale_mismatch",
          "levels_undescribed", "check_languages")


class CriterionCheck(BaseModel):
    """The static check's result for one criterion; ``rubric check --json`` writes all fields but ``findings``."""

    criterion_id: str
    verdict: Verdict
    reasons: list[str] = Field(description="One line per finding, prefixed with its rule.")
    suggestion: str | None = Field(description="The rewrite for the most serious finding (others appended).")
    findings: list[Finding] = Field(default_factory=list)

    def public(self) -> dict[str, object]:
        """The documented JSON shape: criterion_id, verdict, reasons, suggestion."""
        return self.model_dump(include={"criterion_id", "verdict", "reasons", "suggestion"})


def _in_lang(table: dict[str, str], lang: str) -> str:
    return table.get(lang) or table["en"]


def _split_suggestion(question: str, lang: str, joiner: re.Match[str]) -> str:
    left, right = question[: joiner.start()].rstrip(" ,，、"), question[joiner.end():].strip()
    mark = "？" if lang == "zh" else "?"
    right = right.rstrip("?？ ") + mark
    head = head_of(question)
    second = right
    if head and not head_of(right) and not re.match(r"(?i)(did|was|were|is|are|has|have|had|does|do)\b", right):
        second = f"{head}{'' if lang == 'zh' else ' '}{right}"
    first = left.rstrip("?？ ") + mark
    return f"Split it into two criteria, one behaviour each: '{first}' and '{second[0].upper()}{second[1:]}'"


def _double(q: str, lang: str) -> Finding | None:
    text = re.sub(r"(?i)\bbetween \S+(?: \S+)? and\b", " ", q)
    for phrase in lex.AND_EXCEPTIONS:
        text = re.sub(re.escape(phrase), " " * len(phrase), text, flags=re.I) if phrase != "and/or" else text
    if re.search(r"\band/or\b|和/或", text, re.I):
        return Finding(rule="double", reason="'and/or' leaves open whether both behaviours are needed",
                       suggestion="Decide: either one passes (write 'or') or both are needed (split into two "
                       "criteria).")
    if re.search(r"[?？]", text.rstrip("?？ ")):
        return Finding(rule="double", reason="two questions in one criterion: one answer cannot say which of them "
                       "it is about", suggestion="Make each question its own criterion.")
    second_question = re.search(r"(?i),?\s+or\s+(?=(?:did|was|were|is|are|has|had|does|the customer|the agent|the "
                                r"caller)\b)|还是|或者是否|,?\s+sau dacă\s+|,?\s+или дали\s+", text)
    if second_question:
        return Finding(rule="double", reason="'or' starts a second question or a second actor: the answer no "
                       "longer says who did what", suggestion=_split_suggestion(q, lang, second_question))
    for pattern in lex.AND_WORDS.get(lang, lex.AND_WORDS["en"]):
        match = re.search(pattern, text, re.I)
        if match:
            return Finding(rule="double", reason=f"joins two behaviours with '{match.group(0).strip()}': a 'no' "
                           "cannot say which one was missing", suggestion=_split_suggestion(q, lang, match))
    return None


def _frequency(q: str, low: str, lang: str) -> Finding | None:
    for kind, words in lex.FREQUENCY.items():
        found = find_terms(low, words)
        if not found:
            continue
        rest = re.sub(rf"\s*{re.escape(found[0])}\s*", " ", q, count=1, flags=re.I).replace("  ", " ").strip()
        after = low.split(found[0], 1)[1]
        if find_terms(re.sub(re.escape(found[0]), " ", low), lex.SCOPE) or (
                found[0] == "every" and re.match(r"\s*\w+\s+(that|which|who|the customer|they|he|she)\b", after)):
            return None
        if lang == "zh":
            fix = f"在对话的哪一部分、以什么为准？例如：'在问候之后的每条回复中，{rest}'"
        elif kind == "always":
            fix = f"'In each of their replies after the greeting, {lower_first(rest)}' — or, if once is enough, " \
                  f"'{rest.rstrip('?')} at least once?'"
        else:
            fix = f"'{rest.rstrip('?')} at any point in the conversation?' (then 'no' passes) — or 'Did the agent " \
                  "keep from … during the call?'"
        return Finding(rule="frequency", reason=f"'{found[0]}' without a scope: one slip anywhere decides it, "
                       "and reviewers disagree on which turns count", suggestion=f"Give the scope: {fix}")
    return None


def _needs_na(c: Criterion, low: str) -> Finding | None:
    if c.applies_when or c.scale.allow_na:
        return None
    sometimes = [] if find_terms(low, lex.KEEP_FROM) else find_terms(low, lex.SOMETIMES)
    conditional = [m.group(2) for m in re.finditer(
        r"(^|[,;，；]\s*|(?<!ask )(?<!asked )(?<!check )(?<!checked )(?<!whether )\b(?=if the (?:customer|caller)))"
        r"(if|whenever|in case|when|dacă|ако|в случай)\b", low)] + find_terms(low, ["如果", "若", "当客户"])
    if not sometimes and not conditional:
        return None
    hint = next((lex.NA_HINTS[k] for s in sometimes for k in lex.NA_HINTS if s.startswith(k) or k.startswith(s)),
                None)
    what = f"'{sometimes[0]}' happens only in some conversations" if sometimes else \
        f"the question has its own condition ('{conditional[0]}')"
    example = hint or "The customer asked for it."
    return Finding(rule="needs_na", reason=f"{what}, but there is no applies_when and no N/A answer: conversations "
                   "where it does not apply would be scored 'no'",
                   suggestion=f"Add `applies_when: {example}` (the scale then allows na)"
                   + (", and drop the condition from the question." if conditional and not sometimes else "."))


def _scale(c: Criterion, q: str, low: str, lang: str) -> Finding | None:
    clauses = [s.strip() for s in re.split(r"[,:;，：；]", low)]
    if lang in ("en", "ro"):
        yes_no = any(s.startswith(tuple(w.strip() + " " for w in lex.YES_NO_STARTS[lang])) for s in clauses)
        graded = any(s.startswith(tuple(w + " " for w in lex.GRADED_STARTS[lang])) for s in clauses)
    else:
        yes_no = any(w in f" {low} " for w in lex.YES_NO_STARTS[lang])
        graded = any(w in low for w in lex.GRADED_STARTS[lang])
    if c.scale.kind == "ordinal" and yes_no and not graded:
        return Finding(rule="scale_mismatch", reason=f"a yes/no question on the ordinal scale "
                       f"{'/'.join(c.scale.levels)}: what would '{c.scale.levels[len(c.scale.levels) // 2]}' mean?",
                       suggestion="Use `scale: yes_no`; or, if degrees matter, ask 'How completely …?' and describe "
                       "what a reviewer sees at each level.")
    if c.scale.kind != "ordinal" and graded:
        match = re.match(r"(?i)how (\w+) (did|does|was) the (\w+) (.+?)\??$", q)
        fix = (f"'Did the {match.group(3)} {match.group(4)} {match.group(1)} enough that <standard>?' with the "
               "standard written in guidance") if match else "a 'Did the agent …?' question"
        return Finding(rule="scale_mismatch", reason="a 'how'/'what' question on a yes/no scale: the answer is a "
                       "degree or a description, not yes or no",
                       suggestion=f"Ask {fix}; or keep the question and use an ordinal scale with a description "
                       "per level.")
    return None


def _as_question(statement: str, lang: str) -> str:
    """'Agent resolves issue' → 'Did the agent resolve the issue?'; '客服解决问题' → '客服是否解决问题？'."""
    text = statement.strip().rstrip(".。!！")
    if lang == "zh":
        head = next((a for a in lex.ACTORS if text.startswith(a)), None)
        return f"{head}是否{text[len(head):]}？" if head else f"客服是否{text}？"
    match = re.match(r"(?i)(?:the )?(agent|helpdesk|supporter|representative|rep|operator|customer)\s+(\w+?)(s)\s+(.*)",
                     text)
    if lang != "en" or not match:
        return "Did the agent …?"
    verb = match.group(2)
    verb = verb[:-2] + "y" if verb.endswith("ie") else verb[:-1] if re.search(r"(ss|sh|ch|x|z)e$", verb) else verb
    rest = match.group(4)
    if not re.match(r"(?i)(the|a|an|their|his|her|its|any|all|each|every|this|that|customer)\b", rest):
        rest = "the " + rest
    return f"Did the {match.group(1).lower()} {verb} {rest}?"


def _findings(c: Criterion) -> list[Finding]:
    q = c.question.strip()
    lang = language_of(q)
    low = strip_quotes(q).lower()
    for phrase in lex.TRAIT_EXCEPTIONS:
        low = low.replace(phrase, " ")
    out: list[Finding] = []
    concepts = [concept for concept, words in lex.TRAITS.items() if find_terms(low, words)]
    if concepts:
        words = [w for concept in concepts for w in find_terms(low, lex.TRAITS[concept])]
        fixes = [_in_lang(lex.TRAIT_BEHAVIOURS[c_], lang) for c_ in concepts]
        out.append(Finding(rule="trait", reason=f"names a trait ({', '.join(words[:3])}), not something a reviewer "
                           "can point to in the transcript",
                           suggestion="Ask for the behaviour that shows it: " + " / ".join(f"'{f}'" for f in fixes)))
    holistic = find_terms(low, lex.HOLISTIC)
    if holistic:
        out.append(Finding(rule="holistic", reason=f"judges the whole conversation ('{holistic[0]}') instead of a "
                           "behaviour in it", suggestion=_in_lang(lex.TRAIT_BEHAVIOURS["holistic"], lang)))
    feelings = find_terms(low, lex.FEELINGS)
    reported = find_terms(low.split(feelings[0])[0], lex.REPORTING) if feelings else []
    if feelings and not reported:
        out.append(Finding(rule="feeling", reason=f"asks for an inner state ('{feelings[0]}'), which the transcript "
                           "shows only if someone says it", suggestion=_in_lang(lex.TRAIT_BEHAVIOURS["feeling"], lang)))
    hypothetical = find_terms(low, lex.HYPOTHETICAL)
    if hypothetical:
        out.append(Finding(rule="hypothetical", reason=f"asks what would happen ('{hypothetical[0]}'), not what "
                           "happened in the conversation",
                           suggestion="Ask about something in the transcript, e.g. 'Did the customer say the "
                           "problem was solved?'"))
    vague = find_terms(low.replace("as well as", " "), lex.VAGUE)
    described = c.scale.kind == "ordinal" and all(level in c.scale.descriptions for level in c.scale.levels)
    if vague and not described and not c.guidance and not holistic and not concepts:
        out.append(Finding(rule="vague", reason=f"'{vague[0]}' has no stated standard: reviewers will each use "
                           "their own", suggestion=f"Replace '{vague[0]}' with what a reviewer sees (e.g. 'in their "
                           "first reply', 'without asking the customer to repeat anything', 'within 2 minutes'), "
                           "or write the standard in `guidance`."))
    double = _double(strip_quotes(q), lang)
    if double:
        out.append(double)
    is_question = q.endswith(("?", "？")) or any(w in low for w in lex.YES_NO_STARTS["zh"] if lang == "zh") or \
        any(low.startswith(w + " ") for w in (*lex.YES_NO_STARTS["en"], *lex.GRADED_STARTS["en"]))
    if not is_question:
        out.append(Finding(rule="not_a_question", reason="a statement, not a question with an answer",
                           suggestion=f"Ask it as a question about one behaviour: '{_as_question(q, lang)}'"))
    if not find_terms(low, lex.ACTORS):
        out.append(Finding(rule="no_actor", reason="nobody does anything in it (the agent? the customer?)",
                           suggestion="Name the actor and the action: " + ("'客服是否…？'" if lang == "zh" else
                                                                            "'Did the agent …?'")))
    for finding in (_frequency(q, low, lang), _needs_na(c, low), _scale(c, q, low, lang)):
        if finding:
            out.append(finding)
    if c.scale.kind == "ordinal" and not described:
        missing = [level for level in c.scale.levels if level not in c.scale.descriptions]
        example = ", ".join(f"{level}: '<what a reviewer sees>'" for level in missing[:3])
        out.append(Finding(rule="levels_undescribed", reason=f"levels without a description: {', '.join(missing)} — "
                           "two reviewers will draw the lines in different places",
                           suggestion=f"Describe each level by what is in the transcript: `descriptions: {{{example}}}`"
                           " — or use `scale: yes_no` if one line is enough."))
    return sorted(out, key=lambda f: _ORDER.index(f.rule))


def check_criterion(criterion: Criterion, languages: list[str] | None = None) -> CriterionCheck:
    """Run every rule on one criterion and give a verdict with the reasons and the suggested rewrite; ``languages``
    are the conversation languages the rubric declares (for its ``check:`` phrase lists)."""
    findings = _findings(criterion) + rule_findings(criterion, languages or [])
    rules = {f.rule for f in findings}
    verdict: Verdict = "not_measurable" if rules & set(SEVERE_RULES) else "ambiguous" if findings else "measurable"
    suggestions = list(dict.fromkeys(f.suggestion for f in findings))
    suggestion = (suggestions[0] + "".join(f" Also: {s}" for s in suggestions[1:3])) if suggestions else None
    return CriterionCheck(criterion_id=criterion.id, verdict=verdict,
                          reasons=[f"{f.rule}: {f.reason}" for f in findings], suggestion=suggestion, findings=findings)


def check_rubric(rubric: Rubric) -> list[CriterionCheck]:
    """The static check of every criterion, in the rubric's order."""
    return [check_criterion(c, rubric.languages) for c in rubric.criteria]
