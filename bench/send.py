"""Render + send throughput through the fake Kavenegar over real HTTP, on PostgreSQL.

    .venv/bin/python bench/send.py [--n 2000]

Makes a throwaway database, a store sending through a FakeKavenegar on loopback, N abandoned
carts with distinct phones, then runs one tick that renders and sends all N first messages in
this process (batches of 100 messages, each one sms/sendarray call). Reports messages/s and how
the wall time splits between rendering (Jinja), the database (statements, commits, rollbacks and
pings at the DB-API, so waiting on PostgreSQL included), HTTP calls to the gateway (every
Kavenegar call: sends, the tick's reply and delivery polls) and the rest (Python: ORM, guards,
the engine). All of it runs on this thread, so the parts add up to the wall time. Baseline in the
same run: the same N through the console gateway (no HTTP).
"""

import argparse
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# A throwaway database, a throwaway key for the stores' credentials (app/crypto.py).
os.environ.setdefault("BAZGASHT_ENCRYPTION_KEY", Fernet.generate_key().decode())

from app.campaigns import content  # noqa: E402
from app.campaigns.enroll import run_triggers  # noqa: E402
from app.campaigns.models import Message  # noqa: E402
from app.commerce.schemas import CartPayload  # noqa: E402
from app.commerce.service import apply_cart  # noqa: E402
from app.db import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
from app.messaging import kavenegar  # noqa: E402
from app.messaging.fake_kavenegar import DEFAULT_LINE  # noqa: E402
from app.messaging.gateway import ConsoleGateway, Gateways  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.onboarding import open_store  # noqa: E402
from app.scheduler import tick  # noqa: E402
from app.stores.models import Store  # noqa: E402
from app.stores.schemas import StoreCreate  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET = 1000.0


class Timer:
    """Wraps a function and sums the wall time spent inside it (thread-safe enough for sums)."""

    def __init__(self, owner, name):
        self.owner, self.name, self.total, self.calls = owner, name, 0.0, 0
        self.original = getattr(owner, name)
        self.own = name in vars(owner)  # else it comes from the class: shadowed, then unshadowed

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.total += time.perf_counter() - start
                self.calls += 1

        setattr(owner, name, timed)

    def restore(self):
        if self.own:
            setattr(self.owner, self.name, self.original)
        else:
            delattr(self.owner, self.name)


# The DB-API calls SQLAlchemy's dialect makes: every round trip to the database goes through one.
DB_CALLS = ("do_execute", "do_executemany", "do_execute_no_params", "do_commit", "do_rollback",
            "do_ping")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the fake Kavenegar did not start")


def load(factory, n: int, abandoned: datetime) -> None:
    with unit_of_work(factory) as session:
        store, _ = open_store(session, StoreCreate(name="فروشگاه بنچ", url="https://shop.example"))
        for i in range(n):
            apply_cart(session, store_id=store.id, body_sha256=uuid.uuid4().hex,
                       data=CartPayload(token=f"bench-{i:010d}", phone=f"0912{i:07d}",
                                        first_name="علی", currency="IRT", total="550000",
                                        items=[{"product_id": 11, "name": "چای سبز",
                                                "quantity": 2, "total": "550000"}],
                                        date_modified_gmt=abandoned.replace(tzinfo=None)
                                        .isoformat()), now=abandoned)


def run(n: int, via_kavenegar: bool) -> dict:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"bazgasht_send_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = None
    try:
        upgrade(url)
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        now = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)  # 11:30 in Tehran
        load(factory, n, now - timedelta(hours=1))
        # Enroll everyone first (a tick enrolls up to 500 per campaign): only sending is timed.
        with unit_of_work(factory) as session:
            while run_triggers(session, now):
                pass
        # The fake runs in its own process, as Kavenegar would: not competing for our GIL.
        port = free_port()
        fake = subprocess.Popen([sys.executable, "-m", "app", "fake-kavenegar", "--port",
                                 str(port), "--api-key", "bench-key-000000"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port)
            if via_kavenegar:
                with unit_of_work(factory) as session:
                    session.execute(sa.update(Store).values(
                        sms_provider="kavenegar", sms_api_key="bench-key-000000",
                        sms_sender=DEFAULT_LINE))
                gateways = Gateways(factory, kavenegar_base_url=f"http://127.0.0.1:{port}")
            else:
                gateways = ConsoleGateway(factory)
            render_t = Timer(content, "render_context")
            http_t = Timer(kavenegar.KavenegarClient, "_call")
            db_ts = [Timer(engine.dialect, name) for name in DB_CALLS]
            start = time.perf_counter()
            report = tick(factory, gateways, now)
            wall = time.perf_counter() - start
            for t in (render_t, http_t, *db_ts):
                t.restore()
            sends = None
            if via_kavenegar:  # ask the gateway, by localid, what it took: each exactly once?
                with factory() as session:
                    ids = list(session.scalars(sa.select(Message.id).where(
                        Message.status.in_(["sent", "delivered"]))))
                client = kavenegar.KavenegarClient("bench-key-000000",
                                                   base_url=f"http://127.0.0.1:{port}")
                found = [e for start_ in range(0, len(ids), 500)
                         for e in client.status_by_localid(ids[start_:start_ + 500])]
                sends = Counter(e.localid for e in found if e.messageid)
        finally:
            fake.terminate()
            fake.wait(10)
        return {"gateway": "kavenegar (fake, HTTP)" if via_kavenegar else "console",
                "messages": report.claimed, "outcome": report.outcome, "seconds": wall,
                "msgs_per_s": report.claimed / wall, "render_s": render_t.total,
                "db_s": sum(t.total for t in db_ts), "db_calls": sum(t.calls for t in db_ts),
                "http_s": http_t.total, "http_calls": http_t.calls,
                "exactly_once": None if sends is None else
                (len(sends) == report.claimed and set(sends.values()) == {1})}
    finally:
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    rows = [run(args.n, via_kavenegar=False), run(args.n, via_kavenegar=True)]
    print(f"{'gateway':24} {'msgs':>5} {'s':>6} {'msgs/s':>7} {'render s':>9} "
          f"{'db s (calls)':>15} {'http s (calls)':>15} {'rest s':>7} once")
    for r in rows:
        rest = r["seconds"] - r["render_s"] - r["db_s"] - r["http_s"]
        print(f"{r['gateway']:24} {r['messages']:5d} {r['seconds']:6.2f} {r['msgs_per_s']:7.0f} "
              f"{r['render_s']:9.2f} {r['db_s']:7.2f} ({r['db_calls']:5d}) "
              f"{r['http_s']:6.2f} ({r['http_calls']:5d}) {rest:7.2f} {r['exactly_once']}")
    k = rows[1]
    share = {part: k[f"{part}_s"] / k["seconds"] for part in ("render", "db", "http")}
    print(f"\nkavenegar: rendering {share['render']:.1%}, database {share['db']:.0%}, HTTP "
          f"{share['http']:.0%}, the rest (Python) {1 - sum(share.values()):.0%} of wall time; "
          f"ratio to console {k['msgs_per_s'] / rows[0]['msgs_per_s']:.2f}")
    ok = k["msgs_per_s"] >= TARGET and k["exactly_once"]
    print(f"[{'PASS' if ok else 'FAIL'}] render + send through the fake Kavenegar >= {TARGET:.0f} "
          f"msgs/s: {k['msgs_per_s']:.0f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
