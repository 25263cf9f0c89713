from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.deps import AdminDep, SessionDep, StoreDep, StoreId
from app.errors import DomainError, NotFound, api_errors, platform_errors
from app.ingest import service
from app.ingest.writer import PING_ANSWER, Incoming
from app.ops import metrics
from app.ops.logs import bind as bind_log_context
from app.ratelimit import WEBHOOKS, limit, off_the_loop
from app.stores.service import get_store
from app.types import MAX_SMALL_ID

router = APIRouter()


class PayloadTooLarge(DomainError, status=413, code="payload_too_large"):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    too_large = PayloadTooLarge(f"webhook bodies are limited to {limit} bytes")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _store_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise NotFound(f"no store with id {raw!r}: use the webhook URL bazgasht gave you",
                       code="store_not_found")
    return int(raw)


@router.post("/webhooks/woocommerce/{store_id}", tags=["webhooks"],
             summary="Receive a WooCommerce webhook delivery (or its ping)")
@router.post("/webhooks/woocommerce/{store_id}/", include_in_schema=False)
async def woocommerce_webhook(store_id: str, request: Request) -> Response:
    """Point a WooCommerce webhook (API version v3) here, with the store's webhook secret.

    Answers 200 to the creation ping and to every validly signed delivery, even one bazgasht
    cannot use (kept as a dead letter); 401 for a missing or wrong signature.
    """
    headers = request.headers
    topic = headers.get("x-wc-webhook-topic", "")
    # Before anything is recorded: a 429 is no refused signature for the merchant to see.
    await off_the_loop(request.app.state.limiter, limit, request, WEBHOOKS, store_id[:20])
    sid = None
    try:  # ---- ops: deliveries by topic and result (app/ops/metrics.py) ----
        sid = _store_id(store_id)
        bind_log_context(store_id=sid)
        body = await _read_body(request, request.app.state.settings.max_webhook_body_bytes)
        answer = await request.app.state.delivery_writer.submit(Incoming(
            store_id=sid, body=body, signature=headers.get("x-wc-webhook-signature"),
            topic=topic,
            webhook_id=headers.get("x-wc-webhook-id", ""),
            delivery_id=headers.get("x-wc-webhook-delivery-id", ""),
            received_at=request.app.state.clock.now(),
            content_type=headers.get("content-type", ""),
        ))
    except DomainError as exc:
        metrics.WEBHOOK_DELIVERIES.labels(metrics.topic_label(topic), exc.code).inc()
        # The merchant sees it (app/ingest/rejections.py); no store has a larger id.
        if sid is not None and sid <= MAX_SMALL_ID:
            request.app.state.rejection_recorder.record(
                store_id=sid, cause=exc.code, topic=topic,
                webhook_id=headers.get("x-wc-webhook-id", ""),
                at=request.app.state.clock.now())
        raise
    result = "ping" if answer == PING_ANSWER else "accepted"
    metrics.WEBHOOK_DELIVERIES.labels(metrics.topic_label(topic), result).inc()
    return Response(answer, media_type="application/json")


class DeliveryOut(BaseModel):
    id: int
    topic: str
    webhook_id: str
    delivery_id: str
    status: str
    reason: str | None
    attempts: int
    received_at: str
    processed_at: str | None
    body: str | None = None


Status = Literal["pending", "applied", "duplicate", "stale", "ignored", "dead_letter"]


@router.get("/platform/v1/stores/{store_id}/webhook-deliveries", dependencies=[AdminDep],
            tags=["platform"], responses=platform_errors(404),
            summary="Webhook deliveries of a store (dead letters included)")
def list_deliveries(store_id: StoreId, session: SessionDep,
                    status: Status | None = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50,
                    before_id: int | None = Query(None, ge=1, le=2**63 - 1)) -> dict:
    get_store(session, store_id)
    rows = service.list_deliveries(session, store_id=store_id, status=status, limit=limit,
                                   before_id=before_id)
    items = [DeliveryOut(
        id=d.id, topic=d.topic, webhook_id=d.webhook_id, delivery_id=d.delivery_id,
        status=d.status, reason=d.reason, attempts=d.attempts,
        received_at=d.received_at.isoformat(),
        processed_at=d.processed_at.isoformat() if d.processed_at else None,
        body=d.body.decode("utf-8", "replace") if d.status == service.DEAD_LETTER else None,
    ) for d in rows]
    return {"items": items, "counts": service.count_by_status(session, store_id=store_id),
            "next_before_id": items[-1].id if len(items) == limit else None}


class TopicOut(BaseModel):
    topic: str
    last_delivery_at: datetime | None


class RejectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    cause: str = Field(description="missing_signature or invalid_signature: the webhook's secret "
                                   "in WooCommerce is not this store's")
    topic: str
    webhook_id: str
    count: int
    first_at: datetime
    last_at: datetime


class ConnectionHealth(BaseModel):
    topics: list[TopicOut]
    rejected: list[RejectionOut]
    checked_at: datetime | None = Field(description="when bazgasht last checked the store's "
                                                    "webhooks through its REST API (one-click "
                                                    "connected stores)")
    broken_since: datetime | None = Field(description="the first of the checks failing since; "
                                                      "null while the connection is healthy")


@router.get("/api/v1/store/webhooks", response_model=ConnectionHealth, tags=["admin: store"],
            responses=api_errors(),
            summary="Each webhook topic's last delivery, and deliveries refused for their "
                    "signature")
def webhook_health(store: StoreDep, session: SessionDep) -> dict:
    return service.connection_health(session, store_id=store.id) | {
        "checked_at": store.connection_checked_at, "broken_since": store.connection_broken_at}
