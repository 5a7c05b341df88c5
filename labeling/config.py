"""The Label Studio label config for one rubric version, and the transcript as reviewers see it.

One task is one conversation with all of its routed questions, like a QA scorecard: the transcript once at the top
(evidence is highlighted in it, one label per criterion), then per criterion the question, the AI's answer with its
confidence, rationale and why it was routed, the answer choices and a comment box. Control names are per criterion
(``answer__<id>``, ``comment__<id>``) so results map back without guessing. Below the criteria, one
conversation-level control (``flags``) lets the reviewer tick "spam — not worth scoring"; `review pull` stores it
as a conversation label (ticked or not) that trains the learned spam filter (``rubricate train --spam``).
"""

from __future__ import annotations

import re
from xml.sax.saxutils import quoteattr

from scorer.types import Conversation, Rubric

__all__ = ["ANSWER", "COMMENT", "EVIDENCE", "FLAGS", "FLAG_VALUES", "TRANSCRIPT", "has_flags", "key", "label_config",
           "render_for_review"]

TRANSCRIPT = "transcript"
EVIDENCE = "evidence"
ANSWER = "answer__"
COMMENT = "comment__"
FLAGS = "flags"
FLAG_VALUES = ("spam",)
"""Conversation-level labels a reviewer can tick (each becomes a stored conversation label, true or false)."""
_FLAGS_BLOCK = f"""    <View style="border-top: 2px solid #bbb; padding: 8px 0">
      <Header value="Whole conversation: not worth scoring?" size="5"/>
      <Choices name="{FLAGS}" toName="{TRANSCRIPT}" choice="multiple" showInline="true">\
<Choice value="spam" hint="Spam: not a real customer conversation. Trains the spam filter."/></Choices>
    </View>"""
_SPEAKER = {"agent": "Agent", "customer": "Customer", "system": "System", "bot": "Bot"}
_COLOURS = ["#f6c344", "#7cc4fa", "#9be28a", "#f59e9e", "#c7a4f5", "#f7b173", "#8fe3d6", "#e3a1d4"]


def key(criterion_id: str) -> str:
    """A criterion id as it appears in control names and task data keys (letters, digits, underscores)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", criterion_id)


def render_for_review(conversation: Conversation) -> tuple[str, list[int]]:
    """The transcript text shown to reviewers and, per turn, the offset where that turn's text starts."""
    parts: list[str] = []
    offsets: list[int] = []
    position = 0
    for turn in conversation.turns:
        label = f"{_SPEAKER[turn.speaker]}: "
        offsets.append(position + len(label))
        parts.append(label + turn.text)
        position += len(label) + len(turn.text) + 1
    return "\n".join(parts), offsets


def has_flags(config: str) -> bool:
    """True when a project's label config already has the conversation-level ``flags`` control."""
    return f'name="{FLAGS}"' in config


def label_config(rubric: Rubric) -> str:
    """The XML config of the project for ``rubric`` (same rubric version → same config)."""
    labels = "\n".join(
        f'      <Label value={quoteattr(c.id)} background="{_COLOURS[i % len(_COLOURS)]}"/>'
        for i, c in enumerate(rubric.criteria)
    )
    blocks = []
    for c in rubric.criteria:
        choices = "".join(f"<Choice value={quoteattr(a)}/>" for a in c.answers)
        blocks.append(f"""    <View style="border-top: 1px solid #ddd; padding: 8px 0">
      <Header value="$q__{key(c.id)}" size="5"/>
      <Text name="ai__{key(c.id)}" value="$ai__{key(c.id)}"/>
      <Choices name="{ANSWER}{key(c.id)}" toName="{TRANSCRIPT}" choice="single" showInline="true">{choices}</Choices>
      <TextArea name="{COMMENT}{key(c.id)}" toName="{TRANSCRIPT}" placeholder="Comment (optional)" maxSubmissions="1"
                editable="true" rows="1"/>
    </View>""")
    blocks.append(_FLAGS_BLOCK)
    body = "\n".join(blocks)
    return f"""<View>
  <Header value="Conversation $conversation_id ($channel, $language)"/>
  <View style="display: flex; gap: 16px">
    <View style="flex: 3">
    <Labels name="{EVIDENCE}" toName="{TRANSCRIPT}">
{labels}
    </Labels>
    <Text name="{TRANSCRIPT}" value="${TRANSCRIPT}" granularity="symbol"/>
    </View>
    <View style="flex: 2">
{body}
    </View>
  </View>
</View>"""
