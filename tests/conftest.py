"""Test fixtures: real databases (SQLite always, PostgreSQL where reachable), a live server.

Every database test runs once per backend. PostgreSQL is found at TEST_POSTGRES_URL (default:
the local server with trust auth); without it those runs skip, except in CI (CI=true), where a
missing server is an error.
"""

import os
import shutil
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from app import outbound
from app.clock import SettableClock
from app.config import Settings
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.http import tls
from app.main import create_app
from app.migrate import upgrade
from app.models import Base
from tests.helpers import StoreCreds, bearer, create_store
from tests.receiver import WebhookReceiver

# The stores' credentials are encrypted with this key (app/crypto.py), in every test process.
os.environ.setdefault("BAZGASHT_ENCRYPTION_KEY", "x6aHCpJIbI2-9bIL6wD3cPl9qoDvhG8klFQASu84XUY=")
# No test reaches a real SMS provider: a test that does not point one at its fake sends to a
# closed loopback port (the discard port) and gets "cannot connect", never a real SMS.
for _provider in ("KAVENEGAR", "SMSIR", "IPPANEL", "GHASEDAK", "MELIPAYAMAK"):
    os.environ.setdefault(f"{_provider}_BASE_URL", "http://127.0.0.1:9")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
def _worker_redis_url(url: str) -> str:
    """Under pytest-xdist each worker (gw0, gw1, …) gets a Redis database of its own, counted
    down from the one configured, so workers never see each other's queues."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    base, _, db = url.rpartition("/")
    if not index:
        return url
    if not db.isdigit() or int(db) < index:
        raise RuntimeError(f"TEST_REDIS_URL {url} leaves no Redis database for xdist {worker}")
    return f"{base}/{int(db) - index}"


# The one place tests allow tenant URLs (store, alert webhook) on loopback: the fakes live there.
# tests/security turns it off for the attacks; nothing else may.
outbound.set_allow_private(True)

REDIS_URL = _worker_redis_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_server(name: str, url: str, problem: str | None) -> None:
    """Skip without the server, except in CI, where its absence is a failure."""
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"{name} is required in CI but unreachable at {url}: {problem}")
    pytest.skip(f"{name} not reachable at {url}: {problem}")


def _postgres_available() -> str | None:
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()


@contextmanager
def postgres_database(prefix: str):
    """The URL of a new, empty PostgreSQL database, dropped afterwards (skips without the
    server, except in CI)."""
    require_server("PostgreSQL", POSTGRES_URL, _postgres_available())
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        # A test database need not survive a crash: commits stop waiting for the disk.
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    try:
        yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A freshly migrated database for the whole session, on one backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'bazgasht.db'}"
        upgrade(url)
        yield url
        return
    with postgres_database("bazgasht_test") as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _emptying(dialect: str) -> list[str]:
    """Statements that empty every table and restart ids at 1.

    DELETE in dependency order (children first), not TRUNCATE: on tables this small TRUNCATE
    costs a few hundred ms per test (it rewrites files and takes exclusive locks); DELETE a few.
    """
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    statements = [f"DELETE FROM {table}" for table in tables]
    if dialect == "postgresql":
        statements.append("SELECT setval(c.oid, 1, false) FROM pg_class c "
                          "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace")
    return statements


@pytest.fixture
def factory(engine):
    """Sessions on an emptied database: every test starts from nothing."""
    with engine.begin() as conn:
        for statement in _emptying(conn.dialect.name):
            conn.execute(sa.text(statement))
    return make_sessionmaker(engine)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The real app under uvicorn on a loopback port, in a thread of the test process."""

    def __init__(self, settings: Settings, *, background: bool = False):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The app's one clock: a test sets it to its story's time (unset: the machine's).
        self.clock = SettableClock()
        self.app = create_app(settings.model_copy(update={"bazgasht_public_url": self.url}),
                              background=background, clock=self.clock)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


ADMIN_TOKEN = "test-operator-token-9fK2xQ7mZp4LwR8vN3bT"


SCREENSHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"


def pytest_configure(config):
    # Here, not beside one suite: tests/admin and tests/stores both fuzz.
    config.addinivalue_line("markers", "fuzz: OpenAPI-driven fuzzing (bounded; part of the normal "
                                       "suite, `-m 'not fuzz'` leaves it out)")
    # The browser tests' screenshots of the last run, and only those: emptied once, by the
    # process that runs the xdist workers (a worker emptying it would delete its siblings').
    if not hasattr(config, "workerinput"):
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)
        SCREENSHOTS.mkdir(parents=True)


@pytest.fixture(scope="session")
def live_server(database_url):
    settings = Settings(database_url=database_url, redis_url=None,
                        bazgasht_admin_token=ADMIN_TOKEN)
    with LiveServer(settings) as server:
        yield server


@pytest.fixture
def clock(live_server) -> SettableClock:
    """The live server's clock, following the machine's until the test sets it."""
    return live_server.clock


@pytest.fixture(autouse=True)
def _clock_back_to_the_machine(request):
    """The live server lives for the session: no test leaves its story's time to the next."""
    yield
    if "live_server" in request.fixturenames:
        request.getfixturevalue("live_server").clock.set(None)
        request.getfixturevalue("live_server").app.state.limiter.reset()  # nor its counts


@pytest.fixture
def client(live_server, factory, clock):
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10) as client:
        yield client
    # Clicks and refused deliveries are written in batches: write this test's before the next
    # one empties the tables.
    live_server.app.state.click_recorder.flush()
    live_server.app.state.rejection_recorder.flush()


@pytest.fixture
def admin_client(live_server, factory):
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10, headers=headers) as client:
        yield client


@pytest.fixture
def store(factory) -> StoreCreds:
    with unit_of_work(factory) as session:
        return create_store(session)


# The merchant admin API over real HTTP: store A (the `store` fixture) and a second store B.
@pytest.fixture
def api(live_server, store) -> httpx.Client:
    """Store A's API client."""
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10, headers=bearer(store)) as client:
        yield client


@pytest.fixture
def other_store(factory) -> StoreCreds:
    with unit_of_work(factory) as session:
        return create_store(session, name="دکان دیگر", url="https://other.example")


@pytest.fixture
def other_api(live_server, other_store) -> httpx.Client:
    """Store B's API client: it must see nothing of store A."""
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      headers=bearer(other_store)) as client:
        yield client


# Real WooCommerce payloads (where each came from: tests/fixtures/woocommerce/README.md).
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "woocommerce"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
        problem = None
    except redis.RedisError as exc:
        problem = str(exc)
    finally:
        client.close()
    require_server("Redis", REDIS_URL, problem)
    return REDIS_URL


@pytest.fixture
def shop(client, store, factory, clock):
    """A store sending webhooks to a live bazgasht, and its scheduler's ticks."""
    from tests.campaigns.shop import Shop

    return Shop(client, store, factory, clock)


# Debian's Chromium, one per test process (Playwright's sync API cannot start twice in one).
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def chromium_or_skip() -> str:
    """Debian's Chromium; without it the browser tests skip, except in CI, where they fail."""
    problem = None
    if not Path(CHROMIUM).exists():
        problem = f"{CHROMIUM} not found (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed (pip install -e '.[dev]')"
    if problem:
        if IN_CI:
            pytest.fail(f"browser tests must run in CI: {problem}")
        pytest.skip(problem)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser():
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True,
                                    args=["--no-sandbox", "--disable-gpu",
                                          "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture
def receiver():
    """The merchant's webhook endpoint (alerts), on loopback."""
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """The URL of an empty database of its own, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with postgres_database("bazgasht_migrate") as url:
        yield url
