"""The command line as a newcomer runs it: real processes in an empty folder, no configuration.

Every process a test starts runs in a session of its own and is killed with its children when
the test ends, passed or failed. Outside systems are never reached: Kavenegar is pointed at a
loopback port nothing listens on.
"""

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tests.conftest import POSTGRES_URL, _postgres_available, require_server

# Only a bound for a process that hangs: every wait ends as soon as the output it waits for
# appears.
DEADLINE_SECONDS = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict:
    """This environment without bazgasht's settings, as on a newcomer's machine."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "REDIS_URL", "BAZGASHT_", "KAVENEGAR_",
                                "PLATFORM_", "WC_", "TICK_SECONDS"))}
    # A store given a Kavenegar account must not reach the real one.
    env["KAVENEGAR_BASE_URL"] = f"http://127.0.0.1:{free_port()}"
    if "DATABASE_URL" in extra:  # a test database: its secrets use the tests' key
        env["BAZGASHT_ENCRYPTION_KEY"] = os.environ["BAZGASHT_ENCRYPTION_KEY"]
    return env | extra


def bazgasht(*args: str, cwd, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


class Running:
    """A started process whose output (stdout and stderr together) is read as it comes."""

    def __init__(self, argv: list[str], *, cwd, env: dict):
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str) -> str:
        """The output up to the line holding `text` (or all of it if the process ended)."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while text not in self.output:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        return self.output

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(20)
            except ProcessLookupError:
                pass
        self.proc.stdout.close()


@contextmanager
def running(argv: list[str], *, cwd, env: dict):
    process = Running(argv, cwd=cwd, env=env)
    try:
        yield process
    finally:
        process.stop()


BANNER_END = "Press CTRL+C to stop."


@contextmanager
def serving(cwd, env: dict, *args: str):
    """`bazgasht serve` on a free port, once it printed its banner (it answers by then)."""
    port = free_port()
    with running([sys.executable, "-m", "app", "serve", "--port", str(port), *args],
                 cwd=cwd, env=env) as server:
        output = server.wait_for(BANNER_END)
        assert BANNER_END in output, output
        yield port, output


@pytest.fixture
def postgres_admin_url() -> str:
    require_server("PostgreSQL", POSTGRES_URL, _postgres_available())
    return POSTGRES_URL


@pytest.fixture
def missing_database(postgres_admin_url):
    """The name of a PostgreSQL database that does not exist; dropped after the test if a
    test made it."""
    name = f"bazgasht_cli_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def database_exists(admin_url: str, name: str) -> bool:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                               {"n": name}) == 1
    finally:
        admin.dispose()
