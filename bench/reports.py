"""Merchant report queries on PostgreSQL for one big store, over HTTP as the merchant asks.

    .venv/bin/python bench/reports.py             # from the repository root; about 3 minutes
    .venv/bin/python bench/reports.py --reps 50   # more repetitions

Creates a throwaway PostgreSQL database (BENCH_POSTGRES_URL, default the local server;
`bazgasht_bench_reports_<pid>`, dropped at the end whatever happens), migrates it, opens one
store with its default campaigns (cart step 1 with A/B variants) and bulk-loads a year of
history with generate_series, ending now: 200,000 contacts (3,000 opted out), 1,000,000
messages (one enrollment each; delivered, sent, failed, blocked, skipped, held, and the last
days' scheduled), a link per message that went out, 200,000 clicks (a human click on every
fifth link, the rest link-preview bots), 50,000 orders (about 19,000 credited to a clicked
message, 2% of those credits removed) and 5,000 survey answers. VACUUM ANALYZE.

Then the daily rollup is built (the report_rollup job's round, timed), and the five days before
today are marked dirty, as the writers keep them in production (late delivery reports, clicks and
orders within the attribution window): those days, and today, are read raw.

Then the real app (`create_app(background=False)`, one uvicorn process) answers
GET /api/v1/reports/summary and /timeseries with the store's key: the default period (the last
30 days, about 82,000 messages) and the last 365 days, alternating, after a warm-up;
p50/p95/max per endpoint. Targets (issues 6 and 18): p95 < 300 ms for each. For information: the
same over 90 days, the CSV export's rows per second, the statements one summary runs (in
process, with EXPLAIN ANALYZE in bench/results/reports-explain.txt; the year's, on the rollup, in
reports-explain-year.txt), the statements a batch of 500 sends adds to mark its day
(reports-explain-marks.txt), and the baselines: the year without the rollup (the raw tables
only), then every request with the report indexes of migration 0010 dropped.

Prints a table, writes bench/results/reports.json, exits 1 if a target is missed.
"""

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402

from app.broadcasts.service import of_campaigns  # noqa: E402
from app.clock import local_today  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import make_sessionmaker, unit_of_work  # noqa: E402
from app.main import create_app  # noqa: E402
from app.onboarding import open_store  # noqa: E402
from app.report_marks.marks import mark_messages  # noqa: E402
from app.reports import rollup, service  # noqa: E402
from app.reports.period import Period, period_for  # noqa: E402
from app.stores.models import Store  # noqa: E402
from app.stores.schemas import StoreCreate  # noqa: E402
from bench.harness import (  # noqa: E402
    RESULTS,
    UVICORN_OPTS,
    Processes,
    Timeout,
    free_port,
    migrated_database,
    time_limit,
    wait_listening,
)

P95_TARGET_MS = 300.0
MESSAGES, CONTACTS, CLICKS, ORDERS = 1_000_000, 200_000, 200_000, 50_000
REPORT_INDEXES = ["ix_messages_store_id_sent_at", "ix_messages_store_id_due_at_unsent",
                  "ix_links_store_id_first_clicked_at", "ix_contacts_store_id_opted_out_at"]
TEXT = ("علی جان، سبد خریدتان در چای‌خانه منتظر شماست. چای سبز و قوری را با ۵٪ تخفیف و کد off5 "
        "بخرید: https://bz.example/aB3dE5f\nلغو۱۱")


def server_app():
    """The app under test (uvicorn --factory): no background loops, as an API replica runs."""
    return create_app(Settings(database_url=os.environ["DATABASE_URL"], rate_limits=False),
                      background=False)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

