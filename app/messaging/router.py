"""The messaging domain's HTTP edge: the operator's check of a store's SMS gateway
(`/platform/v1/stores/{id}/gateway-check`) and Kavenegar's real-time receive URL
(`/hooks/kavenegar/{store_id}/{token}`, app/messaging/kavenegar_push.py)."""

import logging
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from app import server_key
from app.db import unit_of_work
from app.deps import AdminDep, StoreId
from app.errors import DomainError, ErrorResponse, NotFound, platform_errors
from app.messaging import inbound
from app.messaging import kavenegar_push as push
from app.messaging.deps import GatewaysDep
from app.messaging.gateway import Inbound
from app.messaging.gateway_check import gateway_check as check_gateway
from app.ops.logs import bind as bind_log_context
from app.ratelimit import REPLY_PUSHES, limit, off_the_loop
from app.stores.models import Store
from app.stores.service import get_store
from app.types import MAX_SMALL_ID

log = logging.getLogger(__name__)

router = APIRouter()

_PUSH_ERRORS = {
    404: "No such receive URL (a wrong token or store: the same answer)",
    413: "Too large", 415: "A body that is not a urlencoded form",
    422: "A field missing or invalid (the message names it); nothing was kept",
    429: "Rate limited"}


@router.get("/platform/v1/stores/{store_id}/gateway-check", dependencies=[AdminDep],
            tags=["ops", "platform"], responses=platform_errors(404),
            summary="Ask the store's SMS gateway for its credit: reachable, refused, or down")
def gateway_check(store_id: StoreId, request: Request, gateways: GatewaysDep) -> dict:
    """`ok` with the `credit` (Rial; null for the console), or `ok: false` with the error
    classified (`kind`: retry = unreachable or failing for now, store = the account refuses).
    The gateway is asked with no database transaction open; the API key is never shown."""
    state = request.app.state
    with state.sessionmaker() as session:
        store = get_store(session, store_id)
    return check_gateway(gateways, store)


class UnsupportedForm(DomainError, status=415, code="unsupported_media_type"):
    pass


def _unknown() -> NotFound:
    # One answer for a store that does not exist and a token that is wrong: no enumeration.
    return NotFound("no such receive URL: copy it again from the panel's SMS gateway settings",
                    code="not_found")


def _store_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and 0 < int(raw) <= MAX_SMALL_ID):
        raise _unknown()
    return int(raw)


async def _body_pairs(request: Request) -> list[tuple[str, str]]:
    """A POST's urlencoded form (also when no content type is given); nothing for a GET."""
    too_large = push.PushTooLarge(f"bodies are limited to {push.MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > push.MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > push.MAX_BODY_BYTES:
            raise too_large
    if not body.strip():
        return []
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ("", "application/x-www-form-urlencoded"):
        log.warning("kavenegar push refused: a %s body (only urlencoded forms are read)",
                    media_type[:60])
        raise UnsupportedForm("send the fields as a query string or an "
                              "application/x-www-form-urlencoded form")
    return _pairs(bytes(body))


def _pairs(raw: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True,
                         max_num_fields=push.MAX_FIELDS, errors="strict")
    except ValueError:  # not UTF-8, or too many fields
        raise push.InvalidPush(f"the fields must be UTF-8 and at most {push.MAX_FIELDS}") \
            from None


def _take(factory: sessionmaker[Session], store_id: int, reply: Inbound, now) -> bool:
    with unit_of_work(factory) as session:
        if session.get(Store, store_id) is None:  # deleted since its URL was handed out
            raise _unknown()
        return inbound.take_pushed(session, store_id, reply, now)


_PUSH_PATH = f"{push.PATH}/{{store_id}}/{{token}}"
_PUSH_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text} for code, text in _PUSH_ERRORS.items()}
_PUSH_SUMMARY = "Kavenegar's real-time receive URL: one reply to the store's line"


@router.get(_PUSH_PATH, tags=["webhooks"], responses=_PUSH_RESPONSES, summary=_PUSH_SUMMARY,
            operation_id="kavenegar_push_get")
@router.post(_PUSH_PATH, tags=["webhooks"], responses=_PUSH_RESPONSES, summary=_PUSH_SUMMARY,
             operation_id="kavenegar_push_post")
async def kavenegar_push(store_id: str, token: str, request: Request) -> dict:
    """Paste the URL the panel shows (درگاه پیامک) into Kavenegar's panel. Reads `messageid`,
    `from`, `to` (optional) and `message`, names in any case, from the query string or a
    urlencoded POST form. The reply is kept and acted on before the answer: a «۱۱» opts the
    customer out at once. The same messageid again, pushed or polled, adds nothing. A call
    with none of the fields is answered 200 (`ping`). 404 for a wrong token or store."""
    state = request.app.state
    await off_the_loop(state.limiter, limit, request, REPLY_PUSHES, store_id[:20])
    sid = _store_id(store_id)
    key = await run_in_threadpool(server_key.of_app, request.app)
    if not push.token_matches(key, sid, token):
        raise _unknown()
    bind_log_context(store_id=sid)
    fields = push.fields_of(await _body_pairs(request), _pairs(request.scope["query_string"]))
    if push.is_ping(fields):
        return {"ok": True, "ping": True}
    now = state.clock.now()
    reply = push.parse(fields, now=now)
    new = await run_in_threadpool(_take, state.sessionmaker, sid, reply, now)
    log.info("kavenegar pushed reply %s: %s", reply.gateway_id, "kept" if new else "already kept")
    return {"ok": True, "new": new}
