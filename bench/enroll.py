"""Enrolment of a backlog of abandoned carts on PostgreSQL: how fast `enroll_due` takes it in.

    .venv/bin/python bench/enroll.py               # from the repository root; about 3 minutes
    .venv/bin/python bench/enroll.py --carts 5000  # a smaller backlog
    .venv/bin/python bench/enroll.py --no-baseline # without the one-by-one code it replaced: 30 s

Creates a throwaway PostgreSQL database (BENCH_POSTGRES_URL, default the local server;
`bazgasht_bench_enroll_<pid>`, dropped at the end whatever happens), migrates it, opens one
store with its default campaigns (the cart campaign's three steps) and bulk-inserts N contacts
(default 20,000) with an abandoned cart each, quiet for 2 to 13 hours: every cart is due. Before
them, as in an installation in use, 20,000 finished cart sequences of a month ago (60,000
delivered messages; `--history 0`: none, the sequence tables never analyzed, as in a new
installation). VACUUM ANALYZE.

Then, from cold (a new engine, nothing enrolled), `enroll_due` (the scheduler's enrolment job)
is timed until every cart is enrolled: enrolled/s, the calls it took (one, unless its time
budget ran out), its rounds, the statements it ran, and the CPU of this process and of its
PostgreSQL backends (from /proc: the cost whatever else the machine runs). The baseline: the
bulk run's enrollments deleted (their messages with them; VACUUM ANALYZE), the same backlog through the code it replaced (enroll.py at
BASELINE_COMMIT, one subject at a time: a SAVEPOINT, an INSERT and a flush for each enrollment
and for its messages), one round of 500 per transaction as many times as it takes; that code
needed a scheduler tick (15 s) per round.

Target (issue 19): more than 5,000 carts enrolled per second. Prints a table, writes
bench/results/enroll.json, exits 1 if the target is missed.
"""

import argparse
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event, insert  # noqa: E402

from app.campaigns import enroll  # noqa: E402
from app.commerce.models import Cart  # noqa: E402
from app.contacts.models import Contact  # noqa: E402
from app.db import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
from app.onboarding import open_store  # noqa: E402
from app.stores.schemas import StoreCreate  # noqa: E402
from bench.harness import (  # noqa: E402
    RESULTS,
    migrated_database,
    proc_stat,
    run_queue_wait,
    time_limit,
)

TARGET_RATE = 5_000.0  # carts enrolled per second
CARTS = 20_000
HISTORY = 20_000  # finished sequences already there
# The last commit with the one-subject-at-a-time enroll(): the baseline's code.
BASELINE_COMMIT = "1801a11"
TICK_SECONDS = 15


def load(engine, store_id: int, now: datetime, n: int, history: int) -> float:
    """n contacts with a cart each, quiet for 2 h plus 2 s per cart; before them, `history`
    finished cart sequences (a month old, three delivered messages each) for the statistics of
    an installation in use. Returns the seconds."""
    started = time.monotonic()
    with unit_of_work(make_sessionmaker(engine)) as session:
        contacts = session.scalars(insert(Contact).returning(Contact.id), [
            dict(store_id=store_id, phone=f"+98912{i:07d}", first_name="علی")
            for i in range(n)]).all()
        session.execute(insert(Cart), [
            dict(store_id=store_id, token=f"bench-cart-{i:08d}", contact_id=contact_id,
                 first_name="علی", phone_raw=f"0912{i:07d}", currency="IRT", total=550_000,
                 items=[{"product_id": 11, "name": "چای سبز", "quantity": 2}],
                 modified_gmt=now - timedelta(hours=2, seconds=2 * i))
            for i, contact_id in enumerate(contacts)])
    with engine.begin() as conn:
        p = {"s": store_id, "n": history, "contacts": n, "old": now - timedelta(days=30)}
        conn.execute(sa.text("""
            INSERT INTO enrollments (store_id, campaign_id, subject_type, subject_id, contact_id,
                                     anchor_at, status, exited_at, exit_reason, created_at,
                                     control)
            SELECT :s, c.id, 'cart', 10000000 + k, 1 + k % :contacts,
                   CAST(:old AS timestamptz) - make_interval(secs => k), 'exited',
                   CAST(:old AS timestamptz), 'finished', CAST(:old AS timestamptz), false
            FROM generate_series(1, CAST(:n AS bigint)) k,
                 campaigns c WHERE c.store_id = :s AND c.kind = 'abandoned_cart'"""), p)
        conn.execute(sa.text("""
            INSERT INTO messages (store_id, campaign_id, enrollment_id, step_id, contact_id,
                                  promotional, due_at, latest_at, status, attempts, sent_at,
                                  delivered_at, created_at, updated_at)
            SELECT e.store_id, e.campaign_id, e.id, st.id, e.contact_id, true,
                   e.anchor_at + make_interval(mins => st.delay_minutes),
                   e.anchor_at + make_interval(mins => st.delay_minutes + st.send_within_minutes),
                   'delivered', 1, e.anchor_at + make_interval(mins => st.delay_minutes),
                   e.anchor_at + make_interval(mins => st.delay_minutes + 1),
                   e.created_at, e.created_at
            FROM enrollments e JOIN campaign_steps st ON st.campaign_id = e.campaign_id"""))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # Without history the sequence tables stay never analyzed, as migrations leave them.
        # (Analyzed while empty, PostgreSQL plans every foreign key check of a message against
        # its enrollment as a scan of all of them until autovacuum analyzes again: 300/s.)
        conn.execute(sa.text("VACUUM ANALYZE" if history else
                             "VACUUM ANALYZE contacts, carts, campaigns, campaign_steps"))
    return time.monotonic() - started


