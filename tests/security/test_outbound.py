"""SSRF through the URLs a tenant chooses (the store URL, the alert webhook URL): the attacks of
the audit, performed against the live app and the real client (app/outbound.py).

Everywhere else the tests allow loopback (tests/conftest.py: the fakes live there); here the
guard is on, as in production, unless a test says otherwise."""

import json
import socket
import threading

import pytest
from sqlalchemy import select

from app import outbound
from app.alerts.service import deliver_alerts
from app.clock import SYSTEM
from app.commerce.woocommerce_api import Kind, WooCommerceClient, WooCommerceError
from app.config import Settings
from app.messaging.gateway import ConsoleGateway
from app.outbound import Failure, OutboundError
from app.stores.models import Store
from tests.campaigns.test_coupons import FIRST, PERSONAL, TEMPLATE, cart, connect, set_step
from tests.factories import store_settings
from tests.surveys.story import SurveyLink, alerts, open_survey_link
from tests.surveys.test_alerts import complain

LEAK = "db_password=hunter2"
HOLD = PERSONAL | {"on_failure": "hold"}  # a coupon that cannot be made holds its message


@pytest.fixture
def guarded():
    """The production rule for this test: public addresses only."""
    outbound.set_allow_private(False)
    try:
        yield
    finally:
        outbound.set_allow_private(True)


