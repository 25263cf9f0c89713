"""Sending exactly once: several dispatchers, a worker killed mid-batch, a real Celery worker."""

import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta

from celery.contrib.testing.worker import start_worker
from sqlalchemy import func, select

from app.campaigns.dispatch import STUCK_AFTER, reap, send_batch
from app.campaigns.enroll import run_triggers
from app.campaigns.lifecycle import claim_due
from app.campaigns.models import Message
from app.db import unit_of_work
from app.messaging.gateway import ConsoleGateway
from app.messaging.models import ConsoleSms
from tests.campaigns.shop import tehran

CARTS = 40
ABANDONED = tehran("2026-11-24T10:00")
DUE = tehran("2026-11-24T11:00")


def abandon_carts(shop, n=CARTS) -> list[int]:
    """n shoppers abandon a cart; returns the ids of their first (now due) messages."""
    for i in range(n):
        shop.cart(f"cart-{i:08d}", ABANDONED, phone=f"0912{i:07d}")
    with unit_of_work(shop.factory) as session:
        assert run_triggers(session, DUE) == n
    with shop.factory() as session:
        return list(session.scalars(select(Message.id).where(Message.due_at <= DUE)
                                    .order_by(Message.id)))


def sends_per_message(factory) -> Counter:
    with factory() as session:
        return Counter(int(i) for i in session.scalars(select(ConsoleSms.localid)))


def statuses(factory, ids) -> Counter:
    with factory() as session:
        return Counter(session.scalars(select(Message.status).where(Message.id.in_(ids))))


def test_several_dispatchers_on_the_same_due_set_send_each_message_once(shop):
    due = abandon_carts(shop)
    gateway = ConsoleGateway(shop.factory)
    claimed_by: dict[int, list[int]] = {}
    start = threading.Barrier(4)
    errors = []

    def dispatcher(n: int):
        try:
            start.wait()
            mine = claimed_by.setdefault(n, [])
            while ids := claim_due(shop.factory, DUE, limit=3):
                mine.extend(ids)
                send_batch(shop.factory, gateway, ids, DUE)
        except Exception as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=dispatcher, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    all_claims = [i for ids in claimed_by.values() for i in ids]
    assert sorted(all_claims) == due  # every due message claimed, and by one dispatcher only
    assert sends_per_message(shop.factory) == Counter({i: 1 for i in due})
    assert statuses(shop.factory, due) == Counter({"sent": CARTS})


KILLER = textwrap.dedent("""
    import os, signal, sys
    from datetime import datetime
    from app.campaigns.dispatch import send_batch
    from app.campaigns.lifecycle import claim_due
    from app.db import make_engine, make_sessionmaker
    from app.messaging.gateway import ConsoleGateway

    class DiesMidBatch(ConsoleGateway):
        # Sends one by one, as Kavenegar does, and dies after the gateway took the third.
        calls = 0
        def send_many(self, items):
            return [self.send(localid=l, receptor=r, text=t) for l, r, t in items]
        def send(self, **kw):
            result = super().send(**kw)
            DiesMidBatch.calls += 1
            if DiesMidBatch.calls == 3:  # the gateway took it; we die before recording it
                os.kill(os.getpid(), signal.SIGKILL)
            return result

    factory = make_sessionmaker(make_engine(sys.argv[1]))
    now = datetime.fromisoformat(sys.argv[2])
    ids = claim_due(factory, now, limit=10)
    print(len(ids), flush=True)
    send_batch(factory, DiesMidBatch(factory), ids, now)
""")


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(shop, database_url):
    due = abandon_carts(shop, 12)
    worker = subprocess.run([sys.executable, "-c", KILLER, database_url, DUE.isoformat()],
                            capture_output=True, text=True, timeout=120)
    assert worker.returncode == -9, worker.stderr  # killed, not finished
    assert worker.stdout.strip() == "10"
    # The batch is recorded as sent after its sends: killed mid-way, all ten stay "sending"
    # (two went out, the third reached the gateway but not our database, seven never left).
    assert statuses(shop.factory, due) == Counter({"sending": 10, "scheduled": 2})

    gateway = ConsoleGateway(shop.factory)
    assert reap(shop.factory, gateway, DUE + STUCK_AFTER / 2) == 0  # not stuck yet: in flight
    later = DUE + STUCK_AFTER + timedelta(minutes=1)
    assert reap(shop.factory, gateway, later) == 10
    # The one the gateway accepted is recognised as sent; the rest go out again, once.
    assert statuses(shop.factory, due) == Counter({"sent": 3, "scheduled": 9})
    shop.tick(later)  # sends the rest, then collects delivery reports
    assert statuses(shop.factory, due) == Counter({"delivered": 12})
    assert sends_per_message(shop.factory) == Counter({i: 1 for i in due})


HANGS = textwrap.dedent("""
    import sys
    from datetime import datetime
    from app.campaigns.lifecycle import claim_due
    from app.campaigns.service import send_due
    from app.db import make_engine, make_sessionmaker
    from app.messaging.gateway import ConsoleGateway
    from app.ops.liveness import Liveness

    class Hangs(ConsoleGateway):
        # The call to the gateway never ends (until the process is killed).
        def send_many(self, items):
            print("sending", flush=True)
            sys.stdin.read()

    engine = make_engine(sys.argv[1])
    factory = make_sessionmaker(engine)
    now = datetime.fromisoformat(sys.argv[2])
    token = Liveness(engine).token()
    claim_due(factory, now, limit=2, worker=token)  # claimed, never guarded: the sender hangs
    send_due(factory, Hangs(factory), now, worker=token)  # before it gets back to them
""")


