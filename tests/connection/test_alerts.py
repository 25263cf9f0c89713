"""The merchant hears when the connection to their store breaks, when it is healed, and when
webhooks someone disabled or deleted at the store were put back; never for a blip, never twice
for one outage, never because an outsider sent forged deliveries."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.alerts.models import MerchantAlert
from app.alerts.service import deliver_alerts, sign_webhook
from app.connection.service import check_connections
from app.messaging.gateway import ConsoleGateway
from tests.campaigns.shop import tehran
from tests.connection.conftest import approve, store_row
from tests.factories import store_settings
from tests.helpers import ALL_DONE, deliver
from tests.surveys.story import console_sms

CONNECTED = tehran("2026-11-24T10:00")


@pytest.fixture
def connected(api, shop_at_woo, woo, factory, clock, receiver):
    """Store A connected in one click, its merchant listening by SMS and webhook."""
    clock.set(CONNECTED)
    approve(api)
    store_settings(factory, shop_at_woo.id, alert_phone="۰۹۱۲۰۰۰۱۱۱۱",
                   alert_webhook_url=f"{receiver.url}/hooks")
    return shop_at_woo


def _check_at(minutes: int, factory, clock, live_server) -> list[MerchantAlert]:
    """A round of the connections job `minutes` after the connect; the alerts it raised."""
    clock.set(CONNECTED + timedelta(minutes=minutes))
    with factory() as session:
        before = session.scalar(select(MerchantAlert.id).order_by(MerchantAlert.id.desc())) or 0
    assert check_connections(factory, clock.now(), public_url=live_server.url,
                             deadline=ALL_DONE) == 1
    with factory() as session:
        return list(session.scalars(select(MerchantAlert).where(MerchantAlert.id > before)))


def _deliver(factory, clock):
    return deliver_alerts(factory, ConsoleGateway(factory), clock.now(), deadline=ALL_DONE)


def test_revoked_keys_alert_once_and_the_reconnect_alerts_healed(connected, woo, factory, clock,
                                                                  live_server, receiver, api,
                                                                  anonymous):
    keys = woo.revoke_issued_keys()
    # The first failed check is not worth an SMS: it may be a blip.
    assert _check_at(15, factory, clock, live_server) == []
    assert store_row(factory, connected.id).connection_broken_at == clock.now()
    [broken] = _check_at(30, factory, clock, live_server)
    assert broken.kind == "connection.broken"
    assert broken.details["cause"] == "keys_refused"
    assert broken.details["broken_since"] == "2026-11-24T06:45:00+00:00"

    assert _deliver(factory, clock).sms_sent == 1
    [sms] = console_sms(factory)
    assert sms.receptor == "+989120001111"
    assert sms.text.startswith("بازگشت: ووکامرس فروشگاه چای‌خانه از ۱۴۰۵/۰۹/۰۳ ساعت ۱۰:۱۵")
    assert "«اتصال فروشگاه»" in sms.text
    [hook] = receiver.requests
    assert hook.headers["X-Bazgasht-Event"] == "connection.broken"
    assert hook.headers["X-Bazgasht-Signature"] == sign_webhook(hook.body,
                                                                connected.webhook_secret)
    payload = hook.json()
    assert payload["event"] == "connection.broken" and payload["cause"] == "keys_refused"
    # What the store answered is the store's business, not the payload's (its URL is the
    # merchant's choice): only the cause goes out.
    # No WooCommerce wording or status leaks (a port such as :40167 is not a status).
    assert "Consumer" not in hook.body.decode() and not re.search(r"\b401\b", hook.body.decode())

    # The API and the panel say so too.
    assert api.get("/api/v1/store/webhooks").json()["broken_since"] == "2026-11-24T06:45:00Z"
    anonymous.sign_in(connected)
    broken_box = anonymous.get("/panel/settings").text
    assert 'id="connection-broken"' in broken_box and "۱۴۰۵/۰۹/۰۳" in broken_box

    # Still broken later: the merchant was told already.
    assert _check_at(45, factory, clock, live_server) == []
    assert _check_at(60, factory, clock, live_server) == []

    woo.restore_keys(keys)
    [healed] = _check_at(75, factory, clock, live_server)
    assert healed.kind == "connection.healed"
    assert store_row(factory, connected.id).connection_broken_at is None
    _deliver(factory, clock)
    assert console_sms(factory)[-1].text.startswith(
        "بازگشت: اتصال فروشگاه چای‌خانه به ووکامرس دوباره برقرار شد")
    assert receiver.requests[-1].json()["event"] == "connection.healed"
    assert _check_at(90, factory, clock, live_server) == []
    assert api.get("/api/v1/store/webhooks").json()["broken_since"] is None
    assert 'id="connection-broken"' not in anonymous.get("/panel/settings").text


def test_a_blip_alerts_nobody(connected, woo, factory, clock, live_server):
    woo.fail_next("GET /webhooks", 503)
    assert _check_at(15, factory, clock, live_server) == []
    assert _check_at(30, factory, clock, live_server) == []
    assert store_row(factory, connected.id).connection_broken_at is None


def test_an_unreachable_store_is_told_as_such(connected, woo, factory, clock, live_server):
    woo.fail_next("GET /webhooks", 503, times=2)
    assert _check_at(15, factory, clock, live_server) == []
    [broken] = _check_at(30, factory, clock, live_server)
    assert broken.details["cause"] == "store_unreachable"
    _deliver(factory, clock)
    assert "پاسخ نمی‌دهد" in console_sms(factory)[-1].text


def test_webhooks_disabled_or_deleted_at_the_store_are_put_back_and_told(connected, woo, factory,
                                                                          clock, live_server):
    [disabled] = [w for w in woo.webhooks if w["topic"] == "order.updated"]
    [deleted] = [w for w in woo.webhooks if w["topic"] == "order.created"]
    woo.disable_webhook(disabled["id"])
    woo.delete_webhook_behind(deleted["id"])
    [repaired] = _check_at(15, factory, clock, live_server)
    assert repaired.kind == "connection.repaired"
    assert repaired.details == {"topics": ["order.created", "order.updated"]}
    _deliver(factory, clock)
    assert "(order.created، order.updated)" in console_sms(factory)[-1].text
    assert _check_at(30, factory, clock, live_server) == []


def test_forged_deliveries_reset_the_secret_but_cost_the_merchant_no_sms(
        connected, client, woo, factory, clock, live_server):
    clock.set(CONNECTED + timedelta(minutes=5))
    order = {"id": 5, "status": "pending"}
    assert deliver(client, connected, "order.updated", order, secret="guessed").status_code == 401
    live_server.app.state.rejection_recorder.flush()
    assert _check_at(6, factory, clock, live_server) == []


def test_a_store_without_alert_channels_keeps_the_record(api, shop_at_woo, woo, factory, clock,
                                                          live_server):
    clock.set(CONNECTED)
    approve(api)
    woo.revoke_issued_keys()
    _check_at(15, factory, clock, live_server)
    [broken] = _check_at(30, factory, clock, live_server)
    assert (broken.sms_status, broken.webhook_status, broken.next_attempt_at) == (
        "not_configured", "not_configured", None)