def load(engine, store_id: int, now: datetime) -> dict:
    """A year of one store's history, ending at `now`, with generate_series. Returns counts."""
    with engine.connect() as conn:
        campaigns = dict(conn.execute(sa.text(
            "SELECT kind, id FROM campaigns WHERE store_id = :s"), {"s": store_id}).all())
        steps = {(kind, pos): sid for kind, pos, sid in conn.execute(sa.text(
            "SELECT c.kind, s.position, s.id FROM campaign_steps s JOIN campaigns c "
            "ON c.id = s.campaign_id WHERE c.store_id = :s"), {"s": store_id})}
    p = {"s": store_id, "now": now, "n": MESSAGES, "contacts": CONTACTS, "text": TEXT,
         "clicks": CLICKS,
         "ac": campaigns["abandoned_cart"], "sv": campaigns["post_purchase_survey"],
         "cs": campaigns["cross_sell"], "ac1": steps[("abandoned_cart", 1)],
         "ac2": steps[("abandoned_cart", 2)], "ac3": steps[("abandoned_cart", 3)],
         "sv1": steps[("post_purchase_survey", 1)], "cs1": steps[("cross_sell", 1)]}
    # Message n is due at now − (n_max − n) × 31.5 s: a year, oldest first. Its bucket
    # (n % 10) picks the step: 0-4 cart 1 (A/B), 5-6 cart 2, 7 cart 3, 8 survey, 9 cross-sell.
    # r = a scrambled n % 100 picks the fate: 80% delivered, 10% sent, 5% failed (2 of those 5
    # blocked, status 14), 3% skipped, 2% held; the last ~4 days are still scheduled.
    plan = """(SELECT n, CAST(:now AS timestamptz) - make_interval(secs => (:n - n) * 31.536) AS t,
                      n % 10 AS b, (n * 7919) % 100 AS r
               FROM generate_series(1, CAST(:n AS bigint)) n) plan"""
    statements = [
        ("contacts", """
            INSERT INTO contacts (id, store_id, phone, unverified_prefix, first_name, last_name,
                                  email, opted_out_at, opt_out_source, created_at, updated_at)
            SELECT c, :s, '+98912' || lpad(c::text, 7, '0'), false, 'علی', 'رضایی', '',
                   CASE WHEN c % 67 = 0 THEN :now - make_interval(secs => c * 157.0) END,
                   CASE WHEN c % 67 = 0 THEN 'sms reply' END, :now, :now
            FROM generate_series(1, :contacts) c"""),
        ("enrollments", """
            INSERT INTO enrollments (id, store_id, campaign_id, subject_type, subject_id,
                                     contact_id, anchor_at, status, created_at)
            SELECT n, :s, CASE WHEN b < 8 THEN :ac WHEN b = 8 THEN :sv ELSE :cs END,
                   CASE WHEN b < 8 THEN 'cart' ELSE 'order' END, n, 1 + n % :contacts, t,
                   'active', t
            FROM """ + plan),
        ("messages", """
            INSERT INTO messages (id, store_id, campaign_id, enrollment_id, step_id, contact_id,
                                  promotional, due_at, status, reason, variant, text, attempts,
                                  sent_at, gateway_id, parts, cost, delivery_status,
                                  delivered_at, created_at, updated_at)
            SELECT n, :s, CASE WHEN b < 8 THEN :ac WHEN b = 8 THEN :sv ELSE :cs END, n,
                   CASE WHEN b < 5 THEN :ac1 WHEN b < 7 THEN :ac2 WHEN b = 7 THEN :ac3
                        WHEN b = 8 THEN :sv1 ELSE :cs1 END,
                   1 + n % :contacts, b <> 8,
                   CASE WHEN fate = 'scheduled' THEN t + interval '4 days' ELSE t END, fate,
                   CASE WHEN fate IN ('skipped', 'held') THEN 'frequency_cap' END,
                   CASE WHEN b < 5 THEN CASE WHEN n % 2 = 0 THEN 'A' ELSE 'B' END END,
                   CASE WHEN went THEN :text END, CASE WHEN went THEN 1 ELSE 0 END,
                   CASE WHEN went THEN t END, CASE WHEN went THEN 'kv' || n END,
                   CASE WHEN went THEN 1 + (n % 3 = 0)::int + (n % 7 = 0)::int END,
                   CASE WHEN went AND n % 10 <> 3
                        THEN (1 + (n % 3 = 0)::int + (n % 7 = 0)::int) * 1200 END,
                   CASE fate WHEN 'delivered' THEN 10 WHEN 'sent' THEN 1
                             WHEN 'failed' THEN CASE WHEN r < 92 THEN 14 ELSE 6 END END,
                   CASE WHEN fate = 'delivered' THEN t + interval '1 minute' END, t, t
            FROM (SELECT *, fate IN ('delivered', 'sent', 'failed') AS went FROM (
                    SELECT *, CASE WHEN n > :n - 11000 THEN 'scheduled'
                                   WHEN r < 80 THEN 'delivered' WHEN r < 90 THEN 'sent'
                                   WHEN r < 95 THEN 'failed' WHEN r < 98 THEN 'skipped'
                                   ELSE 'held' END AS fate
                    FROM """ + plan + """) x) y"""),
        ("links", """
            INSERT INTO links (id, code, store_id, message_id, kind, target, product_wc_id,
                               expires_at, human_clicks, bot_hits, first_clicked_at,
                               last_clicked_at, created_at)
            SELECT m.id, 'L' || m.id, :s, m.id, 'cart',
                   'https://shop.example/?bazgasht_restore=' || md5(m.id::text), NULL,
                   m.sent_at + interval '90 days', 0, 0, NULL, NULL, m.sent_at
            FROM messages m WHERE m.sent_at IS NOT NULL"""),
        ("human clicks", """
            INSERT INTO clicks (link_id, store_id, message_id, clicked_at, bot, user_agent)
            SELECT id, :s, message_id, created_at + make_interval(mins => (id % 120)::int),
                   false, 'Mozilla/5.0 (Linux; Android 13) Mobile'
            FROM links WHERE id % 5 = 0"""),
        ("bot clicks", """
            INSERT INTO clicks (link_id, store_id, message_id, clicked_at, bot, user_agent)
            SELECT id, :s, message_id, created_at + interval '5 seconds', true,
                   'TelegramBot (like TwitterBot)'
            FROM links WHERE id % 5 = 1
            ORDER BY id LIMIT (:clicks - (SELECT count(*) FROM clicks))"""),
        ("link counters", """
            UPDATE links l SET human_clicks = c.humans, bot_hits = c.bots,
                   first_clicked_at = c.first_human, last_clicked_at = c.last_any
            FROM (SELECT link_id, count(*) FILTER (WHERE NOT bot) AS humans,
                         count(*) FILTER (WHERE bot) AS bots,
                         min(clicked_at) FILTER (WHERE NOT bot) AS first_human,
                         max(clicked_at) AS last_any
                  FROM clicks GROUP BY link_id) c
            WHERE l.id = c.link_id"""),
        ("orders", """
            INSERT INTO orders (id, store_id, wc_id, number, status, purchased, currency, total,
                                first_name, last_name, email, phone_raw, contact_id, items,
                                coupon_codes, created_gmt, modified_gmt, paid_gmt,
                                payload_sha256, created_at, updated_at)
            SELECT k, :s, k, k::text, 'processing', true, 'IRT', 1000000 + (k * 7919) % 9000000,
                   'علی', 'رضایی', '', '09120000000', 1 + k % :contacts, '[]', '[]',
                   :now - make_interval(secs => k * 630.0), :now - make_interval(secs => k * 630.0),
                   :now - make_interval(secs => k * 630.0), '', :now, :now
            FROM generate_series(1, 50000) k"""),
        ("credits", """
            WITH credited AS (
                SELECT row_number() OVER (ORDER BY m.id) AS k, m.*
                FROM messages m JOIN links l ON l.message_id = m.id
                WHERE m.id % 50 = 0 AND l.first_clicked_at IS NOT NULL AND m.status <> 'failed')
            INSERT INTO attributions (store_id, order_id, message_id, campaign_id, step_id,
                                      variant, basis, revenue, cross_sell_purchase,
                                      attributed_at, removed_at, removed_reason)
            SELECT :s, o.id, c.id, c.campaign_id, c.step_id, c.variant,
                   CASE WHEN c.campaign_id = :ac THEN 'cart_token' ELSE 'click' END, o.total,
                   c.campaign_id = :cs, c.sent_at + interval '3 hours',
                   CASE WHEN c.k % 50 = 0 THEN c.sent_at + interval '4 hours' END,
                   CASE WHEN c.k % 50 = 0 THEN 'order cancelled' END
            FROM credited c JOIN orders o ON o.id = c.k"""),
        ("credited orders' dates", """
            UPDATE orders o SET created_gmt = a.attributed_at - interval '1 minute',
                                contact_id = m.contact_id
            FROM attributions a JOIN messages m ON m.id = a.message_id
            WHERE a.order_id = o.id"""),
        ("survey answers", """
            WITH answered AS (
                SELECT row_number() OVER (ORDER BY m.id) AS k, m.id, m.sent_at
                FROM messages m WHERE m.step_id = :sv1 AND m.status = 'delivered'
                  AND m.id % 7 = 0)
            INSERT INTO survey_answers (store_id, order_id, message_id, rating, comment,
                                        answered_at)
            SELECT :s, 40000 + a.k, a.id, 1 + a.k % 5,
                   CASE WHEN a.k % 3 = 0 THEN 'بسته‌بندی عالی بود، ممنون' END,
                   a.sent_at + interval '1 day'
            FROM answered a WHERE a.k <= 5000"""),
    ]
    timings = {}
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE campaign_steps SET variants = CAST(:v AS json) WHERE id = :id"),
                     {"v": json.dumps([{"name": "A", "template": "a", "weight": 50},
                                       {"name": "B", "template": "b", "weight": 50}]),
                      "id": p["ac1"]})
        for name, sql in statements:
            t0 = time.monotonic()
            conn.execute(sa.text(sql), {k: v for k, v in p.items() if f":{k}" in sql})
            timings[name] = round(time.monotonic() - t0, 1)
            print(f"  {name}: {timings[name]} s", flush=True)
        for table in ("contacts", "enrollments", "messages", "links", "orders"):
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))"))
    t0 = time.monotonic()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    timings["vacuum analyze"] = round(time.monotonic() - t0, 1)
    with engine.connect() as conn:
        counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in (
            "contacts", "messages", "links", "clicks", "orders", "attributions", "survey_answers")}
        counts["clicked_links"] = conn.execute(sa.text(
            "SELECT count(*) FROM links WHERE first_clicked_at IS NOT NULL")).scalar_one()
        counts["opted_out"] = conn.execute(sa.text(
            "SELECT count(*) FROM contacts WHERE opted_out_at IS NOT NULL")).scalar_one()
        counts["messages_by_status"] = dict(conn.execute(sa.text(
            "SELECT status, count(*) FROM messages GROUP BY status")).all())
    return {"counts": counts, "load_seconds": timings}


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------

