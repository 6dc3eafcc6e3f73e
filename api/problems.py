"""RFC 9457 problem details: the one shape of every error the API answers with."""

from __future__ import annotations

import logging
import sqlite3
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import ChaineError, ErrorCode, Unavailable
from core.logging import request_id_var

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: ErrorCode.VALIDATION_FAILED,
    401: ErrorCode.AUTH_REQUIRED,
    403: ErrorCode.FORBIDDEN_ROLE,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.BODY_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.VALIDATION_FAILED,
    429: ErrorCode.RATE_LIMITED,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


def problem(
    status: int,
    code: ErrorCode | str,
    detail: str,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response; `code` is the stable machine-readable error code."""
    body: dict[str, Any] = {
        "type": f"urn:chaine:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": str(code),
    }
    if instance:
        body["instance"] = instance
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Each refused field, with a JSON pointer into the body or the parameter's name."""
    errors = []
    for err in exc.errors():
        where, *path = err["loc"] or ("body",)
        entry: dict[str, Any] = {"in": where, "detail": err["msg"], "type": err["type"]}
        if where == "body":
            entry["pointer"] = "/" + "/".join(
                str(p).replace("~", "~0").replace("/", "~1") for p in path
            )
        else:
            entry["parameter"] = ".".join(str(p) for p in path)
        errors.append(entry)
    return errors


def database_unreachable(exc: Exception) -> bool:
    """Whether a database error means it does not answer now (down, restarting, saturated,
    locked), which a retry will cure, rather than a fault of ours."""
    if isinstance(exc, InterfaceError | SQLAlchemyTimeoutError):
        return True
    if getattr(exc, "connection_invalidated", False):
        return True
    cause = getattr(exc, "orig", None)
    if isinstance(cause, sqlite3.OperationalError):
        return "locked" in str(cause) or "unable to open" in str(cause)
    state = getattr(cause, "sqlstate", None)  # psycopg: None when no server answered
    return state is None or state[:2] in ("08", "53") or state.startswith("57P")


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error, ours and the framework's, to problem+json."""

    @app.exception_handler(ChaineError)
    async def _chaine_error(request: Request, exc: ChaineError) -> JSONResponse:
        headers = {"WWW-Authenticate": exc.challenge} if exc.status == 401 else {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        return problem(
            exc.status,
            exc.code,
            exc.detail,
            instance=request.url.path,
            headers=headers,
            **exc.extra,
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(SQLAlchemyTimeoutError)
    async def _database_unreachable(request: Request, exc: Exception) -> JSONResponse:
        if not database_unreachable(exc):
            raise exc  # a fault of ours (a missed migration...): the 500 of every fault
        log.warning("database unreachable: %s", exc)
        return problem(
            503,
            ErrorCode.SERVICE_UNAVAILABLE,
            "the database does not answer; retry shortly",
            instance=request.url.path,
            headers={"Retry-After": str(Unavailable.retry_after)},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        return problem(
            422,
            ErrorCode.VALIDATION_FAILED,
            f"{len(errors)} field(s) refused",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, ErrorCode.INTERNAL_ERROR)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path}"
        return problem(
            exc.status_code, code, detail, instance=request.url.path, headers=exc.headers
        )
