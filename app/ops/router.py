"""Operator endpoints: readiness, Prometheus metrics, a store's gateway check.

Included before the short-link router: /readyz and /metrics are single path segments that a
7-character short code (`metrics`) would otherwise claim.
"""

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.campaigns.service import oldest_due
from app.deps import AdminDep, GatewaysDep, NowDep, StoreId
from app.errors import Unauthorized, platform_errors
from app.ops import health, metrics
from app.stores.service import get_store

router = APIRouter(tags=["ops"])


@router.get("/readyz", summary="Readiness: the database and Redis, each with its latency",
            responses={503: {"description": "a required dependency is down"}})
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    ready, answer = await health.readiness(state.engine, _redis(request))
    return JSONResponse(answer, status_code=200 if ready else 503)


def _redis(request: Request):
    state = request.app.state
    url = state.settings.redis_url
    if not url:
        return None
    if getattr(state, "ops_redis", None) is None:
        state.ops_redis = health.redis_client(url)
    return state.ops_redis


@router.get("/metrics", summary="Prometheus metrics (text exposition format)",
            response_class=Response)
def prometheus_metrics(request: Request, now: NowDep) -> Response:
    state = request.app.state
    token = state.settings.metrics_token
    if token is not None and token.get_secret_value():
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token.get_secret_value()}".encode()):
            raise Unauthorized("send the metrics token as 'Authorization: Bearer <token>'",
                               code="invalid_metrics_token")

    def lag() -> float | None:
        with state.sessionmaker() as session:
            due = oldest_due(session, now)
        return (now - due).total_seconds() if due else None

    return Response(metrics.exposition(metrics.QueueLag(lag)),
                    media_type=metrics.CONTENT_TYPE)


@router.get("/platform/v1/stores/{store_id}/gateway-check", dependencies=[AdminDep],
            tags=["platform"], responses=platform_errors(404),
            summary="Ask the store's SMS gateway for its credit: reachable, refused, or down")
def gateway_check(store_id: StoreId, request: Request, gateways: GatewaysDep) -> dict:
    """`ok` with the `credit` (Rial; null for the console), or `ok: false` with the error
    classified (`kind`: retry = unreachable or failing for now, store = the account refuses).
    The gateway is asked with no database transaction open; the API key is never shown."""
    state = request.app.state
    with state.sessionmaker() as session:
        store = get_store(session, store_id)
    return health.gateway_check(gateways, store)
