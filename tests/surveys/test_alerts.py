"""A customer rates an order badly; the merchant hears of it by SMS and webhook, later, surely."""

import socket
import threading
from datetime import timedelta

import pytest

from app.alerts.models import MerchantAlert
from app.alerts.service import (
    ALERT_LOCALID_BASE,
    ALERT_MAX_ROUNDS,
    deliver_alerts,
    sign_webhook,
)
from app.clock import SYSTEM
from app.messaging.fake_kavenegar import FakeKavenegar
from app.messaging.gateway import ConsoleGateway, Gateways
from app.outbound import Failure, OutboundError
from tests.factories import store_settings, use_kavenegar
from tests.helpers import StoreCreds
from tests.surveys.story import alerts, console_sms, count, open_survey_link


def set_alerts(factory, store_id: int, *, phone=None, webhook_url=None) -> None:
    store_settings(factory, store_id, alert_phone=phone, alert_webhook_url=webhook_url)


def complain(client, factory, survey, rating="1", comment="دیر رسید و قوری شکسته بود"):
    """The customer gives a low rating; returns the alert it raised."""
    response = client.post(survey.path, data={"rating": rating, "comment": comment})
    assert response.status_code == 200
    assert "متأسفیم" in response.text and "#reviews" not in response.text
    [alert] = alerts(factory)
    return alert


@pytest.fixture
def merchant(factory, receiver, store: StoreCreds):
    """A merchant who set an alert phone (typed in Persian digits) and a webhook URL."""
    set_alerts(factory, store.id, phone="۰۹۱۲ ۰۰۰ ۱۱۱۱", webhook_url=f"{receiver.url}/hooks/bazgasht?t=1")
    return store


def test_a_low_rating_reaches_the_merchant_by_sms_and_webhook(client, survey, factory, receiver,
                                                              merchant):
    before = len(console_sms(factory))  # the survey SMS itself
    alert = complain(client, factory, survey)
    assert (alert.sms_status, alert.webhook_status) == ("pending", "pending")
    # Nothing left with the customer's request: it waits for the scheduler.
    assert len(console_sms(factory)) == before and receiver.requests == []

    now = SYSTEM.now()
    report = deliver_alerts(factory, ConsoleGateway(factory), now)
    assert (report.claimed, report.sms_sent, report.webhooks_sent) == (1, 1, 1)

    [*_, sms] = console_sms(factory)
    assert sms.receptor == "+989120001111"
    assert sms.localid == str(ALERT_LOCALID_BASE + alert.id)
    assert sms.text.startswith("چای‌خانه: امتیاز ۱ از ۵ برای سفارش ۱۲۳۴")
    assert "علی 09123456789" in sms.text and "«دیر رسید و قوری شکسته بود»" in sms.text

    [hook] = receiver.requests
    assert hook.path == "/hooks/bazgasht?t=1"
    assert hook.headers["Content-Type"] == "application/json; charset=utf-8"
    assert hook.headers["X-Bazgasht-Event"] == "survey.low_rating"
    assert hook.headers["X-Bazgasht-Delivery"] == str(alert.id)
    assert hook.headers["X-Bazgasht-Signature"] == sign_webhook(hook.body, merchant.webhook_secret)
    body = hook.json()
    assert body["rating"] == 1 and body["comment"] == "دیر رسید و قوری شکسته بود"
    assert body["order"] == {"id": 1234, "number": "1234"}
    assert body["customer"]["phone"] == "+989123456789"
    assert body["store"]["id"] == merchant.id

    [done] = alerts(factory)
    assert (done.sms_status, done.webhook_status) == ("sent", "sent")
    assert done.sms_gateway_id and done.sms_sent_at == now and done.webhook_response == 200
    assert done.next_attempt_at is None

    later = deliver_alerts(factory, ConsoleGateway(factory), now + timedelta(hours=1))
    assert later.claimed == 0
    assert len(console_sms(factory)) == before + 1 and len(receiver.requests) == 1


