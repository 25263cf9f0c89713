"""Short-link redirect throughput on PostgreSQL, against a bare FastAPI 302, in one run.

    .venv/bin/python bench/redirect.py            # from the repository root; about 60 s

Creates a throwaway PostgreSQL database, migrates it, opens a store and makes real short links
the way production does: N abandoned carts (with the companion plugin's restore URL) are
enrolled and one campaigns tick sends their first SMS through the console gateway, which mints
one link per message. Then serves (a) a bare FastAPI app answering `/{code}` with the same 302
(same Location, same headers) from a dict (bench/bare_redirect_app.py) and (b) the real app
(bench/redirect_app.py), each as ONE uvicorn process with the same options; loads each with wrk
(same parameters, after a warm-up) over every code in turn with a phone browser's User-Agent;
then drives the real app at half the bare app's rate with the open-loop generator
(bench/fixed_rate.py) for p99 there, and (for information) at half its own wrk rate. After
stopping the server gracefully (its lifespan flushes the click recorder) it checks that every
302 is a `clicks` row and that the links' counters add up. Prints a table, writes
bench/results/redirect.json, and exits 1 if a target is missed.

Targets (the issue): redirect >= 70% of the bare 302's requests/s; p99 < 20 ms at half load (half
the bare app's rate); clicks recorded under that load with none lost.
"""

import argparse
import json
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from app.campaigns.enroll import run_triggers  # noqa: E402
from app.commerce.schemas import CartPayload  # noqa: E402
from app.commerce.service import apply_cart  # noqa: E402
from app.db import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
from app.links.models import Link  # noqa: E402
from app.messaging.gateway import ConsoleGateway  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.onboarding import open_store  # noqa: E402
from app.scheduler import tick  # noqa: E402
from app.stores.schemas import StoreCreate  # noqa: E402
from bench.harness import (  # noqa: E402
    BENCH,
    RESULTS,
    UVICORN_OPTS,
    Processes,
    Timeout,
    cpu_snapshot,
    cpu_usage,
    fixed_detail,
    fixed_passes,
    py_spy,
    run_fixed,
    run_wrk,
    settle,
    start_server,
    throwaway_database,
    time_limit,
)

RATIO_TARGET = 0.7
P99_TARGET_MS = 20.0
HARD_LIMIT_S = 115  # with the default durations the whole run, cleanup included, < 2 minutes
STORE_URL = "https://shop.example"
PHONE_UA = ("Mozilla/5.0 (Linux; Android 13; SM-A135F) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Mobile Safari/537.36")
BOT_UA = "TelegramBot (like TwitterBot)"


def make_links(factory, n: int) -> dict[str, str]:
    """N real links, {code: target}: carts abandoned an hour before `now`, enrolled, and their
    first message sent by one tick through the console gateway (which mints the links)."""
    # Today 08:00 UTC (11:30 in Tehran): inside the default sending window, and the links'
    # 90-day lifetime counts from here, so they are live for the redirect's real clock.
    now = datetime.now(timezone.utc).replace(hour=8, minute=0, second=0, microsecond=0)
    abandoned = (now - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    with unit_of_work(factory) as session:
        store, _ = open_store(session, StoreCreate(name="فروشگاه بنچ", url=STORE_URL))
        for i in range(n):
            apply_cart(session, store_id=store.id, body_sha256=uuid.uuid4().hex,
                       data=CartPayload(token=f"bench-{i:010d}", phone=f"0912{i:07d}",
                                        first_name="علی", currency="IRT", total="550000",
                                        restore_url=f"{STORE_URL}/",
                                        items=[{"product_id": 11, "name": "چای سبز",
                                                "quantity": 2, "total": "550000"}],
                                        date_modified_gmt=abandoned), now=now)
    with unit_of_work(factory) as session:  # a tick enrolls up to 500 per campaign
        while run_triggers(session, now):
            pass
    report = tick(factory, ConsoleGateway(factory), now)
    with factory() as session:
        links = dict(session.execute(sa.select(Link.code, Link.target)).all())
    if report.claimed != n or len(links) != n:
        raise RuntimeError(f"expected {n} sent messages with a link each: tick {report}, "
                           f"{len(links)} links")
    return links


def count_clicks(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM clicks")).scalar_one()


def click_totals(engine) -> dict:
    """Clicks rows against the links' counters, in total and link by link."""
    with engine.connect() as conn:
        row = conn.execute(sa.text("""
            SELECT (SELECT count(*) FROM clicks) AS clicks,
                   (SELECT count(*) FROM clicks WHERE bot) AS bot_clicks,
                   (SELECT coalesce(sum(human_clicks), 0) FROM links) AS human_clicks,
                   (SELECT coalesce(sum(bot_hits), 0) FROM links) AS bot_hits,
                   (SELECT count(*) FROM links l WHERE
                       l.human_clicks <> (SELECT count(*) FROM clicks c
                                          WHERE c.link_id = l.id AND NOT c.bot)
                    OR l.bot_hits <> (SELECT count(*) FROM clicks c
                                      WHERE c.link_id = l.id AND c.bot)) AS links_off,
                   (SELECT count(*) FROM links WHERE human_clicks > 0) AS links_clicked
        """)).one()
    return dict(row._mapping)


def db_transactions(engine) -> int:
    """Committed transactions in this database so far (PostgreSQL's statistics, ~1 s late)."""
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )).scalar_one()


