"""Drain: a backlog of due messages through the production processes, from a cold start.

    .venv/bin/python bench/drain.py                # 20,000 due messages, about 3 minutes
    .venv/bin/python bench/drain.py --from-carts   # the same, not enrolled yet
    .venv/bin/python bench/drain.py --faults       # the same with faults (kill -9, errors, 418)

On the private PostgreSQL cluster and Redis server of bench/survive_stack.py (never the
machine's shared ones): one store on the fake Kavenegar (its own process, real HTTP), sending
all day, and N abandoned carts with N different phones whose first reminder is due now: a
backlog of N due messages, as the end of quiet hours or of a gateway outage leaves. With
`--from-carts` nothing is enrolled yet, and enrolment runs in the same workers while they send.
Then, at once, two Celery workers (`bazgasht worker`, a pool child per core) and beat
(`bazgasht beat`, production's TICK_SECONDS): the clock starts when they do.

Figures: the sustained rate from the gateway's first taken message to its last, and the time
from the processes' start to the last. Exactly once is checked at the gateway per localid (the
fake counts a localid offered again even though it dedupes it) and per (receptor, text), and
in the database (every message sent, nothing left scheduled, sending or held).

The fault run (`--faults`, the same 20,000), while the backlog drains: a worker killed with -9
every 8 s (alternately one pool child and the whole worker, started again a second later); from
the start to the end, 30% of gateway calls fail before any work and 10% lose their answer after
the work (half dropped connections, half answers held past the client's timeout); from 20 s to
80 s no credit (418 on every send: the store is paused), then credit again. No timer is
fast-forwarded: the figure is the time until every message is resolved, by the system alone.

Exit 1 if a check fails or the target is missed (≥ 1,000 msgs/s; the fault run under 3 min).
Results also go to bench/results/drain.json (or drain-faults.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import _TCK, RESULTS, proc_stat, time_limit
from survive_stack import Stack, children

API_KEY = "drain-key-0000"
LINE = "10004346"
RATE_TARGET = 1000.0  # msgs/s, first send to last
FAULT_TARGET = 180.0  # seconds, start to every message resolved


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def _token(i: int) -> str:
    return f"drain-cart-{i:08d}"


def _phone(i: int) -> str:
    return f"0912{1_000_000 + i:07d}"


def setup(url: str, n: int, *, enrolled: bool) -> int:
    """Migrate; one store on the fake Kavenegar, sending all day; `n` abandoned carts (through
    the same code a cart webhook runs) whose first reminder falls due now, and, if `enrolled`,
    their enrollments and messages already scheduled. Returns the store."""
    from app.commerce.models import Cart
    from app.commerce.schemas import CartPayload
    from app.commerce.service import apply_cart
    from app.contacts.models import Contact
    from app.db import make_engine, make_sessionmaker, unit_of_work
    from app.migrate import upgrade
    from app.onboarding import open_store
    from app.stores.schemas import StoreCreate

    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        with unit_of_work(factory) as session:
            store, _ = open_store(session, StoreCreate(name="چای‌خانه", url="https://shop.example"))
            store.sms_provider, store.sms_api_key, store.sms_sender = "kavenegar", API_KEY, LINE
            store.send_from_minute, store.send_until_minute = 0, 24 * 60
            store_id = store.id
        # The cart campaign waits 60 minutes of quiet, its first step 1 hour after the cart.
        # The first cart goes through the code a cart webhook runs; the others are its copies
        # with their own token, phone and contact, inserted in bulk.
        modified = datetime.now(UTC) - timedelta(minutes=61)
        started = time.monotonic()
        with unit_of_work(factory) as session:
            apply_cart(session, store_id=store_id, body_sha256="0" * 64, now=modified,
                       data=CartPayload(
                           token=_token(0), phone=_phone(0), first_name="مریم", currency="IRT",
                           total="550000",
                           items=[{"product_id": 11, "name": "چای سبز", "quantity": 2,
                                   "price": "275000", "total": "550000"}],
                           restore_url=f"https://shop.example/?bazgasht-restore={_token(0)}",
                           cart_url="https://shop.example/cart/", date_modified_gmt=modified))
            cart = session.scalars(sa.select(Cart)).one()
            contact = session.get_one(Contact, cart.contact_id)
            first_contact = {c.key: getattr(contact, c.key) for c in sa.inspect(Contact).columns
                             if c.key != "id"}
            first_cart = {c.key: getattr(cart, c.key) for c in sa.inspect(Cart).columns
                          if c.key != "id"}
            phone0 = contact.phone
            for start in range(1, n, 5000):
                rows = range(start, min(n, start + 5000))
                ids = session.scalars(
                    sa.insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
                    [first_contact | {"phone": phone0[:-7] + f"{1_000_000 + i:07d}"}
                     for i in rows]).all()
                session.execute(sa.insert(Cart), [
                    first_cart | {"token": _token(i), "contact_id": contact_id,
                                  "phone_raw": _phone(i),
                                  "restore_url":
                                      f"https://shop.example/?bazgasht-restore={_token(i)}"}
                    for i, contact_id in zip(rows, ids, strict=True)])
        log(f"{n} carts in {time.monotonic() - started:.1f} s")
        # What autovacuum does within a minute of such an insert, and what a store's database
        # has anyway: statistics (the triggers' queries are planned from them). Only of the
        # tables just filled: statistics of an empty enrollments table would have each new
        # message's foreign key checked by a scan of them all (bench/README.md, enroll.py).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE contacts, carts"))
        if enrolled:
            from app.campaigns.enroll import enroll_due

            started = time.monotonic()
            while enroll_due(factory, datetime.now(UTC)):
                pass
            log(f"enrolled in {time.monotonic() - started:.1f} s")
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))
        return store_id
    finally:
        engine.dispose()


class Faults:
    """The fault schedule of --faults, in a thread of its own; every event logged."""

    def __init__(self, stack: Stack, seed: int):
        self.stack = stack
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.kills: Counter = Counter()
        self.events: list[dict] = []

    def note(self, what: str) -> None:
        self.events.append({"t": time.time(), "what": what})
        log(what)

    def run(self, t0: float, *, kill_every: float) -> None:
        # The first send comes a few seconds after the processes start: the faults are on by
        # then, and the minute of 418 comes while most of the backlog still waits.
        plan = [(0.0, lambda: self._chaos(True)), (20.0, lambda: self._credit(0)),
                (80.0, lambda: self._credit(10**12))]
        next_kill = t0 + kill_every
        n = 0
        while not self.stop.is_set():
            now = time.monotonic()
            while plan and t0 + plan[0][0] <= now:
                plan.pop(0)[1]()
            if now >= next_kill:
                n += 1
                next_kill += kill_every
                self._kill(whole=n % 2 == 0)
            self._restart_exited()
            wake = min([next_kill, time.monotonic() + 1.0] + [t0 + p[0] for p in plan])
            self.stop.wait(max(0.0, wake - time.monotonic()))

    def _restart_exited(self) -> None:
        """A worker that exited on its own is started again, as the compose file's `restart:
        unless-stopped` does (Celery ends the whole worker when a pool child is killed before
        it reported its start)."""
        for worker in [w for w in self.stack.workers if w.poll() is not None]:
            self.stack.workers.remove(worker)
            self.kills["exited on its own"] += 1
            self.note(f"a worker exited on its own (code {worker.returncode}): started again")
            self.stack.start_worker()

    def _kill(self, *, whole: bool) -> None:
        alive = [w for w in self.stack.workers if w.poll() is None]
        if not alive:
            return
        victim = self.rng.choice(alive)
        kids = children(victim.pid)
        if not whole and kids:
            os.kill(self.rng.choice(kids), signal.SIGKILL)
            self.kills["pool child"] += 1
            self.note("kill -9 a pool child")
            return
        self.stack.kill_worker(victim)
        self.kills["whole worker"] += 1
        self.note("kill -9 a whole worker")
        time.sleep(1.0)
        self.stack.start_worker()

    def _chaos(self, on: bool) -> None:
        assert self.stack.fake is not None
        mix = {"fail": 0.30, "drop": 0.05, "timeout": 0.05} if on else {}
        self.stack.fake.control("chaos", rate=sum(mix.values()), mix=mix, timeout=20.0, seed=7)
        self.note("gateway: 30% of calls fail, 10% lose their answer" if on else
                  "gateway: chaos off")

    def _credit(self, value: int) -> None:
        assert self.stack.fake is not None
        self.stack.fake.control("credit", value=value)
        self.note("gateway: no credit (418 on every send)" if not value else
                  "gateway: credit again")


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its children alive and those it reaped."""
    try:
        _, _, own, reaped = proc_stat(pid)
    except (OSError, ValueError):
        return 0.0
    return (own + reaped) / _TCK + sum(tree_cpu(c) for c in children(pid))


def cpu(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of each kind of process of the stack."""
    postmaster = int((stack.pg.dir / "postmaster.pid").read_text().split()[0])
    return {"workers": sum(tree_cpu(w.pid) for w in stack.workers),
            "beat": tree_cpu(stack.beat.pid) if stack.beat else 0.0,
            "fake Kavenegar": tree_cpu(stack.fake.proc.pid) if stack.fake else 0.0,
            "postgres": tree_cpu(postmaster)}


def statuses(engine) -> Counter:
    with engine.connect() as conn:
        return Counter(dict(conn.execute(sa.text(
            "SELECT status, count(*) FROM messages GROUP BY status")).all()))


def resolved(engine, now: datetime) -> bool:
    """Nothing left to do: nothing sending or held, nothing scheduled that is due."""
    with engine.connect() as conn:
        return not conn.execute(sa.text(
            "SELECT count(*) FROM messages WHERE status IN ('sending', 'held') "
            "OR (status = 'scheduled' AND due_at <= :now)"), {"now": now}).scalar_one()


def check(engine, fake_messages: list[dict], n: int) -> dict[str, dict]:
    """The invariants, each {ok, detail}."""
    per_localid = Counter(m["localid"] for m in fake_messages)
    per_text = Counter((m["receptor"], m["message"]) for m in fake_messages)
    offered_again = sum(m["resubmitted"] for m in fake_messages)
    with engine.connect() as conn:
        went_out = dict(conn.execute(sa.text(
            "SELECT id, status FROM messages WHERE status IN ('sent', 'delivered')")).all())
        due_first = conn.execute(sa.text(
            "SELECT count(*) FROM messages m JOIN campaign_steps s ON s.id = m.step_id "
            "WHERE s.position = 1")).scalar_one()
        not_sent = dict(conn.execute(sa.text(
            "SELECT coalesce(reason, status), count(*) FROM messages m "
            "JOIN campaign_steps s ON s.id = m.step_id "
            "WHERE s.position = 1 AND status NOT IN ('sent', 'delivered') "
            "GROUP BY 1")).all())
    twice = {k: v for k, v in per_localid.items() if v > 1}
    return {
        "every cart enrolled once": {"ok": due_first == n, "detail": f"{due_first} of {n}"},
        "each localid taken once": {"ok": not twice and None not in per_localid,
                                    "detail": f"{len(per_localid)} localids, {len(twice)} twice"},
        "each (receptor, text) once": {"ok": max(per_text.values(), default=1) == 1,
                                       "detail": f"{len(per_text)} distinct"},
        "gateway = database": {"ok": set(per_localid) == set(went_out),
                               "detail": f"gateway {len(per_localid)}, database {len(went_out)}"},
        "nothing lost": {"ok": len(went_out) == n and not not_sent,
                         "detail": f"{len(went_out)} sent of {n}; not sent: {not_sent or 0}"},
        "localids offered again (deduped by the fake)": {"ok": True,
                                                         "detail": str(offered_again)},
    }


def run(args) -> int:
    stack = Stack(tick_seconds=args.tick_seconds)
    engine = None
    faults = None
    try:
        stack.open()
        fake = stack.start_fake(API_KEY)
        fake.control("credit", value=10**12)
        setup(stack.db_url, args.messages, enrolled=args.enrolled)
        engine = sa.create_engine(stack.db_url, pool_pre_ping=True)
        log(f"stack in {stack.base}: postgres :{stack.pg.port}, redis :{stack.redis.port}, "
            f"fake :{fake.port}; cold start of {args.workers} workers and beat")
        t0 = time.monotonic()
        started_at = time.time()
        for _ in range(args.workers):
            stack.start_worker()
        stack.start_beat()
        cpu_before = cpu(stack)
        if args.faults:
            faults = Faults(stack, args.seed)
            threading.Thread(target=faults.run, args=(t0,),
                             kwargs={"kill_every": args.kill_every}, daemon=True).start()
        done_at = None
        last = -1
        window: list[tuple[int, dict[str, float]]] = []  # (taken, CPU) from the first send on
        while time.monotonic() - t0 < args.timeout:
            time.sleep(1.0)
            taken = fake.state()["messages"]
            if taken and taken != last:
                window.append((taken, cpu(stack)))
            if taken != last:
                last = taken
                log(f"gateway has {taken}; {dict(statuses(engine))}")
            if taken >= args.messages and resolved(engine, datetime.now(UTC)):
                done_at = time.monotonic()
                break
        if faults:
            faults.stop.set()
        cpu_after = cpu(stack)
        elapsed = (done_at or time.monotonic()) - t0
        messages = fake.messages()
        accepted = sorted(m["accepted_at"] for m in messages)
        inv = check(engine, messages, args.messages)
        span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
        rate = (len(accepted) - 1) / span if span else 0.0
        figures = {
            "messages": args.messages, "workers": args.workers, "enrolled before": args.enrolled,
            "tick_seconds": args.tick_seconds,
            "taken by the gateway": len(messages),
            "first send after start (s)": round(accepted[0] - started_at, 2) if accepted else None,
            "first to last send (s)": round(span, 2),
            "sustained msgs/s (first send to last)": round(rate, 1),
            "start to all resolved (s)": round(elapsed, 1) if done_at else None,
            "CPU ms per message (start to end)": {
                k: round(1000 * (cpu_after[k] - cpu_before[k]) / max(len(messages), 1), 2)
                for k in cpu_after},
            # From the first poll that saw a message sent to the last that saw one more: the
            # drain itself, without the processes' start.
            "CPU ms per message (while sending)": {
                k: round(1000 * (window[-1][1][k] - window[0][1][k])
                         / max(window[-1][0] - window[0][0], 1), 2)
                for k in cpu_after} if len(window) > 1 and not args.faults else None,
            "machine load average": os.getloadavg(),
            "statuses": dict(statuses(engine)),
            "gateway": fake.state(),
        }
        if faults:
            figures["kills"] = dict(faults.kills)
            figures["events"] = [{"t": round(e["t"] - started_at, 1), "what": e["what"]}
                                 for e in faults.events]
        target_ok = (done_at is not None and elapsed < FAULT_TARGET) if args.faults \
            else rate >= RATE_TARGET
        inv["target"] = {"ok": target_ok,
                         "detail": (f"all resolved in {elapsed:.1f} s (< {FAULT_TARGET:.0f} s)"
                                    if args.faults else
                                    f"{rate:.0f} msgs/s (≥ {RATE_TARGET:.0f})")}
        print("\n" + "=" * 90)
        for name, r in inv.items():
            print(f"[{'PASS' if r['ok'] else 'FAIL'}] {name}: {r['detail']}")
        for k, v in figures.items():
            print(f"  {k}: {json.dumps(v, ensure_ascii=False)}")
        print("=" * 90)
        RESULTS.mkdir(exist_ok=True)
        out = RESULTS / ("drain-faults.json" if args.faults else "drain.json")
        out.write_text(json.dumps({"invariants": inv, "figures": figures}, indent=1,
                                  ensure_ascii=False))
        return 0 if all(r["ok"] for r in inv.values()) else 1
    finally:
        if faults:
            faults.stop.set()
        if engine is not None:
            engine.dispose()
        stack.close(keep=args.keep)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=None,
                        help="backlog size (default 20,000)")
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--from-carts", dest="enrolled", action="store_false",
                        help="carts not enrolled yet: enrolment runs while the workers send")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tick-seconds", type=float, default=15.0,
                        help="TICK_SECONDS of the processes (production's default: 15)")
    parser.add_argument("--kill-every", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--keep", action="store_true", help="keep the stack's directory (logs)")
    args = parser.parse_args()
    if args.messages is None:
        args.messages = 20000
    time_limit(int(args.timeout) + 600)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
