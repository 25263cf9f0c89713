"""A store sending through Kavenegar (the fake, over real HTTP): errors, pauses, reports, replies."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.campaigns.models import Message
from app.contacts.models import Contact
from app.db import unit_of_work
from app.messaging.fake_kavenegar import DEFAULT_LINE, FakeKavenegar
from app.messaging.gateway import Gateways
from app.messaging.models import InboundSms
from app.stores.models import Store
from tests.campaigns.shop import tehran

KEY = "kavenegar-test-key-0123"
AT = tehran("2026-11-24T10:00")  # carts abandoned; first step due an hour later
DUE = tehran("2026-11-24T11:00")


@pytest.fixture
def kavenegar():
    with FakeKavenegar(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def kshop(shop, kavenegar):
    """The shop, switched to Kavenegar, with short timeouts so a slow answer is a timeout."""
    with unit_of_work(shop.factory) as session:
        session.execute(update(Store).values(sms_provider="kavenegar", sms_api_key=KEY,
                                             sms_sender=DEFAULT_LINE))
    shop.gateway = Gateways(shop.factory, kavenegar_base_url=kavenegar.base_url, read_timeout=0.5)
    return shop


def test_messages_go_out_through_kavenegar_with_localid_cost_and_line(kshop, kavenegar):
    kshop.cart("kv-cart-000001", AT)
    kshop.tick(DUE)
    [sent] = kavenegar.messages
    first = kshop.messages()[0]
    assert sent.receptor == "+989123456789" and sent.sender == DEFAULT_LINE
    assert sent.localid == first.id and sent.message == first.text
    assert first.status == "sent" and first.gateway_id == str(sent.messageid)
    assert first.cost == sent.cost and first.cost > 0 and first.parts == 2


def test_a_transient_error_retries_later_without_losing_the_message(kshop, kavenegar):
    kshop.cart("kv-cart-000002", AT)
    kavenegar.fail_next("sms/send", 409)
    kshop.tick(DUE)
    first = kshop.messages()[0]
    assert first.status == "scheduled" and "409" in first.reason
    assert first.due_at == DUE + timedelta(minutes=2)  # backoff after the first attempt
    kshop.tick(DUE + timedelta(minutes=2))
    assert kshop.messages()[0].status == "sent"
    assert kavenegar.sends_with_localid(first.id) == 1


def test_an_invalid_number_fails_that_message_only(kshop, kavenegar):
    kshop.cart("kv-cart-000003", AT)
    kshop.cart("kv-cart-000004", AT, phone="09351234567")
    kavenegar.fail_next("sms/send", 411, receptor="+989123456789")
    kshop.tick(DUE)
    with kshop.factory() as session:
        phones = dict(session.execute(select(Contact.id, Contact.phone)).all())
    firsts = {phones[m.contact_id]: m for m in kshop.messages() if m.due_at == DUE}
    refused, fine = firsts["+989123456789"], firsts["+989351234567"]
    assert refused.status == "failed" and "411" in refused.reason
    assert fine.status == "sent"
    kshop.tick(DUE + timedelta(hours=1))
    assert len(kavenegar.messages) == 1  # the failed one is not retried


def test_no_credit_pauses_the_store_and_resumes_with_nothing_lost(kshop, kavenegar):
    for i in range(3):
        kshop.cart(f"kv-credit-{i:04d}", AT, phone=f"0912000{i:04d}")
    kavenegar.credit = 0
    kshop.tick(DUE)
    rows = kshop.messages()
    firsts = [m for m in rows if m.due_at <= DUE or m.status == "held"]
    assert {m.status for m in firsts} == {"held"}
    with kshop.factory() as session:
        store = session.scalar(select(Store))
        assert store.sending_paused_at is not None and "418" in store.sending_paused_reason
    assert kavenegar.messages == []
    kshop.tick(DUE + timedelta(minutes=1))  # still no credit, not rechecked yet: nothing moves
    assert kavenegar.messages == []
    kavenegar.credit = 10_000_000  # the merchant tops up
    kshop.tick(DUE + timedelta(minutes=6))  # the paused store is rechecked, resumed and sends
    with kshop.factory() as session:
        assert session.scalar(select(Store.sending_paused_at)) is None
    assert len(kavenegar.messages) == 3
    assert all(kavenegar.sends_with_localid(m.localid) == 1 for m in kavenegar.messages)


def test_a_send_that_timed_out_but_went_through_is_not_sent_again(kshop, kavenegar):
    kshop.cart("kv-cart-000005", AT)
    kavenegar.delay("sms/send", 2.0)  # longer than the client's 0.5 s read timeout
    kshop.tick(DUE)
    kavenegar.delay("sms/send", 0)
    first = kshop.messages()[0]
    assert first.status == "sent" and first.reason == "confirmed after a lost answer"
    kshop.tick(DUE + timedelta(minutes=30))
    assert kavenegar.sends_with_localid(first.id) == 1 and len(kavenegar.messages) == 1


def test_delivery_reports_update_messages_and_blocked_receivers_get_no_more_ads(kshop, kavenegar):
    kshop.cart("kv-cart-000006", AT)
    kshop.cart("kv-cart-000007", AT, phone="09351234567")
    kavenegar.set_outcome(10)
    kavenegar.set_outcome(14, receptor="+989351234567")
    kshop.tick(DUE)
    kshop.tick(DUE + timedelta(minutes=6))  # reports are polled every 5 minutes
    firsts = {m.contact_id: m for m in kshop.messages() if m.due_at <= DUE}
    with kshop.factory() as session:
        contacts = {c.phone: c for c in session.scalars(select(Contact))}
    delivered = firsts[contacts["+989123456789"].id]
    blocked = firsts[contacts["+989351234567"].id]
    assert (delivered.status, delivered.delivery_status) == ("delivered", 10)
    assert (blocked.status, blocked.delivery_status) == ("failed", 14)
    assert contacts["+989351234567"].promo_blocked_at is not None
    kshop.tick(tehran("2026-11-25T11:00"))  # step 2 (promotional) for both
    second = [m for m in kshop.messages()
              if m.contact_id == contacts["+989351234567"].id and m.due_at > DUE][0]
    assert (second.status, second.reason) == ("skipped", "the receiver blocks advertising SMS")


@pytest.mark.parametrize("reply", ["۱۱", "11", "لغو", "STOP", " لغو ۱۱ "])
def test_a_reply_of_eleven_opts_out_and_the_next_message_is_skipped(kshop, kavenegar, reply):
    kshop.cart("kv-cart-000008", AT)
    kshop.tick(DUE)
    kavenegar.push_inbound("09123456789", reply)
    kshop.tick(tehran("2026-11-25T11:00"))
    with kshop.factory() as session:
        contact = session.scalar(select(Contact))
        [inbound] = session.scalars(select(InboundSms)).all()
    assert contact.opted_out_at is not None and contact.opt_out_source == "sms reply"
    assert (inbound.action, inbound.text) == ("opt_out", reply)
    second = kshop.messages()[1]
    assert (second.status, second.reason) == ("skipped", "opted out")
    assert len(kavenegar.messages) == 1


def test_a_reply_of_twelve_opts_back_in(kshop, kavenegar):
    kshop.cart("kv-cart-000009", AT)
    kavenegar.push_inbound("09123456789", "۱۱")
    kshop.tick(tehran("2026-11-24T10:30"))
    kavenegar.push_inbound("09123456789", "۱۲")
    kshop.tick(DUE)
    with kshop.factory() as session:
        assert session.scalar(select(Contact.opted_out_at)) is None
    assert len(kavenegar.messages) == 1
