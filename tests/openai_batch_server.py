"""The OpenAI stub with the batch API (files + batches), served over real HTTP on loopback for the batch tests.

``POST /v1/files`` keeps an upload, ``POST /v1/batches`` starts a batch ``in_progress``, ``GET /v1/batches/{id}``
reports it, ``POST /v1/batches/{id}/cancel`` stops it, ``GET /v1/files/{id}/content`` returns a file. A batch stays
``in_progress`` until the test sets ``state.ready`` (batch ids in ``state.hold`` stay even then); the next look
then answers every line with the chat stub's own reply (the same as online), except custom ids in ``state.fail``
(a line in the error file, every time), in ``state.garble`` (a reply that does not parse, every time) and in
``state.drop`` (no line at all: the batch ends ``expired``).

Cancelling, as OpenAI describes it: a batch at work goes ``cancelling``, then ``cancelled`` (at once with
``state.cancel_at_once``, else at the next look) with an output file of the lines it had finished, the custom ids in
``state.partial``; a finished batch cannot be cancelled (400). ``state.finish_on_cancel`` makes a batch finish just
before the cancel arrives (the race between looking and cancelling). ``state.cancels`` lists the cancel calls.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.openai_stub_server import StubServer, chat_completion, free_port, make_app, serve

__all__ = ["BatchStub", "batch_stub"]


@dataclass
class BatchStub(StubServer):
    """The running server: uploads, batches, and what the test decides about them."""

    files: dict[str, bytes] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    ready: bool = False
    fail: set[str] = field(default_factory=set)
    garble: set[str] = field(default_factory=set)
    drop: set[str] = field(default_factory=set)
    hold: set[str] = field(default_factory=set)
    partial: set[str] = field(default_factory=set)
    cancel_at_once: bool = True
    finish_on_cancel: bool = False
    cancels: list[str] = field(default_factory=list)

    def inputs(self, batch_id: str) -> list[dict[str, Any]]:
        """The request lines a batch was submitted with."""
        data = self.files[self.batches[batch_id]["input_file_id"]]
        return [json.loads(line) for line in data.decode().splitlines()]

    def submitted(self, custom_id: str) -> int:
        """How many request lines for this conversation reached the server, over every batch."""
        return sum(line["custom_id"] == custom_id for batch_id in self.batches for line in self.inputs(batch_id))


def _finish(state: BatchStub, batch: dict[str, Any], *, cancelled: bool = False) -> None:
    out, errors = [], []
    for line in state.inputs(batch["id"]):
        cid, body = line["custom_id"], line["body"]
        if cid in state.drop or (cancelled and cid not in state.partial):
            continue
        if cid in state.fail:
            errors.append({"id": f"err-{cid}", "custom_id": cid, "response": {"status_code": 400, "body": {
                "error": {"message": "the request was refused", "code": "invalid_request"}}}, "error": None})
            continue
        state.requests.append(body)
        state.counts[body["model"]] = state.counts.get(body["model"], 0) + 1
        model = "garbage" if cid in state.garble else body["model"]
        reply = chat_completion(state, body, model, state.counts[body["model"]])
        out.append({"id": f"out-{cid}", "custom_id": cid, "response": {"status_code": 200, "body": reply},
                    "error": None})
    for kind, lines in (("output_file_id", out), ("error_file_id", errors)):
        if lines:
            file_id = f"file-{len(state.files) + 1}"
            state.files[file_id] = "".join(json.dumps(x) + "\n" for x in lines).encode()
            batch[kind] = file_id
    batch["status"] = "cancelled" if cancelled else "expired" if state.drop else "completed"
    batch["request_counts"] = {"total": len(state.inputs(batch["id"])), "completed": len(out),
                               "failed": len(errors)}


def make_batch_app(state: BatchStub) -> FastAPI:
    app = make_app(state)

    @app.post("/v1/files")
    async def upload(request: Request) -> JSONResponse:
        form = await request.form()
        data = await form["file"].read()  # type: ignore[union-attr]
        file_id = f"file-{len(state.files) + 1}"
        state.files[file_id] = data
        return JSONResponse({"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                             "filename": "batch.jsonl", "purpose": str(form.get("purpose")), "status": "processed"})

    @app.post("/v1/batches")
    async def create(request: Request) -> JSONResponse:
        body = await request.json()
        batch_id = f"batch-{len(state.batches) + 1}"
        state.batches[batch_id] = {
            "id": batch_id, "object": "batch", "endpoint": body["endpoint"], "input_file_id": body["input_file_id"],
            "completion_window": body["completion_window"], "status": "in_progress", "created_at": int(time.time()),
            "metadata": body.get("metadata"), "output_file_id": None, "error_file_id": None,
            "request_counts": {"total": len(state.files[body["input_file_id"]].splitlines()), "completed": 0,
                               "failed": 0}}
        return JSONResponse(state.batches[batch_id])

    @app.get("/v1/batches/{batch_id}")
    async def retrieve(batch_id: str) -> JSONResponse:
        batch = state.batches.get(batch_id)
        if batch is None:
            return JSONResponse({"error": {"message": "no such batch"}}, status_code=404)
        if state.ready and batch["status"] == "in_progress" and batch_id not in state.hold:
            _finish(state, batch)
        if batch["status"] == "cancelling":
            _finish(state, batch, cancelled=True)
        return JSONResponse(batch)

    @app.post("/v1/batches/{batch_id}/cancel")
    async def cancel(batch_id: str) -> JSONResponse:
        state.cancels.append(batch_id)
        batch = state.batches.get(batch_id)
        if batch is None:
            return JSONResponse({"error": {"message": "no such batch"}}, status_code=404)
        if state.finish_on_cancel and batch["status"] == "in_progress":
            _finish(state, batch)
        if batch["status"] not in ("validating", "in_progress", "finalizing"):
            return JSONResponse({"error": {"message": f"Cannot cancel a batch with status {batch['status']}.",
                                           "type": "invalid_request_error"}}, status_code=400)
        batch["status"] = "cancelling"
        if state.cancel_at_once:
            _finish(state, batch, cancelled=True)
        return JSONResponse(batch)

    @app.get("/v1/files/{file_id}/content")
    async def content(file_id: str) -> Response:
        return Response(state.files[file_id], media_type="application/octet-stream")

    return app


@pytest.fixture
def batch_stub() -> Iterator[BatchStub]:
    """A fresh batch server per test on a free loopback port."""
    port = free_port()
    state = BatchStub(base_url=f"http://127.0.0.1:{port}/v1")
    with serve(make_batch_app(state), port):
        yield state
