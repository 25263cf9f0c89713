"""A new store's way to its first SMS on the panel's home page (the first-run checklist), the
health box that replaces it, and the banners every page shows while something is wrong."""

import re
from datetime import timedelta

import pytest

from app.db import unit_of_work
from app.ingest.models import WebhookRejection
from app.stores.models import Store
from tests.dashboard.conftest import Panel
from tests.helpers import create_store, deliver, live_kavenegar

KAVENEGAR_KEY = "6A2F4B7C9D0E1F2A3B4C5D6E7F8A9B0C1D2E3F4A5B6C"


@pytest.fixture
def new_store(factory):
    with unit_of_work(factory) as session:
        return create_store(session, name="گل‌فروشی تازه", url="https://shop.example")


@pytest.fixture
def newcomer(anonymous, new_store) -> Panel:
    anonymous.sign_in(new_store)
    return anonymous


def _item(html: str, key: str) -> str:
    found = re.search(rf'<li class="(done|todo)" id="check-{key}">', html)
    assert found, f"no checklist item {key}"
    return found[1]


def _done_count(html: str) -> str:
    return re.search(r'id="checklist-title">راه‌اندازی فروشگاه <small class="muted">(.+?)</small>',
                     html)[1]


def _first_step_url(html: str) -> str:
    return re.search(r'href="(/panel/campaigns/\d+/steps/\d+)#test-send" id="checklist-test-sms"',
                     html)[1]


def test_a_new_store_walks_the_checklist_to_its_first_sms(newcomer, new_store, client,
                                                         live_server, factory):
    home = newcomer.get("/panel").text
    assert [_item(home, key) for key in ("connect", "plugin", "gateway", "hours", "test_sms")] \
        == ["todo", "todo", "todo", "done", "todo"]
    assert _done_count(home) == "۱ از ۵"
    assert "id=\"checklist-connect\"" in home and 'href="/plugin/bazgasht.zip"' in home
    assert "از ۰۹:۰۰ تا ۲۱:۰۰، همهٔ روزهای هفته" in home
    assert 'id="health"' not in home

    # The one-click connect leaves for the store's own WooCommerce to approve the keys.
    leaving = newcomer.post("/panel/settings/connect")
    assert leaving.status_code == 303
    assert leaving.headers["location"].startswith("https://shop.example/wc-auth/v1/authorize?")

    # WooCommerce delivers (the store is connected), then the plugin's first cart.
    assert deliver(client, new_store, "order.created", {"id": 70}).status_code == 200
    home = newcomer.get("/panel").text
    assert _item(home, "connect") == "done" and _item(home, "plugin") == "todo"
    assert deliver(client, new_store, "bazgasht_cart.updated",
                   {"token": "t-1", "phone": "09121234567"}).status_code == 200
    home = newcomer.get("/panel").text
    assert _item(home, "plugin") == "done"
    assert _done_count(home) == "۳ از ۵"

    with live_kavenegar(live_server, KAVENEGAR_KEY) as fake:
        saved = newcomer.post("/panel/settings/gateway", {
            "sms_provider": "kavenegar", "sms_api_key": KAVENEGAR_KEY, "sms_sender": "10004346"})
        assert saved.status_code == 303, saved.text
        home = newcomer.get("/panel").text
        assert _item(home, "gateway") == "done" and "کاوه‌نگار" in home

        step = _first_step_url(home)
        sent = newcomer.post(f"{step}/test-send", {"phone": "۰۹۱۲ ۷۶۵ ۴۳۲۱"})
        assert sent.status_code == 303, sent.text
        assert [m.receptor for m in fake.messages] == ["+989127654321"]

    home = newcomer.get("/panel").text
    assert 'id="checklist"' not in home
    health = home[home.index('id="health"'):]
    assert "سفارش تازه" in health and "سبد خرید (افزونهٔ همراه)" in health
    assert health.count("هنوز نرسیده") == 7  # the other order and product topics
    assert "کاوه‌نگار" in health


def test_a_test_sms_that_the_gateway_refuses_leaves_the_step_undone(newcomer, new_store,
                                                                   live_server):
    with live_kavenegar(live_server, KAVENEGAR_KEY) as fake:
        newcomer.post("/panel/settings/gateway", {
            "sms_provider": "kavenegar", "sms_api_key": KAVENEGAR_KEY, "sms_sender": "10004346"})
        fake.fail_next("sms/send", 418)  # no credit
        step = _first_step_url(newcomer.get("/panel").text)
        newcomer.post(f"{step}/test-send", {"phone": "09127654321"})
    assert _item(newcomer.get("/panel").text, "test_sms") == "todo"


PAGES = ["/panel", "/panel/campaigns", "/panel/activity", "/panel/contacts",
         "/panel/retention", "/panel/settings"]


def _set(factory, store_id: int, **values) -> None:
    with unit_of_work(factory) as session:
        store = session.get(Store, store_id)
        for name, value in values.items():
            setattr(store, name, value)


def test_every_page_says_when_sending_is_paused(panel, seeded, factory, clock):
    for path in PAGES:
        assert 'class="banners"' not in panel.get(path).text, path
    _set(factory, seeded.store.id, sending_paused_at=clock.now(),
         sending_paused_reason="418: credit is not enough")
    for path in PAGES:
        html = panel.get(path).text
        assert 'id="banner-paused"' in html and "credit is not enough" in html, path
    _set(factory, seeded.store.id, sending_paused_at=None, sending_paused_reason=None)
    assert 'id="banner-paused"' not in panel.get("/panel").text


def test_a_broken_connection_is_on_every_page(panel, seeded, factory, clock):
    _set(factory, seeded.store.id, connection_broken_at=clock.now() - timedelta(hours=2))
    for path in PAGES:
        html = panel.get(path).text
        assert 'id="banner-connection"' in html and 'href="/panel/settings#connect"' in html, path


def test_deliveries_refused_for_their_signature_show_for_a_day(panel, seeded, factory, clock):
    now = clock.now()
    with unit_of_work(factory) as session:
        session.add(WebhookRejection(store_id=seeded.store.id, cause="bad_signature",
                                     topic="order.updated", count=3,
                                     first_at=now - timedelta(hours=5),
                                     last_at=now - timedelta(hours=1)))
    html = panel.get("/panel/campaigns").text
    assert 'id="banner-connection"' in html and 'href="/panel/settings#webhook"' in html
    clock.set(now + timedelta(days=1))
    assert 'id="banner-connection"' not in panel.get("/panel/campaigns").text


def test_a_low_prepaid_balance_is_on_every_page(panel, seeded, factory):
    _set(factory, seeded.store.id, sms_provider="platform", balance=150_000,
         low_balance_threshold=200_000)
    for path in PAGES:
        assert 'id="banner-low-balance"' in panel.get(path).text, path
    _set(factory, seeded.store.id, balance=250_000)
    assert 'id="banner-low-balance"' not in panel.get("/panel").text


def test_another_stores_trouble_is_not_shown(panel, other_store, factory, clock):
    _set(factory, other_store.id, sending_paused_at=clock.now(),
         connection_broken_at=clock.now())
    assert 'class="banners"' not in panel.get("/panel").text
