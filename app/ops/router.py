"""Operator endpoints: readiness and Prometheus metrics. A store's gateway check is
app/messaging/router.py's.

Included before the short-link router: /readyz and /metrics are single path segments that a
7-character short code (`metrics`) would otherwise claim.
"""

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.errors import Forbidden, Unauthorized
from app.ops import health, metrics

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


def _check_metrics_token(request: Request) -> None:
    """METRICS_TOKEN set: scrapes send it. Unset: open in embedded mode (one machine, local
    development), closed in production (REDIS_URL set), where the queue's lag and the stores'
    volumes are nobody else's business."""
    settings = request.app.state.settings
    token = settings.metrics_token
    if token is None or not token.get_secret_value():
        if settings.embedded:
            return
        raise Forbidden("metrics are off: set METRICS_TOKEN and scrape with "
                        "'Authorization: Bearer <token>'", code="metrics_disabled")
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token.get_secret_value()}".encode()):
        raise Unauthorized("send the metrics token as 'Authorization: Bearer <token>'",
                           code="invalid_metrics_token")


@router.get("/metrics", summary="Prometheus metrics (text exposition format)",
            response_class=Response)
def prometheus_metrics(request: Request) -> Response:
    state = request.app.state
    now = state.clock.now()
    _check_metrics_token(request)

    def lag() -> float | None:
        with state.sessionmaker() as session:
            # The campaign engine's query (app.campaigns.service.oldest_due), handed over by
            # create_app: ops is imported by the engine and so never imports it.
            due = state.oldest_due(session, now)
        return (now - due).total_seconds() if due else None

    return Response(metrics.exposition(metrics.QueueLag(lag)),
                    media_type=metrics.CONTENT_TYPE)
