"""Readiness of what the API needs (database, Redis). A store's SMS gateway is checked by
app/messaging/gateway_check.py.

Liveness (/healthz) says the process answers; readiness (/readyz) says it can do its work now.
Each dependency is checked on its own, with its latency, so an operator sees which one is down.
"""

import asyncio
import logging
import time
from dataclasses import dataclass

from sqlalchemy import Engine, text

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