def report(res: dict) -> None:
    bare, redirect, checks = res["bare"], res["redirect"], res["checks"]
    p = bare["params"]
    print()
    print(f"wrk -t{p['threads']} -c{p['connections']} -d{p['seconds']}s over {res['links']} codes, "
          f"phone User-Agent, one uvicorn process each, {res['machine']['cpus']} CPUs, "
          f"PostgreSQL {res['machine']['postgres']}, load average before "
          f"{res['machine']['loadavg_before'][0]:.2f}")
    print(f"{'run':<30}{'req/s':>10}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'max ms':>10}"
          f"{'not 302':>9}")
    for name, r in (("bare 302 (FastAPI)", bare), ("redirect (bazgasht)", redirect)):
        lat = r["latency_ms"]
        print(f"{name:<30}{r['rps']:>10.1f}{lat['p50']:>10.2f}{lat['p90']:>10.2f}"
              f"{lat['p99']:>10.2f}{lat['max']:>10.2f}{r['non_2xx_3xx']:>9}")
    for run in (res["fixed_rate"], res["fixed_rate_own"]):
        lat, svc = run["latency_ms"], run["service_ms"]
        name = f"redirect @ {run['target_rps']:.0f}/s fixed" + (" (!)" if run["overloaded"] else "")
        print(f"{name:<30}{run['achieved_rps']:>10.1f}{lat.get('p50', 0):>10.2f}"
              f"{lat.get('p90', 0):>10.2f}{lat.get('p99', 0):>10.2f}{lat.get('max', 0):>10.2f}"
              f"{run['sent'] - run['ok']:>9}")
        print(f"{'  (same, from send time)':<30}{'':>10}{svc.get('p50', 0):>10.2f}"
              f"{svc.get('p90', 0):>10.2f}{svc.get('p99', 0):>10.2f}{svc.get('max', 0):>10.2f}")
    print("(!) overloaded: the generator gave up once 2 s of requests were queued")
    runs = (("the bare wrk run", bare), ("the redirect wrk run", redirect),
            (f"{res['fixed_rate']['target_rps']:.0f}/s", res["fixed_rate"]),
            (f"{res['fixed_rate_own']['target_rps']:.0f}/s", res["fixed_rate_own"]))
    for name, r in runs:
        if r.get("cpu"):
            c = r["cpu"]
            print(f"CPU during {name}: server {c['server_ms_per_req']:.3f} ms/request "
                  f"({c['server_core_pct']:.0f}% of a core, waiting for a CPU "
                  f"{c['server_waiting_pct']:.0f}% of the time), PostgreSQL "
                  f"{c['postgres_ms_per_req']:.3f} ms/request")
    print("(waiting for a CPU: runnable while other processes had both CPUs; PostgreSQL counts "
          "every database on the server)")
    if redirect.get("db_transactions") is not None:
        print(f"Transactions in the benchmark's database from the redirect wrk run to its clicks "
              f"settling: about {redirect['db_transactions']} for {redirect['requests']} "
              f"redirects (the click recorder's batches and the benchmark's counts)")
    print()
    for c in checks:
        print(f"[{'PASS' if c['pass'] else 'FAIL'}] {c['name']}: {c['detail']}")
    print(f"\nresults: {res['results_file']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="short-link redirect vs bare 302, on PostgreSQL")
    ap.add_argument("--links", type=int, default=1000, help="links (codes) requested in turn")
    ap.add_argument("--seconds", type=int, default=10, help="each measured wrk run")
    ap.add_argument("--warmup", type=int, default=3, help="wrk warm-up before each measured run")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fixed-seconds", type=float, default=8.0)
    ap.add_argument("--fixed-fraction", type=float, default=0.5,
                    help="fixed-rate run at this fraction of the bare app's req/s")
    ap.add_argument("--redirect-app", default="bench.redirect_app:app",
                    help="uvicorn target of the app under test (to compare a variant)")
    ap.add_argument("--profile", action="store_true",
                    help="py-spy the redirect server during its measured wrk run "
                         "(writes bench/results/redirect-profile.txt)")
    args = ap.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 2

    time_limit(max(HARD_LIMIT_S,
                   int(2 * (args.warmup + args.seconds) + 2 * args.fixed_seconds + 70)))
    t0 = time.monotonic()
    RESULTS.mkdir(exist_ok=True)
    load_before = os.getloadavg()

    # Unwound in reverse: the engine, the servers and generators, the database, the files.
    with ExitStack() as cleanup:
        cleanup.callback(signal.alarm, 0)
        tmp = Path(tempfile.mkdtemp(prefix="bazgasht-bench-redirect-"))
        cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
        url, pg_version = cleanup.enter_context(
            throwaway_database(f"bazgasht_bench_redirect_{os.getpid()}"))
        procs = cleanup.enter_context(Processes())
        upgrade(url)
        engine = make_engine(url)
        cleanup.callback(engine.dispose)
        t_data = time.monotonic()
        links = make_links(make_sessionmaker(engine), args.links)
        t_data = time.monotonic() - t_data

        codes = list(links)
        random.Random(5).shuffle(codes)
        codes_file, paths_file = tmp / "codes.txt", tmp / "paths.txt"
        links_file = tmp / "links.json"
        codes_file.write_text("\n".join(codes) + "\n")
        paths_file.write_text("".join(f"/{code}\n" for code in codes))
        links_file.write_text(json.dumps(links))
        server_env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
        server_env.update(DATABASE_URL=url, BENCH_LINKS_FILE=str(links_file))
        wrk_env = dict(os.environ, BENCH_CODES_FILE=str(codes_file), BENCH_USER_AGENT=PHONE_UA)
        wrk_kw = {"script": BENCH / "redirect.lua", "threads": args.threads,
                  "connections": args.connections}
        phone = {"User-Agent": PHONE_UA}
        sample = codes[0]

        def sanity(base: str) -> None:
            r = httpx.get(f"{base}/{sample}", headers=phone)
            assert r.status_code == 302, f"sanity check: {r.status_code} {r.text[:200]}"
            assert r.headers["location"] == links[sample], "sanity check: wrong Location"
            assert r.headers["x-robots-tag"] == "noindex, nofollow", "sanity check: headers"

        # (a) the bare 302
        proc, port = start_server(procs, "bench.bare_redirect_app:app", server_env)
        base = f"http://127.0.0.1:{port}"
        sanity(base)
        run_wrk(procs, base, wrk_env, seconds=args.warmup, **wrk_kw)
        before = cpu_snapshot(proc.pid)
        bare = run_wrk(procs, base, wrk_env, seconds=args.seconds, **wrk_kw)
        bare["cpu"] = cpu_usage(before, cpu_snapshot(proc.pid), bare["requests"])
        procs.stop(proc)

        # (b) bazgasht: first one human click, a HEAD and a preview bot (both bot hits), an
        # unknown code (404, no click); then the loads
        proc, port = start_server(procs, args.redirect_app, server_env)
        base = f"http://127.0.0.1:{port}"
        sanity(base)
        assert httpx.head(f"{base}/{sample}", headers=phone).status_code == 302
        assert httpx.get(f"{base}/{sample}", headers={"User-Agent": BOT_UA}).status_code == 302
        assert httpx.get(f"{base}/zzzzzzz", headers=phone).status_code == 404
        expected = {"human": 1, "bot": 2}  # clicks the requests answered 302 must have made
        clicks = {}
        warm = run_wrk(procs, base, wrk_env, seconds=args.warmup, **wrk_kw)
        expected["human"] += warm["ok_2xx"]
        clicks_before = settle(lambda: count_clicks(engine), quiet_for=1.0, timeout=15)
        clicks["sanity_and_warmup"] = clicks_before
        profiler = None
        if args.profile:
            profiler = py_spy(procs, proc.pid, args.seconds, RESULTS / "redirect-profile.txt")
        xact_before = db_transactions(engine)
        before = cpu_snapshot(proc.pid)
        redirect = run_wrk(procs, base, wrk_env, seconds=args.seconds, **wrk_kw)
        redirect["cpu"] = cpu_usage(before, cpu_snapshot(proc.pid), redirect["requests"])
        if profiler:
            try:
                profiler.wait(15)
            finally:
                procs.stop(profiler)
        expected["human"] += redirect["ok_2xx"]
        clicks_after = settle(lambda: count_clicks(engine), quiet_for=1.0, timeout=15)
        redirect["db_transactions"] = db_transactions(engine) - xact_before
        clicks["wrk_run"] = clicks_after - clicks_before

        # (c) bazgasht at a fixed fraction of the bare app's rate (the target), then (d) at the
        # same fraction of its own wrk rate (for information: its latency below saturation)
        fixed_runs = {}
        for key, rate in (("fixed_rate", bare["rps"]), ("fixed_rate_own", redirect["rps"])):
            before = cpu_snapshot(proc.pid)
            fixed_runs[key] = run_fixed(procs, base, method="GET", paths_file=paths_file,
                                        headers=phone, ok_status=302,
                                        rate=rate * args.fixed_fraction,
                                        seconds=args.fixed_seconds,
                                        connections=args.connections)
            fixed_runs[key]["cpu"] = cpu_usage(before, cpu_snapshot(proc.pid),
                                               fixed_runs[key]["ok"])
            expected["human"] += fixed_runs[key]["ok"]
            now = settle(lambda: count_clicks(engine), quiet_for=1.0, timeout=15)
            clicks[key] = now - clicks_after
            clicks_after = now

        # A graceful stop: the lifespan flushes what the recorder still holds. uvicorn (>= 0.29)
        # raises the signal it caught again once it has shut down: -SIGTERM is a clean stop,
        # only -SIGKILL (the stop timed out) means the lifespan did not finish.
        exit_code = procs.stop(proc, wait=20)
        totals = click_totals(engine)
        clicks["flushed_at_shutdown"] = totals["clicks"] - clicks_after
        clicks["total"] = totals["clicks"]
        fixed, own = fixed_runs["fixed_rate"], fixed_runs["fixed_rate_own"]

        ratio = redirect["rps"] / bare["rps"]
        # wrk stops counting with up to one request per connection in flight: the server still
        # answers (and records) those, so rows may exceed wrk's 302s by that much per wrk run.
        slack = 2 * args.connections
        want_total = expected["human"] + expected["bot"]
        checks = [
            {"name": f"redirect/bare req/s >= {RATIO_TARGET}", "pass": ratio >= RATIO_TARGET,
             "detail": f"{redirect['rps']:.1f} / {bare['rps']:.1f} = {ratio:.3f}"},
            {"name": f"p99 < {P99_TARGET_MS:.0f} ms at {args.fixed_fraction:g} x bare rate",
             "pass": fixed_passes(fixed, P99_TARGET_MS),
             "detail": fixed_detail(fixed) + (
                 f"; the server waited for a CPU {fixed['cpu']['server_waiting_pct']:.0f}% of "
                 f"the run" if fixed.get("cpu") else "")},
            {"name": "the server stopped gracefully (the recorder flushed)",
             "pass": exit_code in (0, -signal.SIGTERM), "detail": f"exit code {exit_code}"},
            {"name": "every 302 of the wrk run is a click",
             "pass": redirect["ok_2xx"] <= clicks["wrk_run"]
             <= redirect["ok_2xx"] + args.connections,
             "detail": f"{redirect['ok_2xx']} 302 ({redirect['non_2xx_3xx']} other), "
                       f"{clicks['wrk_run']} new clicks rows (up to {args.connections} in "
                       f"flight at wrk's stop may add rows)"},
        ]
        for key in ("fixed_rate", "fixed_rate_own"):
            run, n = fixed_runs[key], clicks[key]
            unfinished = run["errors"].get("unfinished", 0)
            checks.append({
                "name": f"every 302 of the {run['target_rps']:.0f}/s run is a click",
                "pass": n == run["ok"] if not unfinished
                else run["ok"] <= n <= run["ok"] + args.connections,
                "detail": f"{run['ok']} 302 of {run['sent']} sent, {n} new clicks rows"
                          + (f" ({unfinished} unanswered when the generator gave up)"
                             if unfinished else " (exact)")})
        checks += [
            {"name": "no click lost: clicks rows after the stop against every 302 answered",
             "pass": want_total <= totals["clicks"] <= want_total + slack,
             "detail": f"{totals['clicks']} rows, {want_total} 302 counted by the clients "
                       f"(+ up to {slack} in flight at the two wrk stops); "
                       f"{clicks['flushed_at_shutdown']} written by the shutdown flush"},
            {"name": "links' counters match the clicks rows",
             "pass": totals["links_off"] == 0
             and totals["human_clicks"] == totals["clicks"] - totals["bot_clicks"]
             and totals["bot_hits"] == totals["bot_clicks"] == expected["bot"],
             "detail": f"sum(human_clicks) {totals['human_clicks']}, human rows "
                       f"{totals['clicks'] - totals['bot_clicks']}; sum(bot_hits) "
                       f"{totals['bot_hits']}, bot rows {totals['bot_clicks']} (HEAD + preview "
                       f"bot: {expected['bot']}); links whose counters differ from their rows: "
                       f"{totals['links_off']}; links clicked {totals['links_clicked']} of "
                       f"{len(links)}"},
        ]
        res = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "postgres": pg_version, "platform": platform.platform(),
                        "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
            "uvicorn_options": UVICORN_OPTS,
            "redirect_app": args.redirect_app,
            "links": len(links),
            "data_seconds": round(t_data, 2),
            "user_agent": PHONE_UA,
            "bare": {k: v for k, v in bare.items() if k != "output"},
            "redirect": {k: v for k, v in redirect.items() if k != "output"},
            "fixed_rate": fixed,
            "fixed_rate_own": own,
            "ratio": round(ratio, 4),
            "clicks": clicks,
            "click_totals": totals,
            "expected_clicks": expected,
            "server_exit_code": exit_code,
            "checks": checks,
            "passed": all(c["pass"] for c in checks),
            "results_file": str((RESULTS / "redirect.json").relative_to(ROOT)),
        }
        (RESULTS / "redirect.json").write_text(json.dumps(res, indent=2) + "\n")
        report(res)
        print(f"total {time.monotonic() - t0:.1f} s (making {len(links)} links: {t_data:.1f} s)")
        return 0 if res["passed"] else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, Timeout) as exc:
        print(f"\nstopped: {exc or 'interrupted'} (servers ended, database dropped)",
              file=sys.stderr)
        sys.exit(130)
