"""Rate limits: fixed windows counted in Redis when the installation has one (every process
shares the counts), in this process otherwise (embedded mode).

Hand-written rather than the `limits` package: its windows follow the machine's clock, ours
follow the app's (app/clock.py), so tests travel through a window instead of waiting it out.
Redis failing never stops the service: a limit that cannot be counted lets the request through.
"""

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.errors import DomainError, error_body

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    seconds: int

    def window(self, now: datetime) -> tuple[int, int]:
        """(this window's number, seconds until the next one, at least 1)."""
        at = now.timestamp()
        number = int(at // self.seconds)
        return number, max(1, math.ceil((number + 1) * self.seconds - at))


# Panel sign-in codes asked for (each one an SMS to a member): per phone, and per address.
LOGIN_CODES_PER_PHONE = Rule("login-phone", 5, 60 * 60)
LOGIN_CODES_PER_IP = Rule("login-ip", 20, 60 * 60)
MERCHANT_API = Rule("api", 600, 60)            # per store (its API key)
WEBHOOKS = Rule("webhooks", 6000, 60)          # per store: WooCommerce sends in bursts
LINK_REDIRECTS = Rule("links", 120, 60)        # per address
SURVEY_ANSWERS = Rule("survey", 20, 60 * 60)   # per address
CLICK_ONCE = Rule("click", 1, 60 * 60)         # per link and client: a click counts once
REPLY_PUSHES = Rule("reply-pushes", 600, 60)   # per store: Kavenegar pushing its line's replies


class RateLimited(DomainError, status=429, code="rate_limited"):
    def __init__(self, rule: Rule, retry_after: int):
        super().__init__(f"too many requests ({rule.limit} per {rule.seconds} s): try again in "
                         f"{retry_after} s")
        self.retry_after = retry_after


class Limiter:
    def __init__(self, redis_url: str | None = None, *, enabled: bool = True):
        self.enabled = enabled
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.5,
                                               socket_connect_timeout=0.5)
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._window_of: dict[str, int] = {}

    @property
    def remote(self) -> bool:
        """Counts in Redis: each count is a network round trip (up to its 0.5 s timeout)."""
        return self._redis is not None

    def _key(self, rule: Rule, subject: str, number: int) -> str:
        return f"bazgasht:rl:{rule.name}:{subject}:{number}"

    def _count(self, key: str, rule: Rule, number: int, add: int) -> int:
        if self._redis is not None:
            try:
                if not add:
                    return int(self._redis.get(key) or 0)
                pipe = self._redis.pipeline()
                pipe.incrby(key, add)
                pipe.expire(key, rule.seconds * 2)
                return int(pipe.execute()[0])
            except Exception:
                log.warning("rate limit %s not counted: Redis did not answer", rule.name,
                            exc_info=True)
                return 0
        with self._lock:
            if self._window_of.get(rule.name) != number:  # a new window: the old ones go
                self._window_of[rule.name] = number
                prefix = f"bazgasht:rl:{rule.name}:"
                for old in [k for k in self._counts if k.startswith(prefix)
                            and not k.endswith(f":{number}")]:
                    del self._counts[old]
            self._counts[key] = value = self._counts.get(key, 0) + add
            return value

    def hit(self, rule: Rule, subject: str, *, now: datetime) -> int | None:
        """Count one request; the seconds to wait if it is over the limit (None: go ahead)."""
        if not self.enabled:
            return None
        number, retry_after = rule.window(now)
        count = self._count(self._key(rule, subject, number), rule, number, 1)
        return retry_after if count > rule.limit else None

    def exhausted(self, rule: Rule, subject: str, *, now: datetime) -> int | None:
        """The seconds to wait if the limit is reached already (counts nothing)."""
        if not self.enabled:
            return None
        number, retry_after = rule.window(now)
        count = self._count(self._key(rule, subject, number), rule, number, 0)
        return retry_after if count >= rule.limit else None

    def check(self, rule: Rule, subject: str, *, now: datetime) -> None:
        """Count one request, or raise RateLimited."""
        retry_after = self.hit(rule, subject, now=now)
        if retry_after is not None:
            raise RateLimited(rule, retry_after)

    def reset(self) -> None:
        """Forget every count of this process (tests: each starts with none)."""
        with self._lock:
            self._counts.clear()
            self._window_of.clear()


def client_ip(request: Request) -> str:
    """The caller's address (behind a proxy: uvicorn's --forwarded-allow-ips sets it)."""
    return request.client.host if request.client else "unknown"


def limit(request: Request, rule: Rule, subject: str) -> None:
    """Count this request against the app's limiter, or raise RateLimited (429)."""
    state = request.app.state
    state.limiter.check(rule, subject, now=state.clock.now())


async def off_the_loop(limiter: Limiter, count: Callable[..., T], *args, **kwargs) -> T:
    """`count(*args, **kwargs)` for an async endpoint: in a worker thread when the limiter
    counts in Redis (a slow Redis must not stall every request of the process), in place when
    it counts in this process (a thread hop would cost more than the count)."""
    if limiter.remote:
        return await run_in_threadpool(count, *args, **kwargs)
    return count(*args, **kwargs)


def install(app: FastAPI) -> None:
    settings = app.state.settings
    app.state.limiter = Limiter(settings.redis_url, enabled=settings.rate_limits)

    @app.exception_handler(RateLimited)
    async def _limited(_: Request, exc: RateLimited):
        return JSONResponse(error_body(exc.code, exc.message), status_code=429,
                            headers={"Retry-After": str(exc.retry_after)})
