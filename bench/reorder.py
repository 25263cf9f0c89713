"""The reorder_due trigger's cost per scheduler tick, on PostgreSQL, for one store with 20,000
contacts and 100,000 orders.

    .venv/bin/python bench/reorder.py            # from the repository root; about a minute
    .venv/bin/python bench/reorder.py --reps 20

A throwaway database (bench/harness.py) gets one store: 20,000 contacts, 100,000 orders over a
year (85% paid, 1-3 items of 200 products), and one running replenishment automation (the
preset: 3 days before); its other campaigns paused, so the enrolment job is this trigger's
alone. VACUUM ANALYZE. Then `enroll_due` (the scheduler's enrolment job, in process):

- the first look: the trigger reads the purchases and enrolls every reminder due (in as many
  ticks as the job's time budget needs);
- **before** (the code until migration 0035, every tick a look): a tick 15 s later with the
  automation's last look forgotten (`trigger_looked_at` null), so it reads every paid order
  again and finds nothing new: what each 15 s tick cost;
- **after**: the same tick with the look kept: within the hour it reads nothing.

Baseline in the same run: the tick with the automation paused (the job's own floor). p50/p95
per tick, alternating, after a warm-up; the statements of each; and what a day of ticks costs
(5,760 ticks; after: 24 hourly looks and the first of the local day, the rest skipped).
Writes bench/results/reorder.json.
"""

import argparse
import json
import os
import random
import signal
import sys
import time
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event, update  # noqa: E402

from app.campaigns.enroll import enroll_due  # noqa: E402
from app.campaigns.models import REPLENISHMENT, Campaign  # noqa: E402
from app.campaigns.presets import PRESETS, add_preset  # noqa: E402
from app.commerce.models import Order, Product  # noqa: E402
from app.contacts.models import Contact  # noqa: E402
from app.db import make_sessionmaker, unit_of_work  # noqa: E402
from app.onboarding import open_store  # noqa: E402
from app.stores.schemas import StoreCreate  # noqa: E402
from bench.harness import RESULTS, migrated_database, time_limit  # noqa: E402
from bench.reports import summarize  # noqa: E402

CONTACTS, ORDERS, PRODUCTS = 20_000, 100_000, 200
TICKS_A_DAY = 24 * 3600 // 15
LOOKS_A_DAY = 25  # one an hour, and the first tick of the store-local day


