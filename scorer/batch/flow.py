"""Batch mode end to end, without printing: submit what is still unscored, poll, hand the finished batches'
replies to the normal pipeline, submit again what stayed unscored (at most ``max_attempts`` times per conversation,
then it is given up: left stored unscored with its last reason, which routing sends to review), and cancel.

Safety across a 24-hour wait: the job row exists before any batch is created and each batch is recorded on it as
soon as the provider accepts it; a batch is marked collected only after its conversations went through the
pipeline (which stores each card once and reads stored cards back), so a process stopped anywhere resumes by job
id without losing or duplicating a result.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scorer._errors import JudgeError
from scorer.batch.jobs import BatchJob, SubmittedBatch, save_job
from scorer.batch.provider import CANCELLING, BatchClient, BatchState, split_lines
from scorer.batch.requests import CapturingJudge, ReplayJudge, pending_criteria, request_for, request_hash
from scorer.eligibility import SpamScorer
from scorer.judges.hosted import HostedJudge
from scorer.store import Store
from scorer.types import Conversation, Rubric

__all__ = ["BatchRun", "Submission"]


@dataclass
class Submission:
    """What one submission did: the batches created, the conversations that need no model call (rules only,
    excluded) which the caller scores at once with :meth:`BatchRun.replay_judge`, and the conversations given up
    by this submission (their reasons are in ``job.given_up``)."""

    batches: list[SubmittedBatch] = field(default_factory=list)
    requests: int = 0
    no_call: list[Conversation] = field(default_factory=list)
    given_up: list[str] = field(default_factory=list)


class BatchRun:
    """One job's batch work for a rubric, a hosted judge and the provider's batch API."""

    def __init__(self, store: Store, job: BatchJob, rubric: Rubric, judge: HostedJudge, client: BatchClient,
                 spam: SpamScorer | None = None) -> None:
        self.store, self.job, self.rubric, self.judge, self.client, self.spam = store, job, rubric, judge, client, spam

    def conversations(self, ids: Sequence[str] | None = None) -> list[Conversation]:
        """The job's conversations (or these of them) as stored at submission, in the job's order."""
        wanted = set(ids) if ids is not None else None
        found = [self.store.get_conversation(cid) for cid in self.job.conversation_ids
                 if wanted is None or cid in wanted]
        return [c for c in found if c is not None]

    def submit(self, conversations: Sequence[Conversation]) -> Submission:
        """Submit one request per conversation still unscored (split at the provider's file limits); each batch is
        recorded on the job as soon as it exists, and counts as one attempt of its conversations. A conversation
        submitted ``max_attempts`` times already is given up instead (its stored card keeps its unscored questions
        and their last reason). The job is ``done`` when nothing needed submitting."""
        for conversation in conversations:
            self.store.save_conversation(conversation)  # a resume reads them from the store
        capturing = CapturingJudge(self.judge.model, self.judge.options)
        lines: list[tuple[str, bytes]] = []
        out = Submission()
        limit = self.job.max_attempts
        for conversation in conversations:
            cid = conversation.id
            criteria = pending_criteria(conversation, self.rubric, self.judge.id, self.store,
                                        include_excluded=self.job.include_excluded, spam=self.spam)
            body = request_for(capturing, conversation, criteria or [])
            if body is None:
                self.job.given_up.pop(cid, None)  # settled (scored meanwhile, excluded, rules only)
                if criteria is not None:  # excluded, or answered without the model: stored at once
                    out.no_call.append(conversation)
                continue
            if limit is not None and self.job.attempts.get(cid, 0) >= limit:
                if cid not in self.job.given_up:
                    out.given_up.append(cid)
                self.job.given_up[cid] = self.last_reason(conversation)
                continue
            self.job.hashes[cid] = request_hash(body)
            line = {"custom_id": cid, "method": "POST", "url": "/v1/chat/completions", "body": body}
            lines.append((cid, json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n"))
        out.requests = len(lines)
        for part in split_lines(lines):
            file_id, batch_id = self.client.submit([line for _, line in part],
                                                   {"rubricate_job": str(self.job.id)})
            batch = SubmittedBatch(id=batch_id, input_file_id=file_id, conversation_ids=[cid for cid, _ in part])
            self.job.batches.append(batch)
            for cid in batch.conversation_ids:
                self.job.attempts[cid] = self.job.attempts.get(cid, 0) + 1
            out.batches.append(batch)
            save_job(self.store, self.job)
        self.job.status = "running" if lines else "done"
        unscored = len(lines) + len(self.job.given_up)
        save_job(self.store, self.job, done=len(self.job.conversation_ids) - unscored, failed=unscored)
        return out

    def last_reason(self, conversation: Conversation) -> str:
        """Why a conversation is still unscored: its stored card's reasons (a provider error, a reply that did not
        parse), else the provider's last word on it."""
        card = self.store.find_score_card(conversation, self.rubric, self.judge.id)
        reasons = dict.fromkeys(j.reason for j in card.judgements if j.status == "unscored" and j.reason) \
            if card is not None else {}
        return "; ".join(reasons) or self.job.reasons.get(conversation.id, "unscored")

    def poll(self) -> list[BatchState]:
        """Ask the provider about every batch not collected yet; their status is recorded on the job."""
        states = []
        for batch in self.job.open_batches:
            state = self.client.retrieve(batch.id)
            batch.status, batch.request_counts = state.status, state.request_counts
            states.append(state)
        save_job(self.store, self.job)
        return states

    def replay_judge(self, states: Sequence[BatchState] = (), *, answered_only: bool = False) -> \
            tuple[ReplayJudge, list[Conversation]]:
        """The judge answering from the finished batches among ``states``, and their conversations (to run through
        the pipeline). Error-file lines, and conversations an expired, failed or cancelled batch has no reply for,
        get the provider's reason; with ``answered_only`` (cancelling) only the conversations with a reply are
        returned, the others are left unstored for a new job."""
        replies: dict[str, dict[str, Any]] = {}
        errors: dict[str, str] = {}
        ids: list[str] = []
        for state in states:
            batch = next((b for b in self.job.open_batches if b.id == state.id), None)
            if batch is None or not state.terminal:
                continue
            for line in self.client.lines(state.output_file_id) if state.output_file_id else []:
                _read_line(line, replies, errors)
            for line in self.client.lines(state.error_file_id) if state.error_file_id else []:
                _read_line(line, replies, errors)
            ids += [cid for cid in batch.conversation_ids if not answered_only or cid in replies]
            for cid in batch.conversation_ids:
                if cid not in replies and cid not in errors:
                    errors[cid] = f"the batch ended {state.status} without a reply for this conversation"
        self.job.reasons.update(errors)
        judge = ReplayJudge(self.judge.model, self.judge.options, replies, errors, dict(self.job.hashes))
        return judge, self.conversations(ids)

    def collected(self, states: Sequence[BatchState]) -> None:
        """Mark the finished batches among ``states`` collected (after the pipeline stored their cards)."""
        finished = {s.id for s in states if s.terminal}
        for batch in self.job.open_batches:
            if batch.id in finished:
                batch.collected = True
        save_job(self.store, self.job)

    def cancel(self, states: Sequence[BatchState]) -> list[BatchState]:
        """Ask the provider to stop every batch among ``states`` still at work (neither finished nor cancelling);
        their states afterwards, recorded on the job. A batch that finished in the meantime (the provider refuses
        to cancel it) comes back as it now is, to be collected. Call :meth:`poll` and collect the finished batches
        first; the job's status is the caller's to set."""
        after = []
        for state in states:
            if state.terminal or state.status == CANCELLING:
                continue
            try:
                now = self.client.cancel(state.id)
            except JudgeError as refused:
                try:
                    now = self.client.retrieve(state.id)
                except JudgeError:
                    raise refused from None
                if not now.terminal:
                    raise refused
            batch = next(b for b in self.job.batches if b.id == state.id)
            batch.status, batch.request_counts = now.status, now.request_counts or batch.request_counts
            after.append(now)
            save_job(self.store, self.job)
        return after


def _read_line(line: dict[str, Any], replies: dict[str, dict[str, Any]], errors: dict[str, str]) -> None:
    """One output or error-file line: a chat.completion body, or the provider's reason."""
    cid = str(line.get("custom_id"))
    response = line.get("response") or {}
    body = response.get("body") if isinstance(response, dict) else None
    if line.get("error") or response.get("status_code", 200) != 200 or not isinstance(body, dict) \
            or "choices" not in body:
        error = line.get("error") or (body or {}).get("error") or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
        code = error.get("code") if isinstance(error, dict) else None
        errors[cid] = f"{code}: {message}" if code else str(message or f"status {response.get('status_code')}")
        replies.pop(cid, None)
        return
    replies[cid] = body
    errors.pop(cid, None)
