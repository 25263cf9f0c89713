"""The private stack bench/survive.py breaks on purpose: its own PostgreSQL cluster and Redis
server (never the machine's shared ones), the fake Kavenegar as a process, the api, Celery
workers and beat, each a subprocess that can be killed and started again.

Everything lives in one temporary directory and is ended on the way out (`Stack.close`),
whatever happened: the cluster is stopped with pg_ctl, the processes by their group.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from harness import ROOT, Processes, free_port, wait_listening

VENV_BIN = Path(sys.executable).parent
PG_USER = "postgres"  # initdb refuses root: the cluster runs as this OS user when we are root


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"{name} not found under /usr/lib/postgresql/*/bin")
    return found[-1]


def _as_pg_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", PG_USER, "--", *argv]


class PrivatePostgres:
    """A throwaway cluster (initdb) on a free port, trust auth on loopback only."""

    def __init__(self, base: Path):
        self.dir = base / "pgdata"
        self.log = base / "postgres.log"
        self.sock = base / "pgsock"
        self.port = free_port()
        self.started = False

    def init(self) -> None:
        self.sock.mkdir()
        if os.geteuid() == 0:
            uid, gid = pwd.getpwnam(PG_USER)[2:4]
            os.chown(self.dir.parent, uid, gid)  # the log and socket live beside the data
            os.chown(self.sock, uid, gid)
        subprocess.run(_as_pg_user([_pg_bin("initdb"), "-D", str(self.dir), "-U", "postgres",
                                    "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                       check=True, stdout=subprocess.DEVNULL)
        with open(self.dir / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.sock}'\nmax_connections = 200\n"
                       "shared_buffers = 64MB\nfsync = on\nsynchronous_commit = on\n")

    def start(self) -> None:
        subprocess.run(_as_pg_user([_pg_bin("pg_ctl"), "-D", str(self.dir), "-l", str(self.log),
                                    "-w", "-t", "60", "start"]),
                       check=True, stdout=subprocess.DEVNULL)
        self.started = True

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(_as_pg_user([_pg_bin("pg_ctl"), "-D", str(self.dir), "-m", mode, "-w",
                                    "-t", "60", "stop"]),
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.started = False

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"


class PrivateRedis:
    """Our own redis-server on a free port. Like docker-compose.yml's: append-only file on
    (appendfsync everysec, Redis's default), so a restart keeps the queue it had on disk."""

    def __init__(self, base: Path, procs: Processes):
        self.dir = base / "redis"
        self.dir.mkdir()
        self.port = free_port()
        self.procs = procs
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = self.procs.start(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.dir), "--save", "", "--appendonly", "yes", "--protected-mode", "no"],
            stdout=open(self.dir / "redis.log", "a"), stderr=subprocess.STDOUT)
        wait_listening(self.port, self.proc)

    def kill(self) -> None:
        if self.proc is not None:
            self.procs.stop(self.proc, signal.SIGKILL)
            self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _http_json(url: str, data: dict | None = None, timeout: float = 10.0):
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method="POST" if body else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


class Fake:
    """`bazgasht fake-kavenegar --control` in its own process, driven over /_fake/."""

    def __init__(self, procs: Processes, base: Path, api_key: str):
        self.port = free_port()
        self.api_key = api_key
        self.proc = procs.start([str(VENV_BIN / "bazgasht"), "fake-kavenegar", "--port",
                                 str(self.port), "--api-key", api_key, "--control"],
                                cwd=ROOT, stdout=open(base / "fake.log", "w"),
                                stderr=subprocess.STDOUT)
        wait_listening(self.port, self.proc)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def control(self, op: str, **kw) -> dict:
        return _http_json(f"{self.base_url}/_fake/control", {"op": op, **kw})

    def messages(self) -> list[dict]:
        return _http_json(f"{self.base_url}/_fake/messages", timeout=60)

    def state(self) -> dict:
        return _http_json(f"{self.base_url}/_fake/state")


class Stack:
    """The processes of a production deployment, on the private PostgreSQL and Redis."""

    def __init__(self, *, tick_seconds: float = 5.0):
        self.base = Path(tempfile.mkdtemp(prefix="bazgasht-survive-"))
        os.chmod(self.base, 0o755)
        self.procs = Processes()
        self.pg = PrivatePostgres(self.base)
        self.redis = PrivateRedis(self.base, self.procs)
        self.tick_seconds = tick_seconds
        self.api: subprocess.Popen | None = None
        self.api_port = free_port()
        self.beat: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.fake: Fake | None = None
        self._worker_n = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self, db: str = "bazgasht") -> None:
        self.pg.init()
        self.pg.start()
        subprocess.run(_as_pg_user([_pg_bin("createdb"), "-h", "127.0.0.1", "-p",
                                    str(self.pg.port), "-U", "postgres", db]), check=True)
        self.db_url = self.pg.url(db)
        self.redis.start()

    def env(self) -> dict:
        assert self.fake is not None
        return dict(os.environ, DATABASE_URL=self.db_url, REDIS_URL=self.redis.url,
                    KAVENEGAR_BASE_URL=self.fake.base_url, TICK_SECONDS=str(self.tick_seconds),
                    BAZGASHT_PUBLIC_URL=f"http://127.0.0.1:{self.api_port}",
                    PYTHONUNBUFFERED="1", LOG_LEVEL="INFO",
                    # `bazgasht worker` finds celery on PATH
                    PATH=os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
                    PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                             os.environ.get("PYTHONPATH")])))

    def start_fake(self, api_key: str) -> Fake:
        self.fake = Fake(self.procs, self.base, api_key)
        return self.fake

    def start_api(self) -> None:
        # docker-compose.yml's command, with one uvicorn process (RSS is then one number).
        self.api = self.procs.start(
            [str(VENV_BIN / "uvicorn"), "app.asgi:app", "--host", "127.0.0.1", "--port",
             str(self.api_port), "--no-access-log", "--timeout-graceful-shutdown", "20"],
            cwd=ROOT, env=self.env(), stdout=open(self.base / "api.log", "a"),
            stderr=subprocess.STDOUT)
        wait_listening(self.api_port, self.api, timeout=60)

    def start_worker(self) -> subprocess.Popen:
        self._worker_n += 1
        log = open(self.base / f"worker-{self._worker_n}.log", "w")
        proc = self.procs.start([str(VENV_BIN / "bazgasht"), "worker"], cwd=ROOT,
                                env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(proc)
        return proc

    def start_beat(self) -> None:
        # Its schedule file (celerybeat-schedule) goes to the temporary directory.
        self.beat = self.procs.start([str(VENV_BIN / "bazgasht"), "beat"], cwd=self.base,
                                     env=self.env(), stdout=open(self.base / "beat.log", "w"),
                                     stderr=subprocess.STDOUT)

    def kill_worker(self, proc: subprocess.Popen) -> None:
        """kill -9 the worker's whole process group (main process and pool children)."""
        self.procs.stop(proc, signal.SIGKILL)
        self.workers.remove(proc)

    def close(self, keep: bool = False) -> None:
        try:
            self.procs.stop_all()
        finally:
            try:
                if self.pg.dir.exists():
                    self.pg.stop("immediate")
            finally:
                if not keep:
                    shutil.rmtree(self.base, ignore_errors=True)


# -- /proc ------------------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_rss_mb(pid: int) -> float:
    return rss_mb(pid) + sum(tree_rss_mb(c) for c in children(pid))


def wait_until(pred, timeout: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return True
        except Exception:
            pass
        time.sleep(step)
    return False
