"""What the HTTP benchmarks share: a throwaway database, servers and load generators as
subprocesses that are always ended, wrk and fixed-rate runs, CPU accounting from /proc.

Used by bench/ingest.py and bench/redirect.py (and bench/tick.py for its processes). Each
benchmark builds its own data and its own report; this module knows nothing about bazgasht.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import sqlalchemy as sa
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
# A throwaway database needs a throwaway key for the stores' credentials (app/crypto.py); set in
# the environment, so the servers and workers a benchmark starts inherit it.
os.environ.setdefault("BAZGASHT_ENCRYPTION_KEY", Fernet.generate_key().decode())
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# Every server under test runs as ONE uvicorn process with these options: default loop (uvloop)
# and http (httptools).
UVICORN_OPTS = ["--host", "127.0.0.1", "--workers", "1", "--no-access-log",
                "--log-level", "warning"]


class Timeout(Exception):
    pass


def _alarm(_signum, _frame):
    raise Timeout("benchmark exceeded its time limit")


def _terminate(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")  # unwinds through the caller's cleanup


def time_limit(seconds: int) -> None:
    """Raise Timeout after `seconds`, and turn SIGINT/SIGTERM/SIGHUP into KeyboardInterrupt,
    so that a benchmark always unwinds through its cleanup. `signal.alarm(0)` cancels."""
    signal.signal(signal.SIGALRM, _alarm)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
    signal.alarm(seconds)


@contextmanager
def throwaway_database(name: str) -> Iterator[tuple[str, str]]:
    """A new empty database on the server at BENCH_POSTGRES_URL, dropped (WITH FORCE) on the
    way out whatever happened. Yields (its URL, the server's version)."""
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    url = sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    created = False
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            created = True
            version = conn.execute(sa.text("SHOW server_version")).scalar_one()
        yield url, version
    finally:
        try:
            if created:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

def migrated_database(cleanup, name: str, machine: dict):
    """A throwaway database for the bench `name` (dropped when `cleanup`, an ExitStack,
    unwinds), migrated to head, the server's version recorded in `machine`. Returns (its URL,
    an engine on it, disposed before the database is dropped)."""
    from app.db import make_engine
    from app.migrate import upgrade

    url, machine["postgres"] = cleanup.enter_context(
        throwaway_database(f"bazgasht_bench_{name}_{os.getpid()}"))
    upgrade(url)
    engine = make_engine(url)
    cleanup.callback(engine.dispose)
    return url, engine


class Processes:
    """Every subprocess we start, each in its own session so its whole group can be ended.
    As a context manager, ends whatever is still running on the way out."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> "Processes":
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()

    def start(self, argv, **kw) -> subprocess.Popen:
        proc = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, sig=signal.SIGTERM, wait: float = 10) -> int | None:
        """`sig` to the process group, SIGKILL if it is still there after `wait` seconds.
        Returns the exit code (negative: the signal that ended it)."""
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
                proc.wait(wait)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
            except ProcessLookupError:
                pass
        if proc in self.procs:
            self.procs.remove(proc)
        return proc.returncode

    def stop_all(self) -> None:
        for proc in list(self.procs):
            try:
                self.stop(proc)
            except Exception as exc:  # keep going: the others must be ended too
                print(f"warning: could not stop pid {proc.pid}: {exc}", file=sys.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start in {timeout} s")


def start_server(procs: Processes, target: str, env: dict) -> tuple[subprocess.Popen, int]:
    """`uvicorn target` with UVICORN_OPTS on a free port, once it accepts connections."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", target, "--app-dir", str(ROOT), "--port", str(port),
            *UVICORN_OPTS]
    proc = procs.start(argv, cwd=ROOT, env=env)
    wait_listening(port, proc)
    return proc, port


def settle(count: Callable[[], int], *, quiet_for: float = 0.5, timeout: float = 5.0) -> int:
    """`count()` once it stopped moving (work still in flight when the load stopped is done)."""
    deadline = time.monotonic() + timeout
    last = count()
    while time.monotonic() < deadline:
        time.sleep(quiet_for)
        now = count()
        if now == last:
            return now
        last = now
    return last


# ---------------------------------------------------------------------------------------------
# Load: wrk (closed loop) and bench/fixed_rate.py (open loop)
# ---------------------------------------------------------------------------------------------

