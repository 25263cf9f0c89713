"""Prometheus metrics (prometheus-client): what bazgasht counts, and how a scrape reads it.

Instruments are module-level and cheap: a counter increment is a dict lookup and an add (an
mmap write in multiprocess mode), never a query. Label values are bounded here, never taken
raw from a request (a webhook's topic header is mapped onto the topics we know).

Multiprocess mode: with PROMETHEUS_MULTIPROC_DIR set *before the process starts* (uvicorn
--workers, Celery's prefork children), every process writes its values to files in that
directory and a scrape adds them up (prometheus_client's MultiProcessCollector). The directory
must be empty when the deployment starts (docker-compose mounts a tmpfs), one per host or
container.
"""

import os
import time
from collections.abc import Callable, Iterable
from functools import wraps

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

WEBHOOK_DELIVERIES = Counter(
    "bazgasht_webhook_deliveries", "Webhook deliveries answered, by topic and result "
    "(accepted, ping, or the error code of a refusal)", ["topic", "result"])
WEBHOOK_PROCESSED = Counter(
    "bazgasht_webhook_processed", "Stored webhook deliveries applied, by topic and outcome "
    "(applied, duplicate, stale, ignored, dead_letter)", ["topic", "outcome"])
MESSAGES = Counter(
    "bazgasht_messages", "Messages leaving a send attempt, by the status they ended in and its "
    "reason code", ["status", "reason"])
GATEWAY_CALLS = Counter(
    "bazgasht_gateway_calls", "SMS gateway API calls, by provider, method and answer code "
    "(the gateway's status, or no_answer)", ["provider", "method", "code"])
GATEWAY_SECONDS = Histogram(
    "bazgasht_gateway_call_seconds", "SMS gateway API call latency", ["provider", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
REDIRECT_SECONDS = Histogram(
    "bazgasht_redirect_seconds", "Short-link redirect latency inside the app",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5))
CLICKS = Counter("bazgasht_clicks", "Short-link hits written, humans and bots apart", ["kind"])
TICKS = Counter("bazgasht_ticks", "Scheduler job rounds, by job and result (ran, skipped: "
                "another round of the job held its lock, failed)", ["job", "result"])
TICK_SECONDS = Histogram(
    "bazgasht_tick_seconds", "Duration of the scheduler job rounds that ran", ["job"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))

_TOPICS = frozenset(
    f"{resource}.{event}"
    for resource in ("order", "product", "customer", "coupon")
    for event in ("created", "updated", "deleted", "restored")
) | {"bazgasht_cart.created", "bazgasht_cart.updated", "action.woocommerce_add_to_cart"}


def topic_label(topic: str | None) -> str:
    """A topic header as a label: the known topics as they are, anything else "other"."""
    if not topic:
        return "none"
    return topic if topic in _TOPICS else "other"


def count_message(status: str, reason: str | None, n: int = 1) -> None:
    """`n` messages ended a send attempt in `status` for `reason` (a code of
    app/campaigns/reasons.py, a bounded set: it is the label as it is)."""
    if n:
        MESSAGES.labels(status, reason or "none").inc(n)


def count_clicks(hits: Iterable) -> None:
    """After a batch of hits was written (the click writer's thread, off the redirect)."""
    bots = humans = 0
    for hit in hits:
        if hit.bot:
            bots += 1
        else:
            humans += 1
    if humans:
        CLICKS.labels("human").inc(humans)
    if bots:
        CLICKS.labels("bot").inc(bots)


def gateway_call(provider: str, method: str, code: int | str | None, seconds: float) -> None:
    GATEWAY_CALLS.labels(provider, method, "no_answer" if code is None else str(code)).inc()
    GATEWAY_SECONDS.labels(provider, method).observe(seconds)


def timed(histogram: Histogram) -> Callable:
    """Decorate an async endpoint: its duration goes to `histogram` (one clock read each way)."""
    def decorate(fn):
        @wraps(fn)
        async def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                histogram.observe(time.perf_counter() - started)
        return wrapper
    return decorate


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _Process:
    """This process's own instruments, for a scrape registry built per request."""

    def collect(self):
        yield from REGISTRY.collect()


class QueueLag:
    """Read at scrape time, not kept: how late the oldest due message is (0 when none is due).

    One query per scrape on the partial index of scheduled messages, never per request.
    `lag` returns how many seconds the oldest scheduled message is overdue, or None.
    """

    def __init__(self, lag: Callable[[], float | None]):
        self._lag = lag

    def collect(self):
        lag = GaugeMetricFamily("bazgasht_queue_lag_seconds",
                                "Age of the oldest scheduled message that is due (0: none)")
        up = GaugeMetricFamily("bazgasht_queue_lag_up",
                               "1 if the queue lag could be read at this scrape")
        try:
            seconds = self._lag()
        except Exception:  # a scrape must answer even with the database down
            up.add_metric([], 0)
            yield up
            return
        lag.add_metric([], max(0.0, seconds) if seconds is not None else 0.0)
        up.add_metric([], 1)
        yield lag
        yield up


def exposition(*extra) -> bytes:
    """The text a scrape gets: every process's instruments (added up across the processes of
    the multiprocess directory when there is one) and the `extra` collectors."""
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path:
        MultiProcessCollector(registry, path)
    else:
        registry.register(_Process())
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry)


def start_http_server(port: int, addr: str = "0.0.0.0") -> None:
    """A separate /metrics listener for processes that serve no HTTP (Celery workers): their
    prefork children write to the multiprocess directory, this reads all of it."""
    from prometheus_client import start_http_server as serve

    path = multiprocess_dir()
    if path:
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry, path)
        serve(port, addr=addr, registry=registry)
    else:
        serve(port, addr=addr)
