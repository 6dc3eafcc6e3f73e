"""The portal mounted on the API application: static files, pages, and errors as pages."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.problems import database_unreachable
from core.errors import ChaineError
from portal.backend import ApiProblem
from portal.deps import CsrfFailed, RoleRefused, SignInRequired, optional_visitor, redirect
from portal.pages import render
from portal.routes import ROUTERS

STATIC = Path(__file__).parent / "static"
API_PREFIXES = ("/v1/", "/oauth/", "/healthz", "/readyz", "/metrics", "/docs", "/openapi")


def is_page_request(request: Request) -> bool:
    """Whether the request is a person's browser on a portal page (not an API call)."""
    return not request.url.path.startswith(API_PREFIXES)


async def error_page(request: Request, status: int, code: str, detail: str) -> Response:
    """An error shown as a page with its stable code."""
    visitor = await optional_visitor(request)
    return render(request, "error.html", visitor, status_code=status, code=code, detail=detail)


def install_portal(app: FastAPI) -> None:
    """Serve the portal at `/` beside the API."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    api_http_error = app.exception_handlers[StarletteHTTPException]
    api_chaine_error = app.exception_handlers[ChaineError]
    api_validation_error = app.exception_handlers[RequestValidationError]

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        # Back to the page asked for, query included; a form's target only answers POST.
        if request.method != "GET":
            return redirect(request, "/login")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(request, f"/login?{urlencode({'next': target})}")

    @app.exception_handler(RoleRefused)
    @app.exception_handler(CsrfFailed)
    async def _refused(request: Request, exc: RoleRefused | CsrfFailed) -> Response:
        return await error_page(request, exc.status, exc.code, exc.detail)

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> Response:
        return await error_page(request, exc.status, exc.code, exc.detail)

    @app.exception_handler(ChaineError)
    async def _chaine_error(request: Request, exc: ChaineError) -> Response:
        if not is_page_request(request):
            return await api_chaine_error(request, exc)
        return await error_page(request, exc.status, exc.code, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _form_error(request: Request, exc: RequestValidationError) -> Response:
        if not is_page_request(request):
            return await api_validation_error(request, exc)
        fields = ", ".join(str(err["loc"][-1]) for err in exc.errors())
        return await error_page(request, 422, "VALIDATION_FAILED", f"refused fields: {fields}")

    api_database_error = app.exception_handlers[OperationalError]

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(SQLAlchemyTimeoutError)
    async def _database_error(request: Request, exc: Exception) -> Response:
        if not is_page_request(request) or not database_unreachable(exc):
            return await api_database_error(request, exc)
        # No visitor: finding who signs in needs the database that does not answer.
        detail = "the database does not answer; retry shortly"
        return render(request, "error.html", None, 503, code="SERVICE_UNAVAILABLE", detail=detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not is_page_request(request):
            return await api_http_error(request, exc)
        codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
        code = codes.get(exc.status_code, "VALIDATION_FAILED")
        return await error_page(request, exc.status_code, code, str(exc.detail))