def run_wrk(procs: Processes, url: str, env: dict, *, script: Path, threads: int,
            connections: int, seconds: int) -> dict:
    """wrk with a Lua script whose done() prints one `BENCH_JSON {...}` line (see post.lua).
    `ok` is every answer below 400: wrk counts 4xx/5xx as status errors, nothing else."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
            "--latency", "-s", str(script), url]
    proc = procs.start(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=seconds + 15)
    finally:
        procs.stop(proc)
    match = re.search(r"^BENCH_JSON (.*)$", out, re.M)
    if proc.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{out}")
    data = json.loads(match.group(1))
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    data["rps"] = float(rps.group(1)) if rps else data["requests"] / (data["duration_us"] / 1e6)
    data["non_2xx_3xx"] = data["errors"]["status"]
    data["ok_2xx"] = data["requests"] - data["errors"]["status"]  # 2xx or 3xx, to be exact
    data["latency_ms"] = {k: round(v / 1000, 3) for k, v in data.pop("latency_us").items()}
    data["params"] = {"threads": threads, "connections": connections, "seconds": seconds}
    data["output"] = out
    return data


def run_fixed(procs: Processes, url: str, *, rate: float, seconds: float, connections: int,
              headers: dict, body_file: Path | None = None, method: str = "POST",
              paths_file: Path | None = None, ok_status: int | None = None,
              vary: str | None = None) -> dict:
    """bench/fixed_rate.py at `rate` requests/s; its JSON result."""
    argv = [sys.executable, str(BENCH / "fixed_rate.py"), "--url", url, "--rate", f"{rate:.1f}",
            "--duration", str(seconds), "--connections", str(connections), "--method", method]
    if vary:
        argv += ["--vary", vary]
    if body_file:
        argv += ["--body-file", str(body_file)]
    if paths_file:
        argv += ["--paths-file", str(paths_file)]
    if ok_status:
        argv += ["--ok-status", str(ok_status)]
    for k, v in headers.items():
        argv += ["-H", f"{k}: {v}"]
    gen = procs.start(argv, stdout=subprocess.PIPE, text=True)
    try:
        out, _ = gen.communicate(timeout=seconds + 15)
    finally:
        procs.stop(gen)
    if gen.returncode != 0:
        raise RuntimeError(f"fixed_rate.py failed ({gen.returncode})")
    return json.loads(out)


def fixed_detail(run: dict) -> str:
    lat, svc = run["latency_ms"], run["service_ms"]
    text = (f"target {run['target_rps']:.1f}/s, achieved {run['achieved_rps']:.1f}/s, "
            f"p99 {lat.get('p99', float('nan')):.2f} ms from due time "
            f"({svc.get('p99', float('nan')):.2f} ms from send), "
            f"{run['ok']}/{run['sent']} {run['ok_status']}")
    if run["overloaded"]:
        text += (f"; OVERLOADED: gave up after {run['sent']} of {run['planned']} requests, "
                 f"more than 2 s of requests were queued")
    return text


def fixed_passes(run: dict, p99_target_ms: float) -> bool:
    """p99 from due time under the target, every request answered as expected, and the rate
    held (within 5%)."""
    return (run["latency_ms"].get("p99", float("inf")) < p99_target_ms and not run["overloaded"]
            and run["achieved_rps"] >= 0.95 * run["target_rps"] and run["ok"] == run["sent"])


# ---------------------------------------------------------------------------------------------
# CPU accounting (Linux /proc)
# ---------------------------------------------------------------------------------------------

_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def proc_stat(pid) -> tuple[str, int, int, int]:
    """(comm, ppid, own CPU ticks, reaped children's CPU ticks) from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        raw = f.read()
    comm, rest = raw[raw.index("(") + 1:raw.rindex(")")], raw[raw.rindex(")") + 2:].split()
    return comm, int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14])


def run_queue_wait(pid: int) -> float:
    """Seconds the process's threads spent runnable but waiting for a CPU (schedstat): on a
    shared machine, how much other people's work got in the way."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def cpu_snapshot(server_pid: int) -> dict | None:
    """CPU seconds used so far by the server (all its threads) and by PostgreSQL (every
    postgres process, plus the backends already exited, via the postmaster's children time),
    and the server's time waiting for a CPU."""
    try:
        server = proc_stat(server_pid)[2]
        wait = run_queue_wait(server_pid)
        pg = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                comm, ppid, own, children = proc_stat(entry)
            except OSError:
                continue
            if comm.startswith("postgres"):
                pg += own
                try:
                    parent_is_pg = proc_stat(ppid)[0].startswith("postgres")
                except OSError:
                    parent_is_pg = False
                if not parent_is_pg:
                    pg += children
        return {"server": server / _TCK, "postgres": pg / _TCK, "server_wait": wait,
                "t": time.monotonic()}
    except OSError:
        return None


def cpu_usage(before: dict | None, after: dict | None, requests: int) -> dict | None:
    if not before or not after or not requests:
        return None
    server, pg = after["server"] - before["server"], after["postgres"] - before["postgres"]
    wall = after["t"] - before["t"]
    return {"server_ms_per_req": round(server / requests * 1000, 3),
            "server_core_pct": round(server / wall * 100, 1),
            "postgres_ms_per_req": round(pg / requests * 1000, 3),
            # runnable but not running: other processes had the CPUs
            "server_waiting_pct": round((after["server_wait"] - before["server_wait"]) / wall
                                        * 100, 1)}


def py_spy_path() -> str | None:
    """py-spy from the venv, else PATH; None (with a one-line note) when it is not installed:
    profiles are optional, the measurements do without them."""
    exe = Path(sys.executable).parent / "py-spy"
    found = str(exe) if exe.exists() else shutil.which("py-spy")
    if found is None:
        print("note: py-spy is not installed (pip install py-spy): skipping the profile",
              flush=True)
    return found


def py_spy(procs: Processes, pid: int, seconds: int, out: Path) -> subprocess.Popen | None:
    """py-spy sampling the thread holding the GIL, raw format; None without py-spy."""
    exe = py_spy_path()
    if exe is None:
        return None
    return procs.start(
        [exe, "record", "--pid", str(pid), "--rate", "250",
         "--format", "raw", "--gil", "--duration", str(seconds), "--nonblocking", "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
