"""Batch mode end to end, without printing: submit what is still unscored, poll, hand the finished batches'
replies to the normal pipeline, and submit again what stayed unscored.

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

from scorer.batch.jobs import BatchJob, SubmittedBatch, save_job
from scorer.batch.provider import BatchClient, BatchState, split_lines
from scorer.batch.requests import CapturingJudge, ReplayJudge, pending_criteria, request_for, request_hash
from scorer.eligibility import SpamScorer
from scorer.judges.hosted import HostedJudge
from scorer.store import Store
from scorer.types import Conversation, Rubric

__all__ = ["BatchRun", "Submission"]


@dataclass
class Submission:
    """What one submission did: the batches created, and the conversations that need no model call (rules only,
    excluded) which the caller scores at once with :meth:`BatchRun.replay_judge`."""

    batches: list[SubmittedBatch] = field(default_factory=list)
    requests: int = 0
    no_call: list[Conversation] = field(default_factory=list)


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
        recorded on the job as soon as it exists. The job is ``done`` when nothing needed submitting."""
        for conversation in conversations:
            self.store.save_conversation(conversation)  # a resume reads them from the store
        capturing = CapturingJudge(self.judge.model, self.judge.options)
        lines: list[tuple[str, bytes]] = []
        out = Submission()
        for conversation in conversations:
            criteria = pending_criteria(conversation, self.rubric, self.judge.id, self.store,
                                        include_excluded=self.job.include_excluded, spam=self.spam)
            body = request_for(capturing, conversation, criteria or [])
            if body is None:
                if criteria is not None:  # excluded, or answered without the model: stored at once
                    out.no_call.append(conversation)
                continue
            self.job.hashes[conversation.id] = request_hash(body)
            line = {"custom_id": conversation.id, "method": "POST", "url": "/v1/chat/completions", "body": body}
            lines.append((conversation.id, json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n"))
        out.requests = len(lines)
        for part in split_lines(lines):
            file_id, batch_id = self.client.submit([line for _, line in part],
                                                   {"rubricate_job": str(self.job.id)})
            batch = SubmittedBatch(id=batch_id, input_file_id=file_id, conversation_ids=[cid for cid, _ in part])
            self.job.batches.append(batch)
            out.batches.append(batch)
            save_job(self.store, self.job)
        self.job.status = "running" if lines else "done"
        save_job(self.store, self.job, done=len(self.job.conversation_ids) - len(lines), failed=len(lines))
        return out

    def poll(self) -> list[BatchState]:
        """Ask the provider about every batch not collected yet; their status is recorded on the job."""
        states = []
        for batch in self.job.open_batches:
            state = self.client.retrieve(batch.id)
            batch.status, batch.request_counts = state.status, state.request_counts
            states.append(state)
        save_job(self.store, self.job)
        return states

    def replay_judge(self, states: Sequence[BatchState] = ()) -> tuple[ReplayJudge, list[Conversation]]:
        """The judge answering from the finished batches among ``states``, and their conversations (to run through
        the pipeline). Error-file lines, and conversations an expired, failed or cancelled batch has no reply for,
        get the provider's reason."""
        replies: dict[str, dict[str, Any]] = {}
        errors: dict[str, str] = {}
        ids: list[str] = []
        for state in states:
            batch = next((b for b in self.job.open_batches if b.id == state.id), None)
            if batch is None or not state.terminal:
                continue
            ids += batch.conversation_ids
            for line in self.client.lines(state.output_file_id) if state.output_file_id else []:
                _read_line(line, replies, errors)
            for line in self.client.lines(state.error_file_id) if state.error_file_id else []:
                _read_line(line, replies, errors)
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
