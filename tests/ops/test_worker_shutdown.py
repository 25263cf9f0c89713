"""A real Celery worker (prefork, its own process) stopped while its sender's batch waits at
the gateway: nothing is sent twice and nothing waits for the reaper.

Nothing here is timed: the gateway holds its answer until the test has seen what it waits for
(the worker saying it stops), and every wait is for an event, with a deadline only as a guard.
(The one bound left is the worker's own: its gateway client gives up on a held answer after
15 s, far more than the few event-driven steps a hold spans.)
"""

import base64
import json
import os
import signal
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from app.campaigns.enroll import run_triggers
from app.campaigns.models import Message
from app.db import unit_of_work
from app.messaging.fake_kavenegar import FakeKavenegar
from tests.campaigns.shop import tehran
from tests.ops.conftest import KEY, end_group, exit_status, spawn, use_kavenegar, wait_until
from workers.celery_app import make_celery

AT = tehran("2026-11-24T10:00")
DUE = tehran("2026-11-24T11:00")
SENDARRAY = "sms/sendarray"
# Guards only: how long something already under way may take on a loaded machine.
DEADLINE = 120.0


class HeldKavenegar(FakeKavenegar):
    """The fake Kavenegar; `hold(method)` keeps a call's answer (its work done, the messages
    taken) until the test releases it, or the fake stops."""

    def took(self, ids) -> bool:
        """All these messages were taken (sent, as far as the gateway goes), answered or not."""
        return set(ids) <= {m.localid for m in self.messages}


@pytest.fixture
def kavenegar():
    with HeldKavenegar(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def queue(redis_url):
    """A queue of this test's own (in the Redis database of this xdist worker): nothing else
    sees its tasks. Its keys go with it."""
    name = f"bazgasht-test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")
        for tag, entry in client.hscan_iter("unacked"):  # left by a worker killed mid-task
            if name in json.loads(entry)[1:]:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    finally:
        client.close()


@pytest.fixture
def broker(database_url, redis_url):
    """This test's side of Celery: it hands tasks over and asks workers what they run."""
    celery = make_celery(redis_url=redis_url, database_url=database_url)
    yield celery
    celery.close()


class Worker:
    """`celery worker` as production runs it (prefork), on this test's queue; its output in a
    file the test reads as it goes."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str], queue: str):
        self.name = name
        self.node = f"{name}-{queue}@test"
        self.log_path = workdir / f"{name}.log"
        self.process = spawn(
            [sys.executable, "-m", "celery", "-A", "workers.celery_app:celery_app", "worker",
             "--pool=prefork", "--concurrency=1", "-Q", queue, "-n", self.node,
             "--loglevel=info", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            what=f"celery worker {name!r}", log=self.log_path, env=env, cwd=workdir)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return exit_status(self.process) is None

    def wait_for(self, condition, what: str):
        """Wait until `condition()`; failing at once, with the log, if the worker died."""
        def seen():
            if value := condition():
                return value
            if not self.running():
                raise AssertionError(f"worker {self.name} exited (status "
                                     f"{exit_status(self.process)}) before {what}:\n{self.log()}")
            return None
        try:
            return wait_until(seen, timeout=DEADLINE, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nworker {self.name}'s log:\n{self.log()}") from None

    def runs(self, broker, task_id: str) -> bool:
        """Its main process has the task as started in its pool child (a stop cancels only
        those: one it has not yet heard the child accept, it leaves to run to its end)."""
        replies = broker.control.inspect(destination=[self.node], timeout=2.0).active() or {}
        return any(r["id"] == task_id and r["time_start"] for r in replies.get(self.node, []))

    def signal(self, sig: signal.Signals) -> None:
        """To its main process only, as `docker stop` does to a container's first process."""
        os.kill(self.process.pid, sig)

    def exited(self) -> int:
        """Its exit status, once it has exited by itself."""
        try:
            wait_until(lambda: not self.running(), timeout=DEADLINE,
                       what=f"worker {self.name} to stop")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nworker {self.name}'s log:\n{self.log()}") from None
        return exit_status(self.process)


