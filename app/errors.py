"""Typed domain errors and the one place that turns any error into `{"error": {code, message}}`."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable")
    message: str = Field(description="what went wrong and, where it helps, what to do")


class ErrorResponse(BaseModel):
    """Every error of every endpoint, including malformed requests (422)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"error": {"code": "campaign_not_found", "message": "no campaign with id 7"}}]})

    error: ErrorDetail


# What each error status means to a caller, for the OpenAPI documents: the merchant API
# (`/api/v1`, a store's API key) and the operator's platform API (`/platform/v1`, its token).
_API_ERROR_TEXT = {400: "Bad request (e.g. a body that is not UTF-8 JSON)",
                   401: "Missing or invalid API key", 403: "Store disabled",
                   404: "Not found (or another store's)", 409: "Conflicts with the current state",
                   413: "Too large", 415: "Unsupported media type",
                   422: "Invalid request (the message names the field and the reason)",
                   429: "Rate limited", 502: "The SMS gateway refused or did not answer"}
_PLATFORM_ERROR_TEXT = {
    400: "Bad request (a body that is not UTF-8 JSON; WooCommerce keys for a store not on "
         "https)",
    401: "Missing or invalid operator token",
    403: "The platform API is disabled (BAZGASHT_ADMIN_TOKEN is not set)",
    404: "No store with this id",
    422: "Invalid request (the message names the field and the reason)",
}


def api_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` of the merchant API for these error statuses (400, 401, 403 and 422
    come with every route)."""
    return {code: {"model": ErrorResponse, "description": _API_ERROR_TEXT[code]}
            for code in sorted({400, 401, 403, 422, *codes})}


def platform_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` of the operator's API for these error statuses (400, 401, 403 and 422
    come with every route)."""
    return {code: {"model": ErrorResponse, "description": _PLATFORM_ERROR_TEXT[code]}
            for code in sorted({400, 401, 403, 422, *codes})}


class DomainError(Exception):
    """An error a caller can act on: its HTTP status and stable code are the class's, declared
    where it is defined (`class NotFound(DomainError, status=404, code="not_found")`), or given
    for one raise."""

    status_code = 400
    code = "bad_request"

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None,
                          **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status
        if code is not None:
            cls.code = code

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code


class NotFound(DomainError, status=404, code="not_found"):
    pass


class Unauthorized(DomainError, status=401, code="unauthorized"):
    pass


class Forbidden(DomainError, status=403, code="forbidden"):
    pass


class Conflict(DomainError, status=409, code="conflict"):
    pass


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               413: "payload_too_large", 415: "unsupported_media_type"}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError):
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        return JSONResponse(error_body("invalid_request", _validation_message(exc)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return JSONResponse(error_body(code, message), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception):
        log.exception("unhandled error")
        return JSONResponse(error_body("internal_error", "internal error"), status_code=500)