def counted(engine) -> dict[str, int]:
    """Statements run on `engine` from now on, by their first word (and table, for INSERTs)."""
    counts: dict[str, int] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        key = " ".join(words[:3]) if words[0] == "INSERT" else words[0]
        counts[key] = counts.get(key, 0) + 1

    return counts


class Cpu:
    """CPU seconds of this process and of the PostgreSQL backends of `engine` (their pids read
    as they connect), and this process's time waiting for a CPU: the cost without the machine's
    other load, which a shared machine's wall clock includes."""

    def __init__(self, engine):
        self.backends: set[int] = set()

        @event.listens_for(engine, "connect")
        def _backend(dbapi_conn, _record):
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                self.backends.add(cur.fetchone()[0])
            dbapi_conn.rollback()

    def backends_seconds(self) -> float:
        ticks = 0
        for pid in self.backends:
            try:
                ticks += proc_stat(pid)[2]
            except OSError:  # a backend that exited: its time is lost (the pool keeps them)
                continue
        return ticks / os.sysconf("SC_CLK_TCK")

    def start(self) -> None:
        self.t0 = (time.process_time(), self.backends_seconds(), run_queue_wait(os.getpid()))

    def stop(self) -> dict:
        client, backends, wait = self.t0
        return {"client_cpu_s": round(time.process_time() - client, 2),
                "postgres_cpu_s": round(self.backends_seconds() - backends, 2),
                "client_waiting_for_cpu_s": round(run_queue_wait(os.getpid()) - wait, 2)}


def run_new(url: str, now: datetime, n: int) -> dict:
    """enroll_due from cold (a new engine) until the backlog is in."""
    engine = make_engine(url)
    try:
        factory = make_sessionmaker(engine)
        statements = counted(engine)
        rounds: list[int] = []
        enrolled, calls, seconds, used = _until_enrolled(
            engine, n, lambda: enroll.enroll_due(factory, now, on_round=rounds.append))
    finally:
        engine.dispose()
    return {"enrolled": enrolled, "seconds": round(seconds, 2),
            "per_second": round(enrolled / seconds), "calls": calls, "rounds": len(rounds),
            **used, "statements": dict(sorted(statements.items()))}


def _until_enrolled(engine, n: int, step) -> tuple[int, int, float, dict]:
    """Call `step` (it returns how many it enrolled) until `n` are in or one enrolls nothing;
    (enrolled, calls, seconds, CPU used)."""
    cpu = Cpu(engine)
    engine.connect().close()  # a backend to measure from the start
    calls = enrolled = 0
    cpu.start()
    started = time.monotonic()
    while enrolled < n:
        calls += 1
        got = step()
        enrolled += got
        if not got:
            break
    return enrolled, calls, time.monotonic() - started, cpu.stop()