@pytest.fixture
def workers(tmp_path, database_url, redis_url, queue, kavenegar):
    """Starts workers on this test's queue, database and fake gateway; every one of them, with
    its pool's processes, is ended with the test, however the test ends."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("METRICS_PORT", "PROMETHEUS_MULTIPROC_DIR")}  # no shared port or dir
    env |= {"DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "KAVENEGAR_BASE_URL": kavenegar.base_url, "PYTHONUNBUFFERED": "1"}
    started: list[Worker] = []

    def start(name: str, **extra_env: str) -> Worker:
        worker = Worker(name, tmp_path, env | extra_env, queue)
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        left = {w.name: (w.log(), end_group(w.process)) for w in started}
        assert not any(alive for _, alive in left.values()), \
            f"worker processes survived SIGKILL: {left}"


def due_carts(shop, carts: int) -> list[int]:
    """`carts` abandoned carts enrolled; the ids of their first reminders, due now."""
    for i in range(carts):
        shop.cart(f"stop-cart-{i:04d}", AT, phone=f"0912222{i:04d}")
    use_kavenegar(shop.factory, shop.store.id)
    with unit_of_work(shop.factory) as session:
        run_triggers(session, DUE)
    with shop.factory() as session:
        ids = list(session.scalars(select(Message.id).where(Message.due_at <= DUE)))
    assert len(ids) == carts
    return ids


def wake(broker, queue, slots) -> list[str]:
    """Sender tasks on the queue, as the dispatch job wakes them; their task ids."""
    return [broker.send_task("bazgasht.campaigns.send_due", args=[slot, DUE.isoformat()],
                             queue=queue).id
            for slot in slots]


def rows(factory) -> dict[int, tuple[str, str | None]]:
    with factory() as session:
        return {m.id: (m.status, m.reason) for m in session.scalars(select(Message))}


def test_a_warm_stop_finishes_the_batch_in_flight_and_leaves_the_next_sender_queued(
        shop, kavenegar, workers, broker, redis_url, queue):
    batch = due_carts(shop, 4)
    kavenegar.hold(SENDARRAY)  # the gateway takes the batch; its answer waits for us
    worker = workers("first")
    task, _ = wake(broker, queue, [0, 1])
    worker.wait_for(lambda: worker.runs(broker, task), "the sender to start")
    worker.wait_for(lambda: kavenegar.took(batch), "the gateway to take the batch")
    worker.signal(signal.SIGTERM)
    # Only once the worker is stopping does the gateway answer: the batch finishes after the
    # signal, however slow the machine.
    worker.wait_for(lambda: "Warm shutdown" in worker.log(), "the worker to begin stopping")
    kavenegar.release(SENDARRAY)
    assert worker.exited() == 0, worker.log()
    assert {rows(shop.factory)[i] for i in batch} == {("sent", None)}  # after the signal
    # The next sender was never started: it is still in the queue, for the next worker.
    with redis.Redis.from_url(redis_url) as client:
        assert client.llen(queue) == 1

    successor = workers("successor")
    successor.wait_for(lambda: not redis.Redis.from_url(redis_url).llen(queue),
                       "the next worker to take the queued sender")
    successor.signal(signal.SIGTERM)
    assert successor.exited() == 0, successor.log()
    assert Counter(m.localid for m in kavenegar.messages) == Counter({i: 1 for i in batch})


def test_a_cold_stop_resolves_the_cancelled_senders_claims_at_once(shop, kavenegar, workers,
                                                                    broker, queue, redis_url):
    batch = due_carts(shop, 3)
    kavenegar.hold(SENDARRAY)  # taken by the gateway; the answer never comes while it runs
    worker = workers("cold", WORKER_SOFT_SHUTDOWN_SECONDS="0")
    [task] = wake(broker, queue, [0])
    # Celery cancels only a task its main process knows started: stopped before it has heard
    # the child accept it, it waits for the sender to end.
    worker.wait_for(lambda: worker.runs(broker, task), "the sender to start")
    worker.wait_for(lambda: kavenegar.took(batch), "the gateway to take the batch")
    worker.signal(signal.SIGQUIT)
    # It stops with the answer still held: it did not wait for it (waiting, its child would have
    # given up after the client's read timeout and settled the batch itself, "after a lost
    # answer"; the main process resolves it at once, "after a stall").
    worker.exited()
    assert "resolved at once" in worker.log(), worker.log()
    # Asked by localid, the gateway says it took them: sent, not left "sending" for the reaper,
    # and not sent again.
    state = rows(shop.factory)
    assert {state[i] for i in batch} == {("sent", "confirmed_after_stall")}
    assert Counter(m.localid for m in kavenegar.messages) == Counter({i: 1 for i in batch})
    # Its slot goes on, on the same queue, for the next worker, not at the next tick: the
    # cancelled task is back in the queue, and the main process woke the slot again (what a
    # child killed with -9 gets: its task is not requeued).
    with redis.Redis.from_url(redis_url) as client:
        tasks = [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
    assert [(t["headers"]["task"], json.loads(base64.b64decode(t["body"]))[0]) for t in tasks] \
        == [("bazgasht.campaigns.send_due", [0, DUE.isoformat()])] * 2
