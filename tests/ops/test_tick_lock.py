"""Two rounds of a job at once (two beats, a slow round and the next, the CLI): the work is done
once. Each job has its own lock (app/scheduler.py), so here only dispatch, the job a send holds
up, is skipped by the second round."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from app.campaigns.models import Message
from app.messaging.gateway import Gateways
from app.ops.locks import try_exclusive
from tests.campaigns.shop import tehran
from tests.ops.conftest import use_kavenegar, wait_until

AT = tehran("2026-11-24T10:00")
DUE = tehran("2026-11-24T11:00")  # the carts' first reminders are due
SENDARRAY = "sms/sendarray"


@pytest.fixture
def busy_shop(shop, kavenegar):
    """Three abandoned carts; the store sends through the fake Kavenegar, which holds its answer
    to a send (after taking it) until the test has let a second tick come by."""
    for i in range(3):
        shop.cart(f"lock-cart-{i:04d}", AT, phone=f"0912000{i:04d}")
    use_kavenegar(shop.factory, shop.store.id)
    shop.gateway = Gateways(shop.factory, kavenegar_base_url=kavenegar.base_url,
                            read_timeout=20)
    kavenegar.hold(SENDARRAY)
    return shop


def first_tick_in_flight(shop, kavenegar) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run():
        try:
            result["report"] = shop.tick(DUE)
        except Exception as exc:  # surfaced by the test
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    wait_until(lambda: kavenegar.calls("sendarray"), what="the first tick's send")
    return thread, result


def sends_per_localid(kavenegar) -> Counter:
    return Counter(m.localid for m in kavenegar.messages)


def test_a_second_tick_while_one_sends_skips_dispatch_and_each_message_goes_once(busy_shop,
                                                                                  kavenegar):
    thread, first = first_tick_in_flight(busy_shop, kavenegar)
    second = busy_shop.tick(DUE)  # a second beat's tick, while the first waits at the gateway
    kavenegar.release(SENDARRAY)
    thread.join(60)
    assert not thread.is_alive()
    assert "error" not in first
    assert second.skipped == ["dispatch"] and (second.enrolled, second.claimed) == (0, 0)
    assert not first["report"].skipped and first["report"].claimed == 3
    with busy_shop.factory() as session:
        ids = session.scalars(select(Message.id).where(Message.status == "sent")).all()
    assert len(ids) == 3
    assert sends_per_localid(kavenegar) == Counter({i: 1 for i in ids})
    # Once the first is done, the next tick runs again.
    assert not busy_shop.tick(DUE).skipped


def test_a_tick_in_another_process_keeps_this_one_out(busy_shop, kavenegar, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("across processes the lock is PostgreSQL's (SQLite: one process)")
    other = subprocess.Popen(
        [sys.executable, "-m", "app", "tick", "--now", DUE.isoformat()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=os.environ | {"DATABASE_URL": database_url, "KAVENEGAR_BASE_URL": kavenegar.base_url})
    try:
        wait_until(lambda: kavenegar.calls("sendarray") or other.poll() is not None,
                   what="the other process's tick at the gateway")
        mine = busy_shop.tick(DUE)  # while the other process's batch waits for its answer
    finally:
        kavenegar.release(SENDARRAY)
        try:
            out, err = other.communicate(timeout=120)
        finally:
            other.kill()
    assert other.returncode == 0, err
    assert mine.skipped == ["dispatch"] and mine.claimed == 0
    report = json.loads(out)
    assert report["skipped"] == [] and report["claimed"] == 3
    assert len(kavenegar.messages) == 3


HOLDER = textwrap.dedent("""
    import sys, time
    from app.db import make_engine
    from app.ops.locks import try_exclusive
    with try_exclusive(make_engine(sys.argv[1]), "dispatch") as mine:
        print("held" if mine else "refused", flush=True)
        time.sleep(600)
""")


def test_a_killed_ticker_releases_the_lock_at_once(shop, database_url):
    """No expiry to wait out: a worker killed with -9 mid-dispatch loses its connection, and
    with it the lock (a Redis lock would block dispatch until its TTL ran out)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the advisory lock is PostgreSQL's")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, database_url],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert shop.tick(DUE).skipped == ["dispatch"]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    wait_until(lambda: not shop.tick(DUE).skipped, timeout=10, what="the lock to be released")


def test_the_lock_is_given_back_when_the_tick_fails(engine):
    with pytest.raises(RuntimeError):
        with try_exclusive(engine, "tick") as mine:
            assert mine
            raise RuntimeError("a tick that failed half way")
    with try_exclusive(engine, "tick") as mine:
        assert mine


def test_a_token_is_gone_when_its_process_is(database_url, tmp_path):
    """The liveness of a sending process (app/ops/liveness.py): held while it runs, gone when it
    exited, on both databases. A token nobody holds: gone on PostgreSQL (its locks are every
    machine's); on SQLite, a token of another machine is never taken for gone."""
    import subprocess
    import sys

    from app.db import make_engine
    from app.ops import liveness

    engine = make_engine(database_url)
    script = ("import sys\nfrom app.db import make_engine\nfrom app.ops.liveness import Liveness\n"
              "print(Liveness(make_engine(sys.argv[1])).token(), flush=True)\nsys.stdin.read()\n")
    child = subprocess.Popen([sys.executable, "-c", script, database_url], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        token = child.stdout.readline().strip()
        other_host = "elsewhere-host:1:abcdef12"
        nobodys = {other_host} if engine.dialect.name == "postgresql" else set()
        assert token.startswith(liveness.prefix(child.pid))
        assert liveness.gone(engine, {token, other_host}) == nobodys  # it runs
    finally:
        child.kill()
        child.wait(timeout=60)
    assert liveness.gone(engine, {token, other_host}) == {token} | nobodys
    this_process = liveness.Liveness(engine)
    assert liveness.gone(engine, {this_process.token()}) == set()
    engine.dispose()