def old_module():
    """enroll.py as it was at BASELINE_COMMIT, imported under another name; None without git."""
    try:
        source = subprocess.run(["git", "show", f"{BASELINE_COMMIT}:app/campaigns/enroll.py"],
                                cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"baseline skipped: {exc}", flush=True)
        return None
    path = Path(tempfile.mkdtemp()) / "enroll_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("enroll_before", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_old(url: str, now: datetime, n: int, module) -> dict:
    """The replaced code: a round (run_triggers) per transaction until the backlog is in."""
    with make_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # The bulk run's sequences (their messages go with them), not the history.
        conn.execute(sa.text("DELETE FROM enrollments WHERE status = 'active'"))
        conn.execute(sa.text("VACUUM ANALYZE"))
    engine = make_engine(url)
    try:
        factory = make_sessionmaker(engine)

        def one_round() -> int:
            with unit_of_work(factory) as session:
                return module.run_triggers(session, now)

        enrolled, rounds, seconds, used = _until_enrolled(engine, n, one_round)
    finally:
        engine.dispose()
    return {"enrolled": enrolled, "seconds": round(seconds, 2),
            "per_second": round(enrolled / seconds), "rounds": rounds, **used,
            "ticks_needed": rounds, "minutes_at_one_round_a_tick":
                round(rounds * TICK_SECONDS / 60, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="enrolment of a backlog of abandoned carts")
    ap.add_argument("--carts", type=int, default=CARTS)
    ap.add_argument("--history", type=int, default=HISTORY,
                    help="finished sequences already in the tables (0: empty tables, as a "
                         "new installation has)")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the one-subject-at-a-time code it replaced")
    args = ap.parse_args(argv)
    time_limit(900)
    RESULTS.mkdir(exist_ok=True)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    res: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                             "load_before": os.getloadavg()},
                 "carts": args.carts, "history": args.history, "started_at": now.isoformat()}
    with ExitStack() as cleanup:
        cleanup.callback(signal.alarm, 0)
        url, engine = migrated_database(cleanup, "enroll", res["machine"])
        with unit_of_work(make_sessionmaker(engine)) as session:
            store, _ = open_store(session, StoreCreate(name="فروشگاه بنچ",
                                                       url="https://shop.example"))
            store_id = store.id
        print(f"loading {args.carts} contacts and carts (PostgreSQL {res['machine']['postgres']}) ...",
              flush=True)
        res["load_seconds"] = round(load(engine, store_id, now, args.carts, args.history),
                                    1)
        engine.dispose()

        print("enroll_due, from cold ...", flush=True)
        res["bulk"] = run_new(url, now, args.carts)
        print(json.dumps(res["bulk"]), flush=True)
        module = None if args.no_baseline else old_module()
        if module is not None:
            print(f"baseline: enroll.py at {BASELINE_COMMIT}, one subject at a time ...",
                  flush=True)
            res["baseline"] = run_old(url, now, args.carts, module)
            print(json.dumps(res["baseline"]), flush=True)
    res["machine"]["load_after"] = os.getloadavg()
    (RESULTS / "enroll.json").write_text(json.dumps(res, indent=2, ensure_ascii=False))

    bulk = res["bulk"]
    print()
    print("| code | carts | seconds | enrolled/s | rounds | calls / ticks | CPU s: client, "
          "PostgreSQL (client waiting for a CPU) |")
    print("|---|---|---|---|---|---|---|")
    rows = [("bulk `enroll_due`", bulk, f"{bulk['calls']} call(s)")]
    if "baseline" in res:
        old = res["baseline"]
        rows.append((f"one by one ({BASELINE_COMMIT})", old,
                     f"{old['ticks_needed']} ticks ({old['minutes_at_one_round_a_tick']} min "
                     f"at {TICK_SECONDS} s)"))
    for name, run, calls in rows:
        print(f"| {name} | {run['enrolled']:,} | {run['seconds']} | {run['per_second']:,} | "
              f"{run['rounds']} | {calls} | {run['client_cpu_s']}, {run['postgres_cpu_s']} "
              f"({run['client_waiting_for_cpu_s']}) |")
    if "baseline" in res:
        print(f"\nbulk / one by one: {bulk['per_second'] / res['baseline']['per_second']:.1f}x")
    print(f"statements of the bulk run: {bulk['statements']}")
    met = bulk["enrolled"] == args.carts and bulk["per_second"] > TARGET_RATE
    print(f"target > {TARGET_RATE:,.0f} enrolled/s: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
