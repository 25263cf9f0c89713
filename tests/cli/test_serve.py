"""A newcomer runs `bazgasht serve` with no configuration and connects a store to it."""

import os
import re
import socket
import subprocess
import sys
import time

import httpx
import pytest
import sqlalchemy as sa

from tests.helpers import StoreCreds, deliver

STARTUP_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """`bazgasht serve` in an empty folder, with no configuration at all."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "REDIS_URL", "BAZGASHT_"))}
    proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Uvicorn running" in line or "Application startup complete" in line:
                break
        output = "".join(lines)
        assert "Application startup complete" in output or "Uvicorn running" in output, output
        yield port, output, tmp_path
    finally:
        proc.terminate()
        proc.wait(20)


def test_serve_prints_where_to_look_and_a_demo_store(served):
    port, output, folder = served
    base = f"http://127.0.0.1:{port}"
    assert f"bazgasht listening on {base}" in output
    assert f"API docs: {base}/docs" in output
    assert f"webhook URL:    {base}/webhooks/woocommerce/1" in output
    assert re.search(r"webhook secret: [A-Za-z0-9]{40}\n", output)
    assert re.search(r"API key:        bz_[A-Za-z0-9]+", output)
    assert (folder / "bazgasht.db").exists()
    assert httpx.get(f"{base}/docs").status_code == 200


def test_deliveries_to_the_embedded_server_are_applied_in_the_background(served, fixtures_dir):
    port, output, folder = served
    secret = re.search(r"webhook secret: (\w+)", output).group(1)
    store = StoreCreds(1, "", secret)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        ping = client.post("/webhooks/woocommerce/1", content=b"webhook_id=1",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert ping.status_code == 200
        response = deliver(client, store, "order.deleted", {"id": 77})
        assert response.status_code == 200
    engine = sa.create_engine(f"sqlite:///{folder / 'bazgasht.db'}")
    query = sa.text("select status from webhook_deliveries")
    deadline = time.monotonic() + 30  # the thread is woken at once; this is only a bound
    try:
        while True:
            with engine.connect() as conn:
                statuses = conn.execute(query).scalars().all()
            if statuses != ["pending"] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert statuses == ["applied"]
        with engine.connect() as conn:
            assert conn.execute(sa.text("select wc_id from orders")).scalars().all() == [77]
    finally:
        engine.dispose()