class Listener:
    """A TCP service on loopback that counts connections and answers each with `answer`, or,
    trickling, one byte of an endless body every few milliseconds until it is stopped."""

    def __init__(self, answer: bytes = b"", *, trickle: bool = False):
        self.answer, self.trickle = answer, trickle
        self.connections = 0
        self._stop = threading.Event()
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            worker = threading.Thread(target=self._answer, args=(conn,), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                if not self.trickle:
                    conn.sendall(self.answer)
                    return
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
                while not self._stop.wait(0.01):  # never done on its own
                    conn.sendall(b"1\r\n \r\n")
            except OSError:
                pass  # the client hung up: what the deadline is for

    def __enter__(self):
        thread = threading.Thread(target=self._serve, daemon=True)
        self._threads.append(thread)
        thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._socket.close()


def http_answer(status: str, body: str, content_type: str = "text/plain") -> bytes:
    data = body.encode()
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- saving: the URLs are checked ----------------------------------------------------------------

NOT_PUBLIC = ["http://169.254.169.254/latest/meta-data/", "http://2130706433/",
              "http://0x7f000001/", "http://0177.0.0.1/", "http://127.1/", "http://[::1]/",
              "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/", "http://0.0.0.0/",
              "http://[::]/", "http://10.0.0.5/", "http://192.168.1.1/", "http://100.64.0.1/",
              "http://224.0.0.1/", "http://localhost/", "http://redis:6379/",
              "http://db.internal/", "http://printer.local/"]


@pytest.mark.parametrize("host_url", NOT_PUBLIC)
def test_an_alert_webhook_or_store_url_on_a_non_public_host_is_refused_when_saved(
        guarded, api, factory, store, host_url):
    https = host_url.replace("http://", "https://")
    for field, url in (("alert_webhook_url", https), ("url", host_url)):
        response = api.patch("/api/v1/store", json={field: url})
        assert response.status_code == 422, (field, url, response.text)
        assert response.json()["error"]["code"] == "url_not_public", response.text
    with factory() as session:
        saved = session.get(Store, store.id)
        assert saved.alert_webhook_url is None and "127" not in saved.url


def test_a_fragment_or_query_cannot_cut_off_the_api_path_of_the_store_url(guarded, api):
    for url in ("https://shop.example/#", "https://shop.example/internal?x=",
                "https://shop.example/admin#/wp-json"):
        response = api.patch("/api/v1/store", json={"url": url})
        assert (response.status_code, response.json()["error"]["code"]) == (
            422, "url_has_query"), url
    # A WordPress in a subfolder is fine.
    assert api.patch("/api/v1/store", json={"url": "https://example.com/shop"}).status_code == 200


def test_credentials_in_a_url_and_plain_http_alert_webhooks_are_refused(guarded, api):
    for field, url, code in (("url", "https://admin:pw@shop.example", "url_has_credentials"),
                             ("alert_webhook_url", "https://u@hooks.example/x",
                              "url_has_credentials"),
                             ("alert_webhook_url", "http://hooks.example/x", "url_not_https")):
        response = api.patch("/api/v1/store", json={field: url})
        assert (response.status_code, response.json()["error"]["code"]) == (422, code), url


def test_the_development_setting_cannot_be_on_in_production():
    with pytest.raises(ValueError, match="OUTBOUND_ALLOW_PRIVATE"):
        Settings(outbound_allow_private=True, redis_url="redis://127.0.0.1:6379/0")
    assert Settings(redis_url="redis://127.0.0.1:6379/0").outbound_allow_private is False


# -- calling: checked again after DNS, whatever was saved ----------------------------------------

def test_a_loopback_store_url_is_never_called_and_its_answer_never_read_back(
        guarded, shop, api):
    """The audit's read-back: a store URL (saved before the rule) at a listener that answers
    with a secret; the coupon's failure reason, shown by GET /api/v1/messages, says nothing of
    it, and no connection was even made."""
    with Listener(http_answer("500 Internal Server Error", LEAK)) as listener:
        connect(shop, listener.url)
        set_step(shop, 1, HOLD, TEMPLATE)
        cart(shop, "ssrf-cart-001")
        shop.tick(FIRST)
        assert listener.connections == 0
    shown = api.get("/api/v1/messages").text
    assert "public internet host" in shown and "hunter2" not in shown


def test_a_foreign_answer_is_not_read_back_even_where_loopback_is_allowed(shop, api):
    """With the development setting (the guard lets loopback through), what answers is still
    never repeated: neither a 500's body nor a 200 that is not WooCommerce's JSON."""
    for status in ("500 Internal Server Error", "200 OK", "401 Unauthorized"):
        body = json.dumps({"code": "not a code! " + LEAK, "message": LEAK})
        with Listener(http_answer(status, body, "application/json")) as listener:
            connect(shop, listener.url)
            with WooCommerceClient(listener.url, "ck_x", "cs_y") as client:
                with pytest.raises(WooCommerceError) as caught:
                    client.find_coupon("x")
            assert listener.connections == 1
        assert "hunter2" not in str(caught.value) + repr(caught.value), status
        assert caught.value.code is None
    set_step(shop, 1, HOLD, TEMPLATE)
    with Listener(http_answer("403 Forbidden", LEAK)) as listener:
        connect(shop, listener.url)
        cart(shop, "ssrf-cart-002")
        shop.tick(FIRST)
        assert listener.connections >= 1
    shown = api.get("/api/v1/messages").text
    assert "403" in shown and "hunter2" not in shown


def test_ports_cannot_be_scanned_an_open_and_a_closed_one_fail_alike(guarded):
    with Listener(http_answer("200 OK", "{}", "application/json")) as listener:
        outcomes = []
        for port in (listener.port, closed_port()):
            with outbound.Client(deadline=2, max_body=1024) as client:
                with pytest.raises(OutboundError) as caught:
                    client.request("GET", f"http://127.0.0.1:{port}/")
            outcomes.append((caught.value.failure, caught.value.sent, str(caught.value)))
            # The store's client refuses the URL before it is made.
            with pytest.raises(ValueError) as refused:
                WooCommerceClient(f"http://127.0.0.1:{port}", "ck_x", "cs_y")
            outcomes.append(str(refused.value))
        assert listener.connections == 0  # refused before any connection
    assert outcomes[:2] == outcomes[2:]
    assert outcomes[0] == (Failure.REFUSED, False, str(OutboundError(Failure.REFUSED,
                                                                      sent=False)))


def test_a_name_that_resolves_to_loopback_is_refused_at_call_time(guarded):
    with Listener(http_answer("200 OK", "{}")) as listener:
        with outbound.Client(deadline=2, max_body=1024) as client:
            for url in (f"http://localhost:{listener.port}/",
                        f"http://2130706433:{listener.port}/",
                        f"http://0x7f000001:{listener.port}/",
                        f"http://[::ffff:127.0.0.1]:{listener.port}/"):
                with pytest.raises(OutboundError) as caught:
                    client.request("GET", url)
                assert (caught.value.failure, caught.value.sent) == (Failure.REFUSED, False)
        assert listener.connections == 0


@pytest.mark.parametrize("host", ["169.254.169.254", "2130706433", "[::1]", "0.0.0.0",
                                  "localhost", "[::ffff:7f00:1]"])
def test_an_alert_webhook_saved_on_a_private_address_is_not_posted(
        guarded, client, shop, factory, store, receiver, host):
    """A low survey rating makes bazgasht post the alert: not to an address behind it, whatever
    the URL's form (saved before the rule), and the error is the same for every form."""
    port = receiver.url.rsplit(":", 1)[1]
    store_settings(factory, store.id, alert_webhook_url=f"https://{host}:{port}/hooks")
    shop.product(11, name="چای سبز")
    survey: SurveyLink = open_survey_link(shop, client.base_url)
    complain(client, factory, survey)
    deliver_alerts(factory, ConsoleGateway(factory), SYSTEM.now())
    [alert] = alerts(factory)
    # Refused for good at once, in words that say nothing of what listens there.
    assert (alert.webhook_status, alert.webhook_response) == ("failed", None)
    assert "public" in alert.webhook_error and port not in alert.webhook_error
    assert receiver.requests == []


# -- one deadline, one size cap -----------------------------------------------------------------

def test_a_trickling_answer_is_cut_at_the_deadline():
    """Loopback allowed (the development setting) so the call reaches the trickler, which sends
    a byte every few ms for ever: the call ends with a deadline error all the same."""
    with Listener(trickle=True) as trickler:
        with outbound.Client(deadline=0.3, max_body=10**9) as client:
            with pytest.raises(OutboundError) as caught:
                client.request("GET", trickler.url)
        assert caught.value.failure is Failure.DEADLINE and caught.value.sent
        with WooCommerceClient(trickler.url, "ck_x", "cs_y", read_timeout=0.3) as store:
            with pytest.raises(WooCommerceError) as woo:
                store.find_coupon("x")
        assert woo.value.kind is Kind.RETRY and "deadline" in woo.value.message


def test_an_answer_over_the_cap_is_not_read():
    with Listener(http_answer("200 OK", "x" * 5000)) as listener:
        with outbound.Client(deadline=5, max_body=1000) as client:
            with pytest.raises(OutboundError) as caught:
                client.request("GET", listener.url)
    assert (caught.value.failure, caught.value.status) == (Failure.TOO_LARGE, 200)


def test_the_name_stays_in_the_host_header_when_the_address_is_pinned(receiver):
    port = receiver.url.rsplit(":", 1)[1]
    with outbound.Client(deadline=5, max_body=1000) as client:
        answer = client.request("POST", f"http://localhost:{port}/hooks", content=b"{}")
    assert answer.status == 200
    [got] = receiver.requests
    assert got.headers["Host"] == f"localhost:{port}"


def test_every_saved_store_and_webhook_url_is_what_was_checked(guarded, api, factory, store):
    assert api.patch("/api/v1/store", json={
        "url": "https://shop.example/blog", "alert_webhook_url": "https://hooks.example/b?t=1",
    }).status_code == 200
    with factory() as session:
        saved = session.scalars(select(Store).where(Store.id == store.id)).one()
    assert (saved.url, saved.alert_webhook_url) == ("https://shop.example/blog",
                                                    "https://hooks.example/b?t=1")
