"""Finding 7: a pay-as-you-go store's merchant alerts went out from the platform's account
unbilled, to a phone and (through survey answers) with a text the merchant chose; and a survey
link opened for a message that never went out. Now an alert SMS is charged like a campaign
SMS and refused when the balance does not cover it, its echoed comment carries no link, and a
survey opens only for a message that was sent."""

from sqlalchemy import select

from app.alerts.service import deliver_alerts
from app.billing.models import LedgerEntry
from app.messaging.segments import count_segments
from app.stores.models import Store
from app.surveys.service import survey_url
from tests.factories import store_settings
from tests.security.conftest import PLATFORM_LINE, PRICE, on_platform
from tests.surveys.story import COMPLETED, alerts, answers, open_survey_link

PHISHING = "قوری شکسته بود؛ جایزه: https://evil.example/win و bit.ly/xyz بزنید ۰۹۱۲۳۳۳۴۴۴۴"


def platform_shop(shop, admin_client, factory, platform, *, balance: int = 100_000):
    fake, gateways = platform
    on_platform(shop, admin_client, balance=balance)
    shop.gateway = gateways
    shop.product(11, name="چای سبز")
    store_settings(factory, shop.store.id, alert_phone="09120001111")
    return fake, gateways


def complain(client, survey, comment=PHISHING):
    response = client.post(survey.path, data={"rating": "1", "comment": comment})
    assert response.status_code == 200, response.text


def ledger(factory) -> list[LedgerEntry]:
    with factory() as session:
        return list(session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)))


def balance(factory) -> int:
    with factory() as session:
        return session.scalar(select(Store.balance))


def test_an_alert_sms_on_the_platforms_account_is_charged_once(shop, client, admin_client,
                                                               factory, clock, platform):
    fake, gateways = platform_shop(shop, admin_client, factory, platform)
    survey = open_survey_link(shop, client.base_url)
    complain(client, survey)
    before = balance(factory)

    report = deliver_alerts(factory, gateways, clock.now())
    deliver_alerts(factory, gateways, clock.now())  # nothing left to send, nothing charged

    assert report.sms_sent == 1
    [*_, sms] = fake.messages
    assert sms.sender == PLATFORM_LINE and sms.receptor.endswith("9120001111")
    parts = count_segments(sms.message).parts
    [alert] = alerts(factory)
    charges = [e for e in ledger(factory) if e.alert_id is not None]
    assert [(e.kind, e.alert_id, e.amount, e.parts) for e in charges] == [
        ("charge", alert.id, -PRICE * parts, parts)]
    assert balance(factory) == before - PRICE * parts


def test_the_echoed_comment_carries_no_link_and_no_phone_number(shop, client, admin_client,
                                                                factory, clock, platform):
    fake, gateways = platform_shop(shop, admin_client, factory, platform)
    complain(client, open_survey_link(shop, client.base_url))
    deliver_alerts(factory, gateways, clock.now())
    [*_, sms] = fake.messages
    assert "قوری شکسته بود" in sms.message  # the customer's words reach the merchant
    for spam in ("http", "evil", "bit.ly", "xyz", "۰۹۱۲۳۳۳۴۴۴۴", "09123334444"):
        assert spam not in sms.message


def test_an_alert_the_balance_does_not_cover_is_not_sent(shop, client, admin_client, factory,
                                                         clock, platform):
    fake, gateways = platform_shop(shop, admin_client, factory, platform)
    survey = open_survey_link(shop, client.base_url)
    # The balance left no longer pays for a single part.
    answer = admin_client.put(f"/platform/v1/stores/{shop.store.id}/sms-gateway",
                              json={"provider": "platform", "price_per_part": 10**7})
    assert answer.status_code == 200, answer.text
    sent_before, entries_before = len(fake.messages), len(ledger(factory))
    complain(client, survey)

    report = deliver_alerts(factory, gateways, clock.now())

    assert report.sms_sent == 0 and len(fake.messages) == sent_before
    [alert] = alerts(factory)
    assert alert.sms_status == "failed" and "balance" in alert.sms_error
    assert len(ledger(factory)) == entries_before


def test_a_survey_link_of_a_message_not_sent_opens_nothing(shop, client, factory):
    """The token is the message id signed: one of a message still scheduled (or held, or
    failed) reached nobody, so it must not take answers (nor raise alerts)."""
    shop.product(11, name="چای سبز")
    shop.order(1234, COMPLETED, status="completed")
    shop.tick(COMPLETED.replace(minute=5))
    [message] = shop.messages("post_purchase_survey")
    assert message.status == "scheduled"
    with factory() as session:
        path = survey_url("", session.get(Store, shop.store.id), message.id)

    opened = client.get(path)
    answered = client.post(path, data={"rating": "1", "comment": PHISHING})

    assert opened.status_code == 404 and answered.status_code == 404
    assert answers(factory) == [] and alerts(factory) == []