def test_a_failing_webhook_is_retried_later_and_the_sms_is_not_repeated(client, survey, factory,
                                                                        receiver, merchant):
    alert = complain(client, factory, survey, rating="2", comment="")
    receiver.script = [503]
    now = SYSTEM.now()
    first = deliver_alerts(factory, ConsoleGateway(factory), now)
    assert (first.sms_sent, first.webhooks_sent, first.retrying) == (1, 0, 1)
    [waiting] = alerts(factory)
    assert (waiting.sms_status, waiting.webhook_status) == ("sent", "pending")
    assert (waiting.webhook_response, waiting.webhook_error) == (503, "HTTP 503")
    assert waiting.next_attempt_at == now + timedelta(minutes=1)

    assert deliver_alerts(factory, ConsoleGateway(factory), now).claimed == 0  # not due yet
    sms_count = len(console_sms(factory))

    second = deliver_alerts(factory, ConsoleGateway(factory), now + timedelta(minutes=1))
    assert (second.claimed, second.sms_sent, second.webhooks_sent) == (1, 0, 1)
    assert len(console_sms(factory)) == sms_count
    assert [r.headers["X-Bazgasht-Delivery"] for r in receiver.requests] == [str(alert.id)] * 2
    assert receiver.requests[0].body == receiver.requests[1].body
    [done] = alerts(factory)
    assert (done.webhook_status, done.attempts, done.next_attempt_at) == ("sent", 2, None)


def test_an_unreachable_webhook_is_given_up_after_the_last_round_with_the_reason(
        client, survey, factory, merchant):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    set_alerts(factory, merchant.id, webhook_url=f"http://127.0.0.1:{closed}/hook")
    complain(client, factory, survey)
    at = SYSTEM.now()
    for round_ in range(1, ALERT_MAX_ROUNDS + 1):
        report = deliver_alerts(factory, ConsoleGateway(factory), at)
        assert report.claimed == 1
        [alert] = alerts(factory)
        assert alert.attempts == round_ and alert.webhook_error == str(
            OutboundError(Failure.UNREACHABLE, sent=False))
        if alert.next_attempt_at is None:
            break
        assert alert.next_attempt_at > at
        at = alert.next_attempt_at
    assert (alert.webhook_status, alert.attempts) == ("failed", ALERT_MAX_ROUNDS)
    assert alert.sms_status == "not_configured"
    # Retried for hours, not seconds: the backoff grew to an hour between the last rounds.
    assert at - alerts(factory)[0].created_at > timedelta(hours=4)


def test_without_alert_settings_the_alert_is_recorded_and_nothing_is_sent(client, survey,
                                                                         factory):
    before = len(console_sms(factory))
    alert = complain(client, factory, survey)
    assert (alert.sms_status, alert.webhook_status) == ("not_configured", "not_configured")
    assert alert.next_attempt_at is None
    assert deliver_alerts(factory, ConsoleGateway(factory), SYSTEM.now()).claimed == 0
    assert len(console_sms(factory)) == before


def test_two_deliverers_at_once_tell_the_merchant_once(client, survey, factory, receiver,
                                                       merchant):
    alert = complain(client, factory, survey)
    now, barrier, reports = SYSTEM.now(), threading.Barrier(2), []

    def run():
        barrier.wait()
        reports.append(deliver_alerts(factory, ConsoleGateway(factory), now))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.claimed for r in reports) == [0, 1]
    assert len(receiver.requests) == 1
    assert [s.localid for s in console_sms(factory)].count(str(ALERT_LOCALID_BASE + alert.id)) == 1
    assert count(factory, MerchantAlert) == 1 and alerts(factory)[0].sms_status == "sent"


KEY = "kavenegar-test-key-0123"


def test_through_kavenegar_the_alert_has_a_localid_no_campaign_message_can_have(
        shop, client, factory, merchant):
    """Kavenegar answers a known localid with the earlier message instead of sending: an alert
    reusing a message's id would vanish. Alerts use their own range, and a retry asks first."""
    with FakeKavenegar(api_key=KEY) as kavenegar:
        use_kavenegar(factory, shop.store.id, KEY)
        store_settings(factory, shop.store.id, alert_webhook_url=None)
        gateways = Gateways(factory, kavenegar_base_url=kavenegar.base_url, read_timeout=5)
        shop.gateway = gateways
        survey = open_survey_link(shop, client.base_url)
        [survey_sms] = kavenegar.messages
        assert survey_sms.localid == survey.message_id

        alert = complain(client, factory, survey)
        kavenegar.fail_next("sms/send", 409)  # busy: try again later
        now = SYSTEM.now()
        assert deliver_alerts(factory, gateways, now).retrying == 1
        assert alerts(factory)[0].sms_error.startswith("Kavenegar 409")
        deliver_alerts(factory, gateways, now + timedelta(minutes=1))

        localid = ALERT_LOCALID_BASE + alert.id
        assert kavenegar.sends_with_localid(localid) == 1
        [_, alert_sms] = kavenegar.messages
        assert alert_sms.localid == localid and alert_sms.receptor == "+989120001111"
        assert "امتیاز ۱ از ۵" in alert_sms.message
        [done] = alerts(factory)
        assert done.sms_status == "sent" and done.sms_gateway_id == str(alert_sms.messageid)
        assert len(kavenegar.calls("sms/statuslocalmessageid")) == 1  # asked before resending