def test_the_claims_of_a_process_killed_whole_are_freed_at_the_next_round(shop, database_url):
    """A sending process's liveness (PostgreSQL: its advisory lock; SQLite: its process on
    this machine) frees its claims without a timeout once it is gone, and leaves them alone
    while it lives. Its claims count from the claim, before any guard ran: two of them were
    claimed and never reached."""
    due = abandon_carts(shop, 12)
    worker = subprocess.Popen([sys.executable, "-c", HANGS, database_url, DUE.isoformat()],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == "sending"  # approved, at the gateway
        with shop.factory() as session:
            tokens = set(session.scalars(select(Message.claimed_by).where(
                Message.status == "sending")))
        gateway = ConsoleGateway(shop.factory)
        soon = DUE + timedelta(seconds=30)
        assert reap(shop.factory, gateway, soon) == 0  # alive: in flight, left alone
        worker.kill()
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=60)
    assert len(tokens) == 1 and None not in tokens
    assert reap(shop.factory, gateway, soon) == 12  # gone: freed at once
    # The gateway never got them: they go out again, each once.
    assert statuses(shop.factory, due) == Counter({"scheduled": 12})
    shop.tick(DUE + STUCK_AFTER + timedelta(minutes=2))
    assert statuses(shop.factory, due) == Counter({"delivered": 12})
    assert sends_per_message(shop.factory) == Counter({i: 1 for i in due})


def test_real_celery_workers_send_what_the_tick_wakes_them_for(shop, database_url, redis_url):
    """Production's dispatch: the tick wakes the senders, each a task in a worker that claims
    batches under its process's token and sends them; busy slots end at once."""
    from app.scheduler import tick
    from workers.celery_app import make_celery

    due = abandon_carts(shop, 10)
    celery = make_celery(redis_url=redis_url, database_url=database_url)
    # A queue of its own: a worker from another test (or another test run sharing this Redis
    # database) cannot take this test's tasks, nor this test empty theirs.
    celery.conf.task_default_queue = f"campaigns-test-{uuid.uuid4().hex[:12]}"

    def wake():  # two slots, each woken twice: a sender whose slot is busy ends at once
        for slot in (0, 1, 0, 1):
            celery.send_task("bazgasht.campaigns.send_due", (slot, DUE.isoformat()))
        return 4

    def gone_out():  # the tick's delivery poll may already have marked some delivered
        seen = statuses(shop.factory, due)
        return seen["sent"] + seen["delivered"]

    gateway = ConsoleGateway(shop.factory)
    with start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        report = tick(shop.factory, gateway, DUE, wake=wake)
        assert report.senders_woken == 4 and report.claimed == 0  # the tick itself sends nothing
        deadline = time.monotonic() + 60  # a bound, not a wait: the worker starts at once
        while time.monotonic() < deadline and gone_out() < 10:
            time.sleep(0.05)
    assert gone_out() == 10
    assert sends_per_message(shop.factory) == Counter({i: 1 for i in due})
    with shop.factory() as session:
        assert session.scalar(select(func.count()).select_from(ConsoleSms)) == 10
        tokens = set(session.scalars(select(Message.claimed_by).where(Message.id.in_(due))))
    assert len(tokens) == 1 and None not in tokens  # the worker process's liveness token


def test_a_batch_delivered_twice_sends_once(shop):
    """Redis may hand the same send_batch task to a worker twice."""
    due = abandon_carts(shop, 5)
    gateway = ConsoleGateway(shop.factory)
    ids = claim_due(shop.factory, DUE)
    send_batch(shop.factory, gateway, ids, DUE)
    send_batch(shop.factory, gateway, ids, DUE)
    assert sends_per_message(shop.factory) == Counter({i: 1 for i in due})


def test_an_old_claim_cannot_send_a_message_claimed_again(shop):
    due = abandon_carts(shop, 3)
    gateway = ConsoleGateway(shop.factory)
    first_claim = claim_due(shop.factory, DUE)
    later = DUE + STUCK_AFTER + timedelta(minutes=1)
    assert reap(shop.factory, gateway, later) == 3  # the first worker looked dead
    second_claim = claim_due(shop.factory, later)
    assert sorted(second_claim) == sorted(first_claim) == due
    assert send_batch(shop.factory, gateway, first_claim, DUE) == {"sending": 3}  # stale: no-op
    send_batch(shop.factory, gateway, second_claim, later)
    assert sends_per_message(shop.factory) == Counter({i: 1 for i in due})


def test_a_sender_drains_batch_after_batch_and_hands_over_when_its_budget_is_spent(shop):
    from app.campaigns.service import send_due

    due = abandon_carts(shop, 5)
    gateway = ConsoleGateway(shop.factory)
    claimed, outcome, more = send_due(shop.factory, gateway, DUE, batch=2, budget=0.0,
                                      worker="host:1:spent")
    assert (claimed, outcome, more) == (2, {"sent": 2}, True)  # one batch, then hands over
    reads = []

    def clock():  # read before each batch: what fell due meanwhile is claimed too
        reads.append(DUE)
        return DUE

    claimed, outcome, more = send_due(shop.factory, gateway, clock, batch=2)
    assert (claimed, outcome, more) == (3, {"sent": 3}, False)
    assert len(reads) == 3  # two batches, then one claim that found nothing
    assert statuses(shop.factory, due) == Counter({"sent": 5})
    assert sends_per_message(shop.factory) == Counter({i: 1 for i in due})
