"""``/v1/rubrics``: store a rubric version (YAML or JSON; returns its version hash), list and read them."""

from __future__ import annotations

import json
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError

from api.deps import AdminKey, ReaderKey, SettingsDep, StoreDep
from api.errors import invalid
from api.schemas.common import AUTH_ERRORS, ErrorOut, errors
from api.schemas.links import RUBRIC_LINKS
from api.schemas.rubrics import RUBRIC_REQUEST_BODY, RubricOut, RubricSummary
from scorer._errors import RubricError
from scorer.io import printable
from scorer.rubric import default_eligibility, parse_rubric
from scorer.settings import Settings
from scorer.store import Store
from scorer.store.queries import rubric_versions
from scorer.types import Rubric

__all__ = ["router"]

router = APIRouter(prefix="/v1/rubrics", tags=["rubrics"], responses=AUTH_ERRORS)
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")


def _rubric_text(body: bytes, content_type: str) -> str:
    """The rubric as YAML text, from a YAML body, ``{"yaml": ...}`` or the rubric as a JSON object."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid(["body"], f"the body is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if content_type.split(";")[0].strip().lower() in _YAML_TYPES:
        return text
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise invalid(["body", exc.pos], f"the body is not valid JSON: {exc.msg}", "json_invalid") from exc
    except RecursionError as exc:
        raise invalid(["body"], "the JSON nests too deeply to be a rubric") from exc
    if isinstance(data, dict) and set(data) == {"yaml"} and isinstance(data["yaml"], str):
        return data["yaml"]
    if not isinstance(data, dict):
        raise invalid(["body"], "send the rubric as an object (id, name, criteria) or as {\"yaml\": \"...\"}")
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _out(rubric: Rubric, created: bool = False) -> RubricOut:
    return RubricOut(id=rubric.id, name=rubric.name, description=rubric.description, version=rubric.version,
                     criteria=rubric.criteria, created=created)


@router.post(
    "", response_model=RubricOut, status_code=status.HTTP_201_CREATED, summary="Store a rubric version",
    openapi_extra={"requestBody": RUBRIC_REQUEST_BODY},
    responses={201: {"description": "Stored; the links say what to do next.", "links": RUBRIC_LINKS},
               200: {"model": RubricOut, "description": "This version was stored before.", "links": RUBRIC_LINKS},
               **errors(400, 413)},
)
async def create_rubric(request: Request, response: Response, store: StoreDep, settings: SettingsDep,
                        key: AdminKey) -> RubricOut:
    """Validate the rubric like a rubric file and store it. Storing the same rubric again returns 200 with the same
    version; a changed rubric gets a new version and older versions stay readable."""
    body = await request.body()
    if len(body) > settings.max_rubric_bytes:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"the rubric is {len(body)} bytes, over the limit of "
                            f"{settings.max_rubric_bytes} (RUBRICATE_MAX_RUBRIC_BYTES)")
    try:  # parsing may be slow on a hostile body (within the limits): never on the event loop
        rubric = await run_in_threadpool(_parse, body, request.headers.get("content-type", "application/json"),
                                         settings)
    except RubricError as exc:
        raise invalid(["body"], printable(str(exc))) from exc
    created = await run_in_threadpool(_save, store, rubric)
    if not created:
        response.status_code = status.HTTP_200_OK
    return _out(rubric, created)


def _parse(body: bytes, content_type: str, settings: Settings) -> Rubric:
    return parse_rubric(_rubric_text(body, content_type), source="request body", settings=settings,
                        eligibility=default_eligibility(settings))


def _save(store: Store, rubric: Rubric) -> bool:
    """Store the version if new; True when this call stored it."""
    if store.get_rubric(rubric.id, rubric.version) is not None:
        return False
    try:
        store.save_rubric(rubric)
    except IntegrityError:  # a concurrent request stored the same version first
        return False
    return True


@router.get("", response_model=list[RubricSummary], summary="List stored rubric versions")
def list_rubrics(store: StoreDep, key: ReaderKey,
                 rubric_id: Annotated[str | None, Query(max_length=255)] = None) -> list[RubricSummary]:
    return [RubricSummary(id=rid, version=version, name=name, stored_at=at)
            for rid, version, name, at in rubric_versions(store, rubric_id)]


@router.get("/{rubric_id}", response_model=RubricOut, summary="Read a rubric (newest version or a given one)",
            responses={404: {"model": ErrorOut, "description": "No such rubric or version."}})
def get_rubric(
    rubric_id: Annotated[str, Path(max_length=255)], store: StoreDep, key: ReaderKey,
    version: Annotated[str | None, Query(max_length=64)] = None,
) -> RubricOut:
    rubric = store.get_rubric(rubric_id, version)
    if rubric is None:
        what = f"rubric {rubric_id!r}" + (f" at version {version!r}" if version else "")
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown {what}; store it with POST /v1/rubrics")
    return _out(rubric)
