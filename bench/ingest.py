"""Webhook ingest throughput on PostgreSQL, against a bare FastAPI echo, in one run.

    .venv/bin/python bench/ingest.py            # from the repository root; about 45 s

Creates a throwaway PostgreSQL database, migrates it and creates a store; serves (a) a bare
FastAPI app that echoes the body on the webhook's route (bench/echo_app.py) and (b) the real
app (bench/ingest_app.py), each as ONE uvicorn process with the same options; loads each with
wrk (same parameters, after a warm-up) POSTing the real captured order.updated delivery, signed
with the store's secret; then drives the real app at half the echo's rate with an open-loop
fixed-rate generator (bench/fixed_rate.py) to check p99 latency there, and (for information)
at half its own wrk rate. Finally checks that every acknowledged delivery is a
webhook_deliveries row. Prints a table, writes
bench/results/ingest.json, and exits 1 if a target is missed.

Targets (the issue): ingest >= 50% of the echo's requests/s; p99 < 50 ms at half the echo's rate.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import platform
import re
import shutil
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from app.db import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.stores.schemas import StoreCreate  # noqa: E402
from app.stores.service import create_store  # noqa: E402
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

FIXTURE = (Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "woocommerce" / "real"
           / "014_order.updated.json")
RATIO_TARGET = 0.5
P99_TARGET_MS = 50.0
HARD_LIMIT_S = 115  # with the default durations the whole run, cleanup included, < 2 minutes


def count_rows(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM webhook_deliveries")).scalar_one()


def load_fixture() -> tuple[bytes, dict]:
    data = json.loads(FIXTURE.read_text())
    body = base64.b64decode(data["body_b64"])
    assert len(body) == data["body_len"], "fixture body length mismatch"
    return body, data["headers"]


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def deliveries(body: bytes, secret: str, tmp: Path, *, base: int, count: int) -> dict[str, str]:
    """`count` different deliveries for one phase: the fixture with its order id set to base,
    base + 1, …, each signed with the store's secret, as files bench/post.lua and
    bench/fixed_rate.py read (bazgasht stores a body once: the same one over and over would
    measure the replay path). Returns post.lua's environment; "vary" is fixed_rate.py's."""
    found = re.search(rb'"id":\d+', body)
    assert found, "the fixture has no order id to vary"
    prefix, suffix = body[:found.start()] + b'"id":', body[found.end():]
    (tmp / "prefix.bin").write_bytes(prefix)
    (tmp / "suffix.bin").write_bytes(suffix)
    signatures = tmp / f"signatures-{base}.txt"
    signatures.write_text("".join(sign(secret, prefix + str(base + i).encode() + suffix) + "\n"
                                  for i in range(count)))
    env = {"BENCH_PREFIX_FILE": str(tmp / "prefix.bin"), "BENCH_SUFFIX_FILE": str(tmp / "suffix.bin"),
           "BENCH_SIGS_FILE": str(signatures), "BENCH_ID_BASE": str(base)}
    env["vary"] = ",".join((env["BENCH_PREFIX_FILE"], env["BENCH_SUFFIX_FILE"], str(signatures),
                            str(base)))
    return env


def report(res: dict) -> None:
    echo, ingest, checks = res["echo"], res["ingest"], res["checks"]
    p = echo["params"]
    print()
    print(f"wrk -t{p['threads']} -c{p['connections']} -d{p['seconds']}s, body "
          f"{res['body_bytes']} B ({res['topic']}), one uvicorn process each, "
          f"{res['machine']['cpus']} CPUs, PostgreSQL {res['machine']['postgres']}")
    print(f"{'run':<28}{'req/s':>10}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'max ms':>10}"
          f"{'non-2xx':>9}")
    for name, r in (("echo (bare FastAPI)", echo), ("ingest (bazgasht)", ingest)):
        lat = r["latency_ms"]
        print(f"{name:<28}{r['rps']:>10.1f}{lat['p50']:>10.2f}{lat['p90']:>10.2f}"
              f"{lat['p99']:>10.2f}{lat['max']:>10.2f}{r['non_2xx_3xx']:>9}")
    for run in (res["fixed_rate"], res["fixed_rate_own"]):
        lat, svc = run["latency_ms"], run["service_ms"]
        name = f"ingest @ {run['target_rps']:.0f}/s fixed" + (" (!)" if run["overloaded"] else "")
        print(f"{name:<28}{run['achieved_rps']:>10.1f}{lat.get('p50', 0):>10.2f}"
              f"{lat.get('p90', 0):>10.2f}{lat.get('p99', 0):>10.2f}{lat.get('max', 0):>10.2f}"
              f"{run['sent'] - run['ok_2xx']:>9}")
        print(f"{'  (same, from send time)':<28}{'':>10}{svc.get('p50', 0):>10.2f}"
              f"{svc.get('p90', 0):>10.2f}{svc.get('p99', 0):>10.2f}{svc.get('max', 0):>10.2f}")
    print("(!) overloaded: the generator gave up once 2 s of requests were queued")
    for name, r in (("echo", echo), ("ingest", ingest)):
        if r.get("cpu"):
            c = r["cpu"]
            print(f"CPU during the {name} wrk run: server {c['server_ms_per_req']:.3f} ms/request "
                  f"({c['server_core_pct']:.0f}% of a core), PostgreSQL "
                  f"{c['postgres_ms_per_req']:.3f} ms/request")
    print()
    for c in checks:
        print(f"[{'PASS' if c['pass'] else 'FAIL'}] {c['name']}: {c['detail']}")
    print(f"\nresults: {res['results_file']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="webhook ingest vs bare echo, on PostgreSQL")
    ap.add_argument("--seconds", type=int, default=10, help="each measured wrk run")
    ap.add_argument("--warmup", type=int, default=3, help="wrk warm-up before each measured run")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fixed-seconds", type=float, default=8.0)
    ap.add_argument("--fixed-fraction", type=float, default=0.5,
                    help="fixed-rate run at this fraction of the echo's req/s")
    ap.add_argument("--ingest-app", default="bench.ingest_app:app",
                    help="uvicorn target of the app under test (to compare a variant)")
    ap.add_argument("--profile", action="store_true",
                    help="py-spy the ingest server during its measured wrk run "
                         "(needs py-spy; writes bench/results/ingest-profile.txt)")
    args = ap.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 2

    time_limit(max(HARD_LIMIT_S,
                   int(2 * (args.warmup + args.seconds) + 2 * args.fixed_seconds + 60)))
    t0 = time.monotonic()
    results_dir = RESULTS
    results_dir.mkdir(exist_ok=True)
    body, fixture_headers = load_fixture()
    topic = fixture_headers["X-WC-Webhook-Topic"]

    # Unwound in reverse: the engine, the servers and generators, the database, the files.
    with ExitStack() as cleanup:
        cleanup.callback(signal.alarm, 0)
        tmp = Path(tempfile.mkdtemp(prefix="bazgasht-bench-"))
        cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
        url, pg_version = cleanup.enter_context(
            throwaway_database(f"bazgasht_bench_{os.getpid()}"))
        procs = cleanup.enter_context(Processes())
        upgrade(url)
        engine = make_engine(url)
        cleanup.callback(engine.dispose)
        with unit_of_work(make_sessionmaker(engine)) as session:
            store, _ = create_store(session, StoreCreate(name="bench", url="https://shop.example"))
            store_id, secret = store.id, store.webhook_secret

        body_file = tmp / "body.json"
        body_file.write_bytes(body)
        signature = sign(secret, body)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": fixture_headers["User-Agent"],
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Signature": signature,
            "X-WC-Webhook-ID": fixture_headers["X-WC-Webhook-ID"],
            "X-WC-Webhook-Delivery-ID": fixture_headers["X-WC-Webhook-Delivery-ID"],
        }
        path = f"/webhooks/woocommerce/{store_id}"
        wrk_env = dict(os.environ, BENCH_BODY_FILE=str(body_file), BENCH_SIGNATURE=signature,
                       BENCH_TOPIC=topic, BENCH_WEBHOOK_ID=headers["X-WC-Webhook-ID"],
                       BENCH_DELIVERY_ID=headers["X-WC-Webhook-Delivery-ID"],
                       BENCH_THREADS=str(args.threads))

        def phase(base: int, seconds: float, rate: float = 15_000) -> dict[str, str]:
            """post.lua's environment for a phase of at most `rate` requests/s: each request
            a delivery no other phase sends."""
            return wrk_env | deliveries(body, secret, tmp, base=base,
                                        count=int(rate * seconds) + 1000)
        server_env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
        server_env["DATABASE_URL"] = url
        wrk_kw = dict(script=BENCH / "post.lua", threads=args.threads,
                      connections=args.connections)

        # (a) bare echo
        proc, port = start_server(procs, "bench.echo_app:app", server_env)
        echo_url = f"http://127.0.0.1:{port}{path}"
        r = httpx.post(echo_url, content=body, headers=headers)
        assert r.status_code == 200 and r.content == body, f"echo sanity check: {r.status_code}"
        echo_env = phase(1_000_000, args.warmup + args.seconds)
        run_wrk(procs, echo_url, echo_env, seconds=args.warmup, **wrk_kw)
        before = cpu_snapshot(proc.pid)
        echo = run_wrk(procs, echo_url, echo_env, seconds=args.seconds, **wrk_kw)
        echo["cpu"] = cpu_usage(before, cpu_snapshot(proc.pid), echo["requests"])
        procs.stop(proc)

        # (b) bazgasht
        proc, port = start_server(procs, args.ingest_app, server_env)
        ingest_url = f"http://127.0.0.1:{port}{path}"
        r = httpx.post(ingest_url, content=body, headers=headers)
        assert r.status_code == 200, f"ingest sanity check: {r.status_code} {r.text}"
        run_wrk(procs, ingest_url, phase(2_000_000, args.warmup), seconds=args.warmup, **wrk_kw)
        rows_before = settle(lambda: count_rows(engine))
        profiler = None
        if args.profile:
            profiler = py_spy(procs, proc.pid, args.seconds, results_dir / "ingest-profile.txt")
        before = cpu_snapshot(proc.pid)
        ingest = run_wrk(procs, ingest_url, phase(3_000_000, args.seconds), seconds=args.seconds,
                         **wrk_kw)
        ingest["cpu"] = cpu_usage(before, cpu_snapshot(proc.pid), ingest["requests"])
        if profiler:
            try:
                profiler.wait(15)
            finally:
                procs.stop(profiler)
        rows_after = settle(lambda: count_rows(engine))

        # (c) bazgasht at a fixed fraction of the echo's rate (the target), then (d) at the
        # same fraction of its own wrk rate (for information: its latency below saturation)
        rows = {"wrk_run": rows_after - rows_before}
        fixed_runs = {}
        for n, (key, base) in enumerate((("fixed_rate", echo["rps"]),
                                         ("fixed_rate_own", ingest["rps"]))):
            rate = base * args.fixed_fraction
            fixed_runs[key] = run_fixed(procs, ingest_url, body_file=body_file, headers=headers,
                                        rate=rate, seconds=args.fixed_seconds,
                                        connections=args.connections,
                                        vary=phase(4_000_000 + n * 1_000_000, args.fixed_seconds,
                                                   rate * 1.2)["vary"])
            now = settle(lambda: count_rows(engine))
            rows[key] = now - rows_after
            rows_after = now
        rows["total"] = rows_after
        procs.stop(proc)
        fixed, own = fixed_runs["fixed_rate"], fixed_runs["fixed_rate_own"]

        ratio = ingest["rps"] / echo["rps"]
        checks = [
            {"name": f"ingest/echo req/s >= {RATIO_TARGET}", "pass": ratio >= RATIO_TARGET,
             "detail": f"{ingest['rps']:.1f} / {echo['rps']:.1f} = {ratio:.3f}"},
            {"name": f"p99 < {P99_TARGET_MS:.0f} ms at {args.fixed_fraction:g} x echo rate",
             "pass": fixed_passes(fixed, P99_TARGET_MS),
             "detail": fixed_detail(fixed)},
            {"name": "every 2xx of the wrk run is a row",
             # wrk stops with up to one request in flight per connection: the server may still
             # commit those after wrk stopped counting, so rows may exceed 2xx by that much.
             "pass": ingest["ok_2xx"] <= rows["wrk_run"] <= ingest["ok_2xx"] + args.connections,
             "detail": f"{ingest['ok_2xx']} 2xx ({ingest['non_2xx_3xx']} non-2xx/3xx), "
                       f"{rows['wrk_run']} new webhook_deliveries rows "
                       f"(up to {args.connections} in flight at wrk's stop may add rows)"},
        ]
        for key in ("fixed_rate", "fixed_rate_own"):
            run, n = fixed_runs[key], rows[key]
            unfinished = run["errors"].get("unfinished", 0)
            checks.append({
                "name": f"every 2xx of the {run['target_rps']:.0f}/s run is a row",
                # Exact when every request sent was answered; if the generator gave up
                # waiting, up to one request per connection may still have committed.
                "pass": n == run["ok_2xx"] if not unfinished
                else run["ok_2xx"] <= n <= run["ok_2xx"] + args.connections,
                "detail": f"{run['ok_2xx']} 2xx, {n} new rows"
                          + (f" ({unfinished} unanswered when the generator gave up)"
                             if unfinished else " (exact)")})
        res = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "postgres": pg_version, "platform": platform.platform()},
            "uvicorn_options": UVICORN_OPTS,
            "ingest_app": args.ingest_app,
            "topic": topic, "body_bytes": len(body),
            "echo": {k: v for k, v in echo.items() if k != "output"},
            "ingest": {k: v for k, v in ingest.items() if k != "output"},
            "fixed_rate": fixed,
            "fixed_rate_own": own,
            "ratio": round(ratio, 4),
            "rows": rows,
            "checks": checks,
            "passed": all(c["pass"] for c in checks),
            "results_file": str((results_dir / "ingest.json").relative_to(ROOT)),
        }
        (results_dir / "ingest.json").write_text(json.dumps(res, indent=2) + "\n")
        report(res)
        print(f"total {time.monotonic() - t0:.1f} s")
        return 0 if res["passed"] else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, Timeout) as exc:
        print(f"\nstopped: {exc or 'interrupted'} (servers ended, database dropped)",
              file=sys.stderr)
        sys.exit(130)
