"""The plugin on a storefront served by PHP's built-in server (WordPress and WooCommerce stubbed):
its script in a real browser (Debian's Chromium) sends what a shopper types at a classic checkout
once per pause, Persian digits and all, with the consent box's answer; and a reminder's link from
bazgasht, followed as a phone would, rebuilds the cart on the store."""

import json
import socket
import subprocess
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.plugin.php import PLUGIN, require

ENDPOINT = "wc-ajax=bazgasht_capture"
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with closing(socket.create_connection(("127.0.0.1", port), timeout=0.2)):
            return True
    except OSError:
        return False


@contextmanager
def serve_storefront(log: Path, **env: str):
    """`php -S` serving plugin/tests/storefront/router.php, writing to `log`; ended afterwards."""
    php = require("php")
    log.touch()
    port = _free_port()
    server = subprocess.Popen(
        [php, "-S", f"127.0.0.1:{port}", str(PLUGIN / "tests" / "storefront" / "router.php")],
        env={"BAZGASHT_STOREFRONT_LOG": str(log), "PATH": "/usr/bin:/bin"} | env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(200):  # up to ~10 s for the server to listen
            if server.poll() is not None or _answers(port):
                break
            subprocess.run(["sleep", "0.05"], check=True)
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def storefront(tmp_path):
    log = tmp_path / "storefront.jsonl"
    with serve_storefront(log) as base:
        yield base, log


def lines(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_shopper_typing_at_checkout_reaches_the_plugin_once_per_pause(browser, storefront):
    base, log = storefront
    page = browser.new_page()
    try:
        # Time stands still unless the test moves it: no keystroke races the 600 ms pause.
        page.clock.install(time=START)
        page.clock.pause_at(START + timedelta(seconds=1))
        # The checkout has the phone field: the script says once that a person is here.
        with page.expect_request_finished(lambda r: ENDPOINT in r.url):
            page.goto(f"{base}/checkout")
        [ping] = lines(log)
        assert (ping["post"], ping["human"], ping["status"]) == ({"ping": "1"}, True, 200)

        # Typed in Persian digits, with spaces; the name too. Nothing is sent while typing...
        page.fill("#billing_phone", "۰۹۱۲ ۳۴۵ ۶۷۸۹")
        page.fill("#billing_first_name", "سارا")
        page.clock.run_for(599)
        assert len(lines(log)) == 1
        # ...and once, with everything, when the shopper pauses.
        with page.expect_request_finished(lambda r: ENDPOINT in r.url):
            page.clock.run_for(1)
        typed = lines(log)[1]
        assert typed["post"] == {"phone": "۰۹۱۲ ۳۴۵ ۶۷۸۹", "email": "", "first_name": "سارا",
                                 "last_name": "", "consent": "1"}
        assert typed["contact"]["phone"] == "09123456789"
        assert typed["contact"]["first_name"] == "سارا" and typed["consent"] is True

        # Unticking the SMS box is sent too, and the plugin takes it as a no.
        with page.expect_request_finished(lambda r: ENDPOINT in r.url):
            page.uncheck("#bazgasht_sms_consent")
            page.clock.run_for(600)
        declined = lines(log)[2]
        assert declined["post"]["consent"] == "0" and declined["consent"] is False

        # A second page in the same browser session does not say hello again.
        page.goto(f"{base}/checkout")
        page.fill("#billing_email", "sara@example.com")
        with page.expect_request_finished(lambda r: ENDPOINT in r.url):
            page.clock.run_for(600)
        assert [line["post"].get("ping") for line in lines(log)] == ["1", None, None, None]
        assert lines(log)[3]["contact"]["email"] == "sara@example.com"
    finally:
        page.close()


def test_a_reminder_link_rebuilds_the_cart_on_the_store(shop, client, store, tmp_path):
    from tests.campaigns.shop import tehran

    shop.cart("story-cart-restore-01", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:05"))
    [sms] = shop.sms()
    tap = client.get(f"/{shop.link(sms.text).code}", headers={"User-Agent": "Mozilla/5.0 (Linux)"})
    assert tap.status_code == 302
    store_page = tap.headers["location"]
    assert store_page.startswith("https://shop.example/?")

    log = tmp_path / "storefront.jsonl"
    now = str(int(tehran("2026-11-25T09:00").timestamp()))  # the next morning
    with serve_storefront(log, BAZGASHT_STOREFRONT_SECRET=store.webhook_secret,
                          BAZGASHT_STOREFRONT_NOW=now) as base:
        # The store's address, as the phone's browser resolves it: this storefront.
        landed = httpx.get(store_page.replace("https://shop.example", base), timeout=10)
    assert landed.status_code == 303
    assert landed.headers["location"].startswith(f"{base}/checkout/?")
    assert "utm_source=sms" in landed.headers["location"]
    assert "no-store" in landed.headers["cache-control"]
    [restored] = lines(log)
    assert (restored["outcome"], restored["cart"], restored["token"]) == (
        "restored", [[11, 0, 2]], "story-cart-restore-01")
    assert restored["notices"][0][1] == "success"


def test_a_month_old_link_restores_nothing(shop, client, store, tmp_path):
    from tests.campaigns.shop import tehran

    shop.cart("story-cart-restore-02", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:05"))
    [sms] = shop.sms()
    store_page = client.get(f"/{shop.link(sms.text).code}").headers["location"]

    log = tmp_path / "storefront.jsonl"
    now = str(int(tehran("2026-12-25T09:00").timestamp()))  # past the token's 30 days
    with serve_storefront(log, BAZGASHT_STOREFRONT_SECRET=store.webhook_secret,
                          BAZGASHT_STOREFRONT_NOW=now) as base:
        landed = httpx.get(store_page.replace("https://shop.example", base), timeout=10)
    assert landed.status_code == 303 and landed.headers["location"].startswith(f"{base}/cart/")
    [expired] = lines(log)
    assert (expired["outcome"], expired["cart"], expired["notices"][0][1]) == (
        "invalid", [], "error")
