"""A newcomer runs `bazgasht serve` with no configuration and connects a store to it."""

import re
import sys
import time

import httpx
import pytest
import sqlalchemy as sa

from tests.cli.conftest import BANNER_END, clean_env, free_port, running, serving
from tests.helpers import StoreCreds, deliver

URL = re.compile(r"https?://[^\s)»]+")


@pytest.fixture
def served(tmp_path):
    """`bazgasht serve` in an empty folder, with no configuration at all."""
    with serving(tmp_path, clean_env()) as (port, output):
        yield port, output, tmp_path


def printed_links(output: str) -> list[str]:
    """The URLs the output offers to open: not the value of an `export VAR=…` it suggests."""
    return [m.group() for m in URL.finditer(output) if output[m.start() - 1] != "="]


def test_serve_prints_where_to_look_and_a_demo_store(served):
    port, output, folder = served
    base = f"http://127.0.0.1:{port}"
    assert f"merchant panel: {base}/panel/login" in output
    assert "API key" not in output.partition("merchant panel:")[2].split("\n")[0]
    assert f"API docs:       {base}/docs" in output
    assert f"health check:   {base}/healthz" in output
    assert "database:       SQLite ./bazgasht.db" in output
    assert "Demo store «فروشگاه نمونه» created" in output
    assert "store id:       1\n" in output
    assert f"webhook URL:    {base}/webhooks/woocommerce/1" in output
    assert re.search(r"webhook secret: [A-Za-z0-9]{40}\n", output)
    assert re.search(r"API key:        bz_[A-Za-z0-9]+", output)
    assert re.search(rf"panel owner:    {base}/panel/join/[A-Za-z0-9_-]{{32}}\n", output)
    assert "sign-in codes:  the console gateway sends no SMS" in output
    # Another port than the default: the other commands need to be told.
    assert f"export BAZGASHT_PUBLIC_URL={base}\n" in output
    assert (folder / "bazgasht.db").exists()


def test_every_url_serve_prints_answers(served):
    port, output, _ = served
    links = printed_links(output)
    assert {f"http://127.0.0.1:{port}{path}" for path in ("/panel/login", "/docs", "/healthz")} \
        <= set(links)
    # Not the bare address (uvicorn's own "running on" line included): nothing answers at "/".
    assert "Uvicorn running on" not in output
    assert all(httpx.URL(link).path not in ("", "/") for link in links), links
    for link in links:
        if "/webhooks/" in link:  # WooCommerce POSTs there; a GET is refused by design
            continue
        assert httpx.get(link, timeout=10).status_code == 200, link


def test_links_made_by_the_served_process_use_its_address(served):
    """The demo store's reminder, as its campaign would send it: a Persian store name and a
    short link on the server's own port (not the default 8000)."""
    port, output, _ = served
    api_key = re.search(r"API key:        (bz_\w+)", output).group(1)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10,
                      headers={"Authorization": f"Bearer {api_key}"}) as api:
        campaigns = api.get("/api/v1/campaigns").json()["items"]
        [cart] = [c for c in campaigns if c["kind"] == "abandoned_cart"]
        step = cart["steps"][0]["id"]
        preview = api.post(f"/api/v1/campaigns/{cart['id']}/steps/{step}/preview")
    assert preview.status_code == 200, preview.text
    text = preview.json()["text"]
    assert "در فروشگاه نمونه منتظرته" in text and "Demo store" not in text
    assert f"http://127.0.0.1:{port}/SmpCart" in text


def test_the_public_url_when_set_is_what_serve_prints(tmp_path):
    env = clean_env(BAZGASHT_PUBLIC_URL="https://bz.example/")
    with serving(tmp_path, env) as (port, output):
        assert "merchant panel: https://bz.example/panel/login" in output
        assert "webhook URL:    https://bz.example/webhooks/woocommerce/1" in output
        assert f"listening on:   127.0.0.1:{port}" in output
        assert "export BAZGASHT_PUBLIC_URL" not in output


def test_deliveries_to_the_embedded_server_are_applied_in_the_background(served):
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


def test_a_newcomer_opens_the_printed_join_link_and_signs_in_with_the_logged_code(tmp_path):
    """No configuration at all: the link serve prints, a phone, the code from serve's own log
    (the console gateway sends no SMS), and the panel of the demo store opens."""
    port = free_port()
    with running([sys.executable, "-m", "app", "serve", "--port", str(port)], cwd=tmp_path,
                 env=clean_env()) as server:
        output = server.wait_for(BANNER_END)
        link = re.search(r"panel owner:    (\S+)", output)[1]
        csrf = re.compile(r'name="csrf" value="([^"]+)"')
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10,
                          follow_redirects=False) as http:
            form = http.get(link)
            assert form.status_code == 200 and "فروشگاه نمونه" in form.text
            asked = http.post(link, data={"csrf": csrf.search(form.text)[1],
                                          "phone": "۰۹۱۲ ۱۲۳ ۴۵۶۷", "name": "نگار"})
            assert asked.headers["location"] == "/panel/login/code"
            logged = server.wait_for("panel sign-in code for …4567")
            code = re.search(r"panel sign-in code for …4567: ([0-9]{6}) \(console gateway",
                             logged)[1]
            page = http.get("/panel/login/code")
            signed_in = http.post("/panel/login/code", data={"csrf": csrf.search(page.text)[1],
                                                              "code": code})
            assert signed_in.headers["location"] == "/panel"
            home = http.get("/panel")
            assert home.status_code == 200 and "فروشگاه نمونه" in home.text
            assert http.get(link).status_code == 404  # the link is used up