def load(engine, store_id: int, now: datetime) -> dict:
    """Products, contacts and a year of orders (Core inserts of the models' tables)."""
    rng = random.Random(22)
    year = 365 * 24 * 3600
    with engine.begin() as conn:
        conn.execute(sa.insert(Product.__table__), [
            {"store_id": store_id, "wc_id": p, "name": f"کالا {p}"}
            for p in range(1, PRODUCTS + 1)])
        conn.execute(sa.insert(Contact.__table__), [
            {"store_id": store_id, "phone": f"+98912{c:07d}", "first_name": "مشتری"}
            for c in range(1, CONTACTS + 1)])
        ids = conn.execute(sa.text("SELECT id FROM contacts WHERE store_id = :s ORDER BY id"),
                           {"s": store_id}).scalars().all()
        rows = []
        for n in range(1, ORDERS + 1):
            at = now - timedelta(seconds=rng.randrange(year))
            paid = rng.random() < 0.85
            rows.append({"store_id": store_id, "wc_id": n, "number": str(n),
                         "status": "completed" if paid else "cancelled", "purchased": paid,
                         "currency": "IRT", "total": rng.randrange(100_000, 5_000_000, 10_000) * 10,
                         "contact_id": rng.choice(ids), "created_gmt": at,
                         "paid_gmt": at if paid else None,
                         # A few products most customers rebuy: predictions to make.
                         "items": [{"product_id": p, "variation_id": 0, "quantity": 1}
                                   for p in {min(int(rng.expovariate(0.05)) + 1, PRODUCTS)
                                             for _ in range(rng.randint(1, 3))}]})
        conn.execute(sa.insert(Order.__table__), rows)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("contacts", "orders", "products")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="the reorder_due trigger's cost per tick")
    ap.add_argument("--reps", type=int, default=10, help="ticks per measurement")
    args = ap.parse_args(argv)
    time_limit(900)
    RESULTS.mkdir(exist_ok=True)
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    res: dict = {"machine": {"cpus": os.cpu_count()}, "started_at": now.isoformat(),
                 "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    with ExitStack() as cleanup:
        cleanup.callback(signal.alarm, 0)
        url, engine = migrated_database(cleanup, "reorder", res["machine"])
        factory = make_sessionmaker(engine)
        with unit_of_work(factory) as session:
            store, _ = open_store(session, StoreCreate(name="فروشگاه بنچ",
                                                       url="https://shop.example"))
            store_id = store.id
            session.execute(update(Campaign).where(Campaign.store_id == store_id)
                            .values(active=False))
            campaign = add_preset(session, store_id, PRESETS[REPLENISHMENT], active=True)
            campaign.created_at = now - timedelta(days=1)
            campaign_id = campaign.id
        print(f"loading (PostgreSQL {res['machine']['postgres']}) ...", flush=True)
        t0 = time.monotonic()
        res["data"] = load(engine, store_id, now)
        print(json.dumps(res["data"]), f"in {time.monotonic() - t0:.0f} s", flush=True)

        statements: list[str] = []
        event.listen(engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *_: statements.append(statement))

        def set_campaign(**values) -> None:
            with unit_of_work(factory) as session:
                session.execute(update(Campaign).where(Campaign.id == campaign_id)
                                .values(**values))

        # The first look takes in every reminder due (as many ticks as its time budget needs).
        t0, started, ticks = time.perf_counter(), 0, 0
        while (enrolled := enroll_due(factory, now + timedelta(seconds=ticks))) or not ticks:
            started, ticks = started + enrolled, ticks + 1
        res["first_look"] = {"ms": round((time.perf_counter() - t0) * 1000, 1),
                             "ticks": ticks, "reminders_enrolled": started}
        later = now + timedelta(seconds=15)

        def before() -> float:  # every tick a look, as until migration 0035
            set_campaign(trigger_looked_at=None)
            statements.clear()
            t = time.perf_counter()
            assert enroll_due(factory, later) == 0
            return time.perf_counter() - t

        def after() -> float:  # the look of the first tick kept
            set_campaign(trigger_looked_at=now)
            statements.clear()
            t = time.perf_counter()
            assert enroll_due(factory, later) == 0
            return time.perf_counter() - t

        def paused() -> float:  # the job's floor: no replenishment running
            set_campaign(active=False)
            statements.clear()
            t = time.perf_counter()
            enroll_due(factory, later)
            elapsed = time.perf_counter() - t
            set_campaign(active=True)
            return elapsed

        calls = {"before: every tick reads the purchases": before,
                 "after: a tick within the hour": after, "baseline: automation paused": paused}
        for call in calls.values():  # warm-up
            call()
        times: dict[str, list[float]] = {name: [] for name in calls}
        counts: dict[str, int] = {}
        for _ in range(args.reps):
            for name, call in calls.items():
                times[name].append(call() * 1000)
                counts[name] = len(statements)
        res["ticks"] = {name: summarize(xs) | {"statements": counts[name]}
                        for name, xs in times.items()}

    look, skip = (res["ticks"][name]["p50_ms"] for name in (
        "before: every tick reads the purchases", "after: a tick within the hour"))
    res["a_day_of_ticks_s"] = {"before": round(TICKS_A_DAY * look / 1000, 1),
                               "after": round((LOOKS_A_DAY * look
                                               + (TICKS_A_DAY - LOOKS_A_DAY) * skip) / 1000, 1)}
    res["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    (RESULTS / "reorder.json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    first = res["first_look"]
    print(f"first look: {first['reminders_enrolled']} reminders enrolled in {first['ms']} ms "
          f"({first['ticks']} ticks)")
    print(f"\n{'tick':44} {'p50 ms':>8} {'p95 ms':>8} {'statements':>11}")
    for name, t in res["ticks"].items():
        print(f"{name:44} {t['p50_ms']:8.1f} {t['p95_ms']:8.1f} {t['statements']:11}")
    print(f"a day of ticks (5,760): before {res['a_day_of_ticks_s']['before']} s, "
          f"after {res['a_day_of_ticks_s']['after']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
