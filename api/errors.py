"""Error handling shared by every route: clear messages, nothing lost, and the right status code.

* malformed JSON → 400 with the parser's position; other validation problems → 422 (FastAPI's format);
* the database unreachable (or restarted under us) → 503 with ``Retry-After``: nothing of the request was saved;
* the job broker unreachable → 503: nothing was accepted;
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.jobs.broker import BrokerUnavailable
from scorer._errors import RubricateError, StorageError
from scorer.io import printable

SURROGATE = "contains a lone surrogate (half of a UTF-16 pair, e.g. \\ud800), which is not text; fix the encoding"

__all__ = ["install_error_handlers", "invalid"]

log = logging.getLogger(__name__)


def invalid(loc: Sequence[str | int], msg: str, kind: str = "value_error") -> RequestValidationError:
    """A 422 in FastAPI's usual shape, for problems found after parsing (raise the result)."""
    return RequestValidationError([{"loc": list(loc), "msg": msg, "type": kind}])


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = exc.errors()
    for problem in problems:
        if problem.get("type") == "json_invalid":
            ctx = problem.get("ctx") or {}
            where = problem.get("loc", [])
            position = f" at character {where[1]}" if len(where) > 1 else ""
            return JSONResponse({"detail": f"the request body is not valid JSON{position}: "
                                           f"{ctx.get('error', problem.get('msg'))}"}, status_code=400)
    return JSONResponse({"detail": _printable(jsonable_encoder([_explain(p) for p in problems]))}, status_code=422)


def _explain(problem: Any) -> Any:
    """Say plainly what pydantic's ``string_unicode`` means (a lone surrogate such as ``\\ud800``)."""
    if isinstance(problem, dict) and problem.get("type") == "string_unicode":
        return {**problem, "msg": SURROGATE}
    return problem


def _printable(value: Any) -> Any:
    """Error bodies echo input: lone surrogates in it are escaped so the response can be encoded."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [_printable(v) for v in value]
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    return value


async def _storage(request: Request, exc: Exception) -> JSONResponse:
    message = str(exc) if isinstance(exc, StorageError) else f"database error: {getattr(exc, 'orig', exc)}"
    log.warning("%s %s → 503: %s", request.method, request.url.path, message)
    return JSONResponse({"detail": f"the database is unavailable ({message.strip()}). Nothing from this request "
                                   "was saved; retry shortly."}, status_code=503, headers={"Retry-After": "5"})


async def _dbapi(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, DBAPIError) and (exc.connection_invalidated or type(exc).__name__ in
                                        ("OperationalError", "InterfaceError")):
        return await _storage(request, exc)
    raise exc


async def _broker(request: Request, exc: Exception) -> JSONResponse:
    log.warning("%s %s → 503: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": f"{exc}. Nothing was accepted; retry when the broker is back."},
                        status_code=503, headers={"Retry-After": "10"})


async def _ours(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": printable(str(exc))}, status_code=400)


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":  # FastAPI's catch-all
        return JSONResponse({"detail": "the request body could not be parsed: it is not JSON, or it nests deeper "
                                       "than can be parsed (keep objects and arrays under RUBRICATE_MAX_JSON_DEPTH "
                                       "levels)"}, status_code=400)
    return await http_exception_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StorageError, _storage)
    app.add_exception_handler(DBAPIError, _dbapi)
    app.add_exception_handler(BrokerUnavailable, _broker)
    app.add_exception_handler(RubricateError, _ours)
