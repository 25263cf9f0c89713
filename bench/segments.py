"""Segment membership on PostgreSQL for one store with 40,000 contacts and 100,000 orders.

    .venv/bin/python bench/segments.py            # from the repository root; about 2 minutes
    .venv/bin/python bench/segments.py --reps 20

A throwaway database (bench/harness.py) gets one store: 40,000 contacts (3% opted out, 1%
promo-blocked), 100,000 orders over a year (85% paid, 1-3 items of 200 products in 20
categories, some partly refunded), 20,000 sent messages with 4,000 clicks of the last 30 days;
VACUUM ANALYZE. Each definition below is then computed in process through the service, as the
API's edges call it: the preview (size and sample), a page of 50 contacts, the segment's report
for the last 30 days. p50/p95 per call, alternating, after a warm-up.

Baseline in the same run: reading the rows membership needs and nothing else (the store's
reachable contacts, and one GROUP BY of its paid orders per contact), with the same driver:
the floor of a design that computes membership in Python. The ratio says how much the
conditions, the JSON of the items and the ORM add to it.

Prints a table and the plans of the two reads (EXPLAIN ANALYZE), writes
bench/results/segments.json.
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

from app.clock import local_today  # noqa: E402
from app.commerce.models import Order, Product  # noqa: E402
from app.contacts.models import Contact  # noqa: E402
from app.db import make_sessionmaker, unit_of_work  # noqa: E402
from app.onboarding import open_store  # noqa: E402
from app.reports.period import period_for  # noqa: E402
from app.reports.segments import segment_report  # noqa: E402
from app.segments import facts, service  # noqa: E402
from app.segments.models import Segment  # noqa: E402
from app.segments.schemas import Definition  # noqa: E402
from app.stores.models import Store  # noqa: E402
from app.stores.schemas import StoreCreate  # noqa: E402
from bench.harness import RESULTS, migrated_database, time_limit  # noqa: E402
from bench.reports import summarize  # noqa: E402

CONTACTS, ORDERS, PRODUCTS, MESSAGES = 40_000, 100_000, 200, 20_000
PAGE = 50
DEFINITIONS = {
    "everyone": {},
    "repeat buyers, spent 5M toman": {"purchases": {"orders_min": 2, "spent_min": 5_000_000}},
    "bought one of 3 products": {"purchases": {"products": [11, 12, 13]}},
    "bought from a category": {"purchases": {"categories": [3]}},
    "RFM monetary 4+, clicked in 30 days": {"rfm": {"monetary_min": 4},
                                            "engagement": {"clicked_within_days": 30}},
}


def load(engine, store_id: int, now: datetime) -> dict:
    """The store's products, contacts and orders (Core inserts of the models' tables, so
    their defaults apply), and a month of messages with links and clicks (generate_series, as
    bench/reports.py writes them)."""
    rng = random.Random(12)
    year, month = 365 * 24 * 3600, 30 * 24 * 3600
    with engine.begin() as conn:
        conn.execute(sa.insert(Product.__table__), [
            {"store_id": store_id, "wc_id": p, "name": f"کالا {p}",
             "categories": [{"id": 1 + p % 20, "name": "دسته"}]}
            for p in range(1, PRODUCTS + 1)])
        conn.execute(sa.insert(Contact.__table__), [
            {"store_id": store_id, "phone": f"+98912{c:07d}", "first_name": "مشتری",
             "last_name": str(c), "opted_out_at": now if c % 33 == 0 else None,
             "promo_blocked_at": now if c % 101 == 0 else None}
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
                         "refunded": 500_000 if rng.random() < 0.05 else 0,
                         "contact_id": rng.choice(ids), "created_gmt": at,
                         "paid_gmt": at if paid else None,
                         "items": [{"product_id": p, "variation_id": 0, "quantity": 1}
                                   for p in rng.sample(range(1, PRODUCTS + 1),
                                                       rng.randint(1, 3))]})
        conn.execute(sa.insert(Order.__table__), rows)
        campaign, step = conn.execute(sa.text(
            "SELECT c.id, s.id FROM campaigns c JOIN campaign_steps s ON s.campaign_id = c.id "
            "WHERE c.store_id = :s AND c.kind = 'abandoned_cart' ORDER BY s.position LIMIT 1"),
            {"s": store_id}).one()
        p = {"s": store_id, "c": campaign, "st": step, "n": MESSAGES, "now": now,
             "secs": month / MESSAGES, "first": ids[0], "contacts": len(ids)}
        plan = """(SELECT n, CAST(:now AS timestamptz) - make_interval(secs => n * :secs) AS t,
                          :first + (n * 7919) % :contacts AS contact
                   FROM generate_series(1, CAST(:n AS bigint)) n) plan"""
        conn.execute(sa.text("""
            INSERT INTO enrollments (id, store_id, campaign_id, subject_type, subject_id,
                                     contact_id, anchor_at, status, created_at)
            SELECT n, :s, :c, 'cart', n, contact, t, 'finished', t FROM """ + plan), p)
        conn.execute(sa.text("""
            INSERT INTO messages (id, store_id, campaign_id, enrollment_id, step_id, contact_id,
                                  promotional, due_at, status, text, attempts, sent_at,
                                  gateway_id, parts, cost, delivery_status, delivered_at,
                                  created_at, updated_at)
            SELECT n, :s, :c, n, :st, contact, true, t, 'delivered', 'متن', 1, t, 'kv' || n, 1,
                   1200, 10, t + interval '1 minute', t, t FROM """ + plan), p)
        conn.execute(sa.text("""
            INSERT INTO links (id, code, store_id, message_id, kind, target, expires_at,
                               human_clicks, bot_hits, first_clicked_at, last_clicked_at,
                               created_at)
            SELECT m.id, 'L' || m.id, :s, m.id, 'cart', 'https://shop.example/',
                   m.sent_at + interval '90 days', (m.id % 5 = 0)::int, 0,
                   CASE WHEN m.id % 5 = 0 THEN m.sent_at + interval '5 minutes' END,
                   CASE WHEN m.id % 5 = 0 THEN m.sent_at + interval '5 minutes' END, m.sent_at
            FROM messages m WHERE m.store_id = :s"""), p)
        conn.execute(sa.text("""
            INSERT INTO clicks (link_id, store_id, message_id, clicked_at, bot, user_agent)
            SELECT id, :s, message_id, first_clicked_at, false, 'Mozilla/5.0 Mobile'
            FROM links WHERE store_id = :s AND first_clicked_at IS NOT NULL"""), p)
        for table in ("enrollments", "messages", "links"):
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("contacts", "orders", "products", "messages", "clicks")}


def baseline(session, store_id: int) -> int:
    """The rows membership needs, read and nothing else done with them."""
    people = session.execute(sa.text(
        "SELECT id, phone, first_name, last_name FROM contacts WHERE store_id = :s "
        "AND opted_out_at IS NULL AND promo_blocked_at IS NULL"), {"s": store_id}).all()
    bought = session.execute(sa.text(
        "SELECT contact_id, count(*), sum(coalesce(total, 0) - refunded), "
        "max(coalesce(paid_gmt, created_gmt)) FROM orders WHERE store_id = :s AND purchased "
        "AND deleted_at IS NULL AND contact_id IS NOT NULL GROUP BY contact_id"),
        {"s": store_id}).all()
    return len(people) + len(bought)


def timed(calls: dict, reps: int, warmup: int = 2) -> dict[str, dict]:
    for _ in range(warmup):
        for call in calls.values():
            call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(reps):
        for name, call in calls.items():
            t0 = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - t0) * 1000)
    return {name: summarize(xs) for name, xs in times.items()}


def plans(session, store_id: int) -> str:
    """The plans of what every membership reads: contacts, then the paid orders' GROUP BY."""
    out = []
    for query in (sa.select(Contact.id).where(Contact.store_id == store_id,
                                                    Contact.opted_out_at.is_(None),
                                                    Contact.promo_blocked_at.is_(None)),
                  "purchases"):
        if query == "purchases":
            placed = sa.func.coalesce(Order.paid_gmt, Order.created_gmt)
            query = (sa.select(Order.contact_id, sa.func.count(),
                               sa.func.sum(sa.func.coalesce(Order.total, 0)
                                           - Order.refunded), sa.func.max(placed))
                     .where(*facts._paid(store_id)).group_by(Order.contact_id))
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        out += [r[0] for r in session.execute(sa.text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}"))]
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="segment membership for 40,000 contacts")
    ap.add_argument("--reps", type=int, default=10, help="calls per measurement")
    args = ap.parse_args(argv)
    time_limit(1200)
    RESULTS.mkdir(exist_ok=True)
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    res: dict = {"machine": {"cpus": os.cpu_count()}, "started_at": now.isoformat(),
                 "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    with ExitStack() as cleanup:
        cleanup.callback(signal.alarm, 0)
        url, engine = migrated_database(cleanup, "segments", res["machine"])
        factory = make_sessionmaker(engine)
        with unit_of_work(factory) as session:
            store, _ = open_store(session, StoreCreate(name="فروشگاه بنچ",
                                                       url="https://shop.example"))
            store_id = store.id
        print(f"loading (PostgreSQL {res['machine']['postgres']}) ...", flush=True)
        t0 = time.monotonic()
        res["data"] = load(engine, store_id, now)
        print(json.dumps(res["data"]), f"in {time.monotonic() - t0:.0f} s", flush=True)

        session = cleanup.enter_context(factory())
        store = session.get_one(Store, store_id)
        period = period_for(first=None, last=None, tz=store.timezone,
                            today=local_today(store.timezone, now))
        res["sizes"], calls = {}, {"baseline: the rows read": lambda: baseline(session, store_id)}
        for name, raw in DEFINITIONS.items():
            definition = Definition.model_validate(raw)
            found = service.preview(session, store=store, definition=definition, now=now)
            res["sizes"][name] = len(found)
            segment = Segment(store_id=store_id, name=name, definition=raw,
                              created_at=now, updated_at=now)
            session.add(segment)
            session.flush()

            def preview(d=definition):
                return service.preview(session, store=store, definition=d, now=now)

            def page(d=definition):
                found = service.members(session, store=store, definition=d, now=now)
                return service.after(found, None, PAGE)

            def report(s=segment):
                return segment_report(session, store=store, segment=s, period=period, now=now)

            calls |= {f"{name}: preview": preview, f"{name}: page of {PAGE}": page,
                      f"{name}: report, 30 days": report}
        print(json.dumps(res["sizes"], ensure_ascii=False), flush=True)
        res["times"] = timed(calls, args.reps)
        res["plans"] = plans(session, store_id)
        session.rollback()

    res["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    base = res["times"]["baseline: the rows read"]["p50_ms"]
    (RESULTS / "segments.json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    print(res["plans"])
    print(f"\n{'call':56} {'p50 ms':>8} {'p95 ms':>8} {'/ base':>7}")
    for name, t in res["times"].items():
        print(f"{name:56} {t['p50_ms']:8.1f} {t['p95_ms']:8.1f} {t['p50_ms'] / base:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
