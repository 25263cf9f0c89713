"""A real Celery worker (prefork, its own process) stopped while a send batch waits at the
gateway: nothing is sent twice and nothing waits for the 10-minute reaper."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest
import redis
from sqlalchemy import select

from app.campaigns.dispatch import claim_due
from app.campaigns.enroll import run_triggers
from app.campaigns.models import Message
from app.db import unit_of_work
from tests.campaigns.shop import tehran
from tests.ops.conftest import use_kavenegar, wait_until
from workers.celery_app import make_celery

AT = tehran("2026-11-24T10:00")
DUE = tehran("2026-11-24T11:00")


@pytest.fixture
def queue(redis_url):
    """A queue of this test's own: other runs sharing the Redis database never see its tasks."""
    name = f"bazgasht-test-{uuid.uuid4().hex[:8]}"
    yield name
    redis.Redis.from_url(redis_url).delete(name)


class Worker:
    """`celery worker` as production runs it (prefork), on this test's queue."""

    def __init__(self, database_url, redis_url, queue, kavenegar, **env):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.celery_app:celery_app", "worker",
             "--pool=prefork", "--concurrency=1", "-Q", queue, "-n", f"{queue}@%h",
             "--loglevel=info", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=os.environ | {"DATABASE_URL": database_url, "REDIS_URL": redis_url,
                              "KAVENEGAR_BASE_URL": kavenegar.base_url} | env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output = ""

    def stop(self, sig, timeout=90) -> int:
        self.process.send_signal(sig)
        try:
            self.output, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.output, _ = self.process.communicate()
            raise AssertionError(f"the worker did not stop:\n{self.output}")
        return self.process.returncode


def claimed_batches(shop, carts: int, size: int) -> list[list[int]]:
    """`carts` abandoned carts enrolled and claimed, as a tick does, in batches of `size`."""
    for i in range(carts):
        shop.cart(f"stop-cart-{i:04d}", AT, phone=f"0912222{i:04d}")
    use_kavenegar(shop.factory, shop.store.id)
    with unit_of_work(shop.factory) as session:
        run_triggers(session, DUE)
    ids = claim_due(shop.factory, DUE)
    assert len(ids) == carts
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def hand_over(database_url, redis_url, queue, batches):
    celery = make_celery(redis_url=redis_url, database_url=database_url)
    for batch in batches:
        celery.send_task("bazgasht.campaigns.send_batch", args=[batch, DUE.isoformat()],
                         queue=queue)


def rows(factory) -> dict[int, tuple[str, str | None]]:
    with factory() as session:
        return {m.id: (m.status, m.reason) for m in session.scalars(select(Message))}


def test_a_warm_stop_finishes_the_batch_in_flight_and_leaves_the_next_to_another_worker(
        shop, kavenegar, database_url, redis_url, queue):
    first, second = claimed_batches(shop, 4, 2)
    kavenegar.delay("sms/sendarray", 3.0)  # the answer comes 3 s after the gateway took it
    worker = Worker(database_url, redis_url, queue, kavenegar)
    hand_over(database_url, redis_url, queue, [first, second])
    wait_until(lambda: kavenegar.calls("sendarray"), what="the first batch at the gateway")
    assert worker.stop(signal.SIGTERM) == 0, worker.output
    assert "Warm shutdown" in worker.output
    state = rows(shop.factory)
    assert {state[i] for i in first} == {("sent", None)}  # finished, after the signal
    # The next batch was never started: its claim stays, its task went back to the queue.
    assert {state[i][0] for i in second} == {"sending"}
    assert redis.Redis.from_url(redis_url).llen(queue) == 1

    kavenegar.delay("sms/sendarray", 0)
    successor = Worker(database_url, redis_url, queue, kavenegar)
    try:
        wait_until(lambda: all(rows(shop.factory)[i][0] == "sent" for i in second),
                   what="the next worker to send the returned batch")
    finally:
        successor.stop(signal.SIGTERM)
    assert Counter(m.localid for m in kavenegar.messages) == Counter({i: 1 for i in first + second})


def test_a_cold_stop_resolves_the_cancelled_batch_at_once(shop, kavenegar, database_url,
                                                         redis_url, queue):
    [batch] = claimed_batches(shop, 3, 3)
    kavenegar.delay("sms/sendarray", 60.0)  # taken by the gateway; the answer never comes in time
    worker = Worker(database_url, redis_url, queue, kavenegar, WORKER_SOFT_SHUTDOWN_SECONDS="0")
    hand_over(database_url, redis_url, queue, [batch])
    wait_until(lambda: kavenegar.calls("sendarray"), what="the batch at the gateway")
    started = time.monotonic()
    worker.stop(signal.SIGQUIT)
    assert time.monotonic() - started < 45, "the worker waited for the held answer"
    assert "resolved at once" in worker.output, worker.output
    # Asked by localid, the gateway says it took them: sent, not left "sending" for the reaper,
    # and not sent again.
    state = rows(shop.factory)
    assert {state[i] for i in batch} == {("sent", "confirmed by the gateway after a stall")}
    assert Counter(m.localid for m in kavenegar.messages) == Counter({i: 1 for i in batch})
