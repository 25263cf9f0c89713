"""The plugin's storefront script in a real browser (Debian's Chromium), against the plugin's own
capture endpoint on PHP's built-in server: what a shopper types at a classic checkout reaches the
server once per pause, Persian digits and all, and the consent box's answer with it."""

import json
import socket
import subprocess
from contextlib import closing

import pytest

from tests.dashboard.conftest import browser  # noqa: F401 (the session's Chromium)
from tests.plugin.php import PLUGIN, require

ENDPOINT = "wc-ajax=bazgasht_capture"


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


@pytest.fixture
def storefront(tmp_path):
    """`php -S` serving plugin/tests/storefront/router.php; its capture log; ended afterwards."""
    php = require("php")
    log = tmp_path / "capture.jsonl"
    log.touch()
    port = _free_port()
    server = subprocess.Popen(
        [php, "-S", f"127.0.0.1:{port}", str(PLUGIN / "tests" / "storefront" / "router.php")],
        env={"BAZGASHT_STOREFRONT_LOG": str(log), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(200):  # up to ~10 s for the server to listen
            if server.poll() is not None or _answers(port):
                break
            subprocess.run(["sleep", "0.05"], check=True)
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
        yield f"http://127.0.0.1:{port}", log
    finally:
        server.terminate()
        server.wait(timeout=10)


def lines(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_shopper_typing_at_checkout_reaches_the_plugin_once_per_pause(browser, storefront):  # noqa: F811
    base, log = storefront
    page = browser.new_page()
    try:
        page.clock.install()
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
