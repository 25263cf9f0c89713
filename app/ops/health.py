"""Readiness of what the API needs (database, Redis) and reachability of a store's SMS gateway.

Liveness (/healthz) says the process answers; readiness (/readyz) says it can do its work now.
Each dependency is checked on its own, with its latency, so an operator sees which one is down.
"""

import asyncio
import logging
import time
from dataclasses import dataclass

from sqlalchemy import Engine, text

from app.messaging.gateway import ConsoleGateway, GatewayError
from app.messaging.kavenegar import redact as redact_kavenegar_key

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 3.0  # seconds: a dependency slower than this is not ready


@dataclass
class Check:
    status: str  # "ok", "down", "not_configured"
    required: bool
    latency_ms: float | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if v is not None}


async def _timed(fn, *, required: bool, what: str) -> Check:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.to_thread(fn), CHECK_TIMEOUT)
    except Exception as exc:
        # The detail (hosts, ports) is for the log; the public answer names only the kind.
        log.warning("readiness: %s is down: %s", what, exc)
        kind = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
        return Check("down", required, round((time.perf_counter() - started) * 1000, 2), kind)
    return Check("ok", required, round((time.perf_counter() - started) * 1000, 2))


async def readiness(engine: Engine, redis_client) -> tuple[bool, dict]:
    """(ready, answer): every required dependency answered in time."""
    def database() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    checks = {"database": _timed(database, required=True, what="the database")}
    if redis_client is not None:
        checks["redis"] = _timed(redis_client.ping, required=True, what="Redis")
    results = dict(zip(checks, await asyncio.gather(*checks.values()), strict=True))
    if redis_client is None:
        results["redis"] = Check("not_configured", required=False)
    ready = all(c.status == "ok" for c in results.values() if c.required)
    return ready, {"status": "ready" if ready else "not_ready",
                   "checks": {name: c.as_dict() for name, c in results.items()}}


def redis_client(url: str):
    import redis

    # Short timeouts: a readiness probe must answer quickly, down or not.
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def gateway_check(gateways, store) -> dict:
    """Ask the store's gateway for its credit: whether it answers, and how. Never the key."""
    provider = store.sms_provider
    gateway = gateways.for_store(store)
    started = time.perf_counter()
    answer = {"store_id": store.id, "provider": provider,
              "gateway": "console" if isinstance(gateway, ConsoleGateway) else "kavenegar"}
    try:
        credit = gateway.credit()
    except GatewayError as exc:
        secret = store.sms_api_key if provider == "kavenegar" else None
        return answer | {
            "ok": False, "latency_ms": _ms(started),
            "error": {"kind": str(exc.kind), "code": exc.code,
                      "meaning": _MEANING[str(exc.kind)],
                      "message": redact_kavenegar_key(str(exc), secret)}}
    return answer | {"ok": True, "latency_ms": _ms(started), "credit": credit}


_MEANING = {
    "retry": "unreachable or failing for now (network, timeout, 5xx): sends are retried",
    "store": "the account refuses (key, credit, line, IP): the store's sending is paused until "
             "it answers again",
    "recipient": "refused for a recipient",
    "invalid": "an unexpected answer: a bug on our side or a change at the gateway",
}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