def pct(xs: list[float], q: float) -> float:
    """The q-quantile (0..1), nearest rank: p95 of 40 samples is the 38th smallest."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(-(-q * len(xs) // 1)) - 1))]


def summarize(xs: list[float]) -> dict:
    return {"n": len(xs), "p50_ms": round(statistics.median(xs), 1),
            "p95_ms": round(pct(xs, 0.95), 1), "max_ms": round(max(xs), 1),
            "min_ms": round(min(xs), 1)}


def time_requests(client: httpx.Client, paths: dict[str, str], reps: int,
                  warmup: int = 3) -> dict[str, dict]:
    """Each path `reps` times, alternating (after `warmup` rounds); ms per request."""
    for _ in range(warmup):
        for path in paths.values():
            assert client.get(path).status_code == 200
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(reps):
        for name, path in paths.items():
            t0 = time.perf_counter()
            r = client.get(path)
            times[name].append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text[:300]
    return {name: summarize(xs) for name, xs in times.items()}


def statements_of_a_summary(engine, store_id: int, explain_to: Path,
                            days: int | None = None) -> list[dict]:
    """The statements GET /summary runs (in process, same service function; the last `days`
    days, default the default period), slowest first, each with its EXPLAIN (ANALYZE, BUFFERS)
    written to `explain_to`."""

    def run(session):
        store = session.get(Store, store_id)
        period = period_for(first=None, last=None, tz=store.timezone,
                            today=local_today(store.timezone, datetime.now(timezone.utc)))
        if days is not None:
            period = Period(period.last_day.fromordinal(period.last_day.toordinal() - days + 1),
                            period.last_day, store.timezone)
        service.summary(session, store=store, period=period, broadcasts_of=of_campaigns)

    return statements_of(engine, run, explain_to)


def statements_of(engine, run, explain_to: Path, *, warm: bool = True) -> list[dict]:
    """The statements `run(session)` makes, slowest first, each with its EXPLAIN (ANALYZE,
    BUFFERS) written to `explain_to` (run in a transaction rolled back)."""
    seen: list[dict] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["t0"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        if executemany or isinstance(parameters, list):  # one row of a batch is enough
            parameters = parameters[0]
        seen.append({"sql": statement, "params": parameters,
                     "ms": round((time.perf_counter() - conn.info["t0"]) * 1000, 1)})

    factory = make_sessionmaker(engine)
    with factory() as session:
        if warm:
            run(session)
            session.rollback()
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        try:
            run(session)
        finally:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)
            session.rollback()
    plans = []
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        for item in sorted(seen, key=lambda s: -s["ms"]):
            try:
                with raw.cursor() as cur:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + item["sql"], item["params"])
                    plan = "\n".join(r[0] for r in cur.fetchall())
            except Exception as exc:  # noqa: BLE001 - a plan we cannot get is reported, not fatal
                raw.rollback()
                plan = f"(no plan: {exc})"
            plans.append(f"-- {item['ms']} ms\n{item['sql']}\n{plan}\n")
            item["first_line"] = " ".join(item["sql"].split())[:120]
            item["uses"] = sorted({ix for ix in REPORT_INDEXES + [
                "ix_attributions_store_id_attributed_at", "ix_survey_answers_store_id_answered_at",
                "pk_messages", "pk_report_days", "ix_report_dirty_days_store_id_day",
                "pk_report_watermarks"] if ix in plan})
        raw.rollback()
    explain_to.write_text("\n".join(plans))
    return [{k: v for k, v in s.items() if k not in ("sql", "params")} for s in
            sorted(seen, key=lambda s: -s["ms"])]


def mark_a_send_batch(session) -> None:
    """What lifecycle.mark_sent adds for a batch of 500 messages sent at one moment: their
    (store, day) looked up, one mark inserted."""
    last = session.scalar(sa.text("SELECT max(id) FROM messages WHERE sent_at IS NOT NULL"))
    mark_messages(session, range(last - 499, last + 1))


def csv_rate(client: httpx.Client, path: str) -> dict:
    t0 = time.perf_counter()
    size = lines = 0
    with client.stream("GET", path) as r:
        assert r.status_code == 200
        for chunk in r.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\r\n")
    seconds = time.perf_counter() - t0
    return {"rows": lines - 1, "seconds": round(seconds, 2), "mb": round(size / 1e6, 1),
            "rows_per_s": round((lines - 1) / seconds)}


def start_app(procs: Processes, env: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "bench.reports:server_app", "--factory",
            "--app-dir", str(ROOT), "--port", str(port), *UVICORN_OPTS]
    proc = procs.start(argv, cwd=ROOT, env=env)
    wait_listening(port, proc, timeout=30)
    return proc, port


# ---------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="report queries for a store with 1M messages")
    ap.add_argument("--reps", type=int, default=40, help="requests per endpoint, default period")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the run without the report indexes")
    args = ap.parse_args(argv)
    time_limit(1500)
    RESULTS.mkdir(exist_ok=True)
    t_start = time.monotonic()
    load_before = os.getloadavg()
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    res: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                 "started_at": now.isoformat()}
    with ExitStack() as cleanup:
        cleanup.callback(signal.alarm, 0)
        url, engine = migrated_database(cleanup, "reports", res["machine"])
        procs = cleanup.enter_context(Processes())
        with unit_of_work(make_sessionmaker(engine)) as session:
            store, api_key = open_store(session, StoreCreate(name="فروشگاه بنچ",
                                                             url="https://shop.example"))
            store_id = store.id
        print(f"loading a year of history (PostgreSQL {res['machine']['postgres']}) ...", flush=True)
        res["data"] = load(engine, store_id, now)
        print(json.dumps(res["data"]["counts"], ensure_ascii=False), flush=True)
        t0 = time.monotonic()
        res["rollup"] = {"days": rollup.roll_up(make_sessionmaker(engine), now)}
        res["rollup"]["build_seconds"] = round(time.monotonic() - t0, 1)
        with engine.begin() as conn:
            res["rollup"]["rows"] = conn.execute(sa.text(
                "SELECT count(*) FROM report_days")).scalar_one()
            yesterday = conn.execute(sa.text("SELECT through FROM report_watermarks")).scalar_one()
            for n in range(5):  # as writers keep them: late reports, clicks and orders
                conn.execute(sa.text("INSERT INTO report_dirty_days (store_id, day, marked_at) "
                                     "VALUES (:s, :d, now())"),
                             {"s": store_id, "d": yesterday.fromordinal(yesterday.toordinal() - n)})
            conn.execute(sa.text("ANALYZE report_days; ANALYZE report_dirty_days"))
        print(f"rollup: {res['rollup']}", flush=True)

        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env["DATABASE_URL"] = url
        proc, port = start_app(procs, env)
        client = cleanup.enter_context(httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=120,
            headers={"Authorization": f"Bearer {api_key}"}))
        body = client.get("/api/v1/reports/summary").json()
        res["default_period"] = body["range"]
        res["default_period_totals"] = {k: body["totals"][k] for k in (
            "messages", "sent", "delivered", "clicks", "orders", "revenue", "cost")}
        print(f"default period {body['range']['from']}..{body['range']['to']}: "
              f"{res['default_period_totals']}", flush=True)

        default = {"summary": "/api/v1/reports/summary", "timeseries": "/api/v1/reports/timeseries"}
        res["default"] = time_requests(client, default, args.reps)
        today = datetime.fromisoformat(body["range"]["to"]).date()

        def last(days: int) -> dict[str, str]:
            first = today.fromordinal(today.toordinal() - days + 1).isoformat()
            return {f"{name}, {days} days": f"{path}?from={first}&to={today}"
                    for name, path in default.items()}

        year = last(365)
        res["year"] = time_requests(client, year, args.reps)
        res["longer"] = time_requests(client, last(90), max(5, args.reps // 4), warmup=1)
        res["csv"] = {"messages.csv, 30 days": csv_rate(client, "/api/v1/reports/messages.csv"),
                      "orders.csv, 365 days": csv_rate(
                          client, f"/api/v1/reports/orders.csv?from="
                                  f"{today.fromordinal(today.toordinal() - 364)}&to={today}")}
        res["statements"] = statements_of_a_summary(engine, store_id,
                                                    RESULTS / "reports-explain.txt")
        res["statements_year"] = statements_of_a_summary(engine, store_id,
                                                         RESULTS / "reports-explain-year.txt",
                                                         days=365)
        res["statements_marks"] = statements_of(engine, mark_a_send_batch,
                                                RESULTS / "reports-explain-marks.txt",
                                                warm=False)
        if not args.no_baseline:
            print("baseline: the year without the rollup ...", flush=True)
            with unit_of_work(make_sessionmaker(engine)) as session:
                rollup.forget(session, store_id)
            res["year_without_rollup"] = time_requests(client, year, 5, warmup=1)
            print("baseline: dropping the report indexes ...", flush=True)
            with engine.begin() as conn:
                for ix in REPORT_INDEXES:
                    conn.execute(sa.text(f"DROP INDEX {ix}"))
                conn.execute(sa.text("ANALYZE"))
            res["without_report_indexes"] = time_requests(client, default, 5, warmup=1)
            res["year_without_report_indexes"] = time_requests(client, year, 3, warmup=0)
        procs.stop(proc)

    res["load_average"] = {"before": [round(x, 2) for x in load_before],
                           "after": [round(x, 2) for x in os.getloadavg()]}
    checks = [{"name": f"{name} p95 < {P95_TARGET_MS:.0f} ms (last 30 days)",
               "pass": res["default"][name]["p95_ms"] < P95_TARGET_MS,
               "detail": f"p95 {res['default'][name]['p95_ms']} ms"} for name in default]
    checks += [{"name": f"{name} p95 < {P95_TARGET_MS:.0f} ms (with the rollup)",
                "pass": s["p95_ms"] < P95_TARGET_MS, "detail": f"p95 {s['p95_ms']} ms"}
               for name, s in res["year"].items()]
    res["checks"] = checks
    res["seconds"] = round(time.monotonic() - t_start)
    (RESULTS / "reports.json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    report(res)
    return 0 if all(c["pass"] for c in checks) else 1


def report(res: dict) -> None:
    c = res["data"]["counts"]
    print(f"\nstore: {c['messages']:,} messages, {c['clicks']:,} clicks ({c['clicked_links']:,} "
          f"clicked links), {c['orders']:,} orders ({c['attributions']:,} credited), "
          f"{c['contacts']:,} contacts; default period {res['default_period']['from']} .. "
          f"{res['default_period']['to']}: {res['default_period_totals']['messages']:,} messages")
    print(f"\nrollup: {res['rollup']['days']} days, {res['rollup']['rows']:,} rows, built in "
          f"{res['rollup']['build_seconds']} s")
    print(f"\n{'request':<46}{'n':>4}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    rows = [(k, v) for k, v in res["default"].items()] + list(res["year"].items())
    rows += list(res["longer"].items())
    rows += [(f"{k} (no rollup)", v) for k, v in res.get("year_without_rollup", {}).items()]
    rows += [(f"{k} (no report indexes)", v) for k, v in
             res.get("without_report_indexes", {}).items()]
    rows += [(f"{k} (no indexes, no rollup)", v) for k, v in
             res.get("year_without_report_indexes", {}).items()]
    for name, s in rows:
        print(f"{name:<46}{s['n']:>4}{s['p50_ms']:>9}{s['p95_ms']:>9}{s['max_ms']:>9}")
    for name, s in res["csv"].items():
        print(f"{name}: {s['rows']:,} rows in {s['seconds']} s ({s['rows_per_s']:,} rows/s, "
              f"{s['mb']} MB)")
    for title, key in (("one summary", "statements"), ("a year's summary", "statements_year"),
                       ("marking a batch of 500 sends", "statements_marks")):
        print(f"\nstatements of {title} (in process):")
        for s in res[key]:
            print(f"  {s['ms']:>7} ms  {', '.join(s['uses']) or '-':<60} {s['first_line'][:60]}")
    print(f"\nload average before/after: {res['load_average']['before']} / "
          f"{res['load_average']['after']}")
    for check in res["checks"]:
        print(f"{'PASS' if check['pass'] else 'FAIL'}  {check['name']}: {check['detail']}")
    print(f"results: bench/results/reports.json ({res['seconds']} s)")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Timeout as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
