"""A store switched from Kavenegar to SMS.ir mid-campaign: each remaining step goes out once,
through the new provider, and nothing the old one sent is sent again."""

from datetime import timedelta

import pytest

from app.messaging.fake_smsir import DEFAULT_LINE as SMSIR_LINE
from app.messaging.fake_smsir import FakeSmsIr
from app.messaging.gateway import Gateways
from tests.campaigns.shop import tehran
from tests.helpers import bearer

AT = tehran("2026-11-24T10:00")
DUE = tehran("2026-11-24T11:00")
SMSIR_KEY = "smsir-switch-key-0123456789"


@pytest.fixture
def smsir():
    with FakeSmsIr(api_key=SMSIR_KEY) as fake:
        yield fake


def test_a_store_switched_to_smsir_mid_campaign_sends_every_remaining_step_once(
        kshop, kavenegar, smsir):
    kshop.gateway = Gateways(kshop.factory, kavenegar_base_url=kavenegar.base_url,
                             base_urls={"smsir": f"{smsir.base_url}/v1"}, read_timeout=2)
    kshop.cart("switch-cart-0001", AT, phone="09121234567")
    kshop.tick(DUE)
    [first] = [m for m in kshop.messages() if m.status == "sent"]
    assert [m.localid for m in kavenegar.messages] == [first.id]

    switched = kshop.client.patch("/api/v1/store", headers=bearer(kshop.store), json={
        "sms_provider": "smsir", "sms_api_key": SMSIR_KEY, "sms_sender": SMSIR_LINE})
    assert switched.status_code == 200, switched.text
    for days in range(1, 15):  # the rest of the sequence, a tick a day
        kshop.tick(DUE + timedelta(days=days))

    messages = kshop.messages()
    later = [m for m in messages if m.id != first.id]
    assert later and {m.status for m in later} == {"sent"}
    assert len(kavenegar.messages) == 1  # nothing more through the old provider
    assert sorted(m.text for m in smsir.messages) == sorted(m.text for m in later)
    assert len(smsir.messages) == len(later)  # each remaining step once
    assert {m.mobile[-10:] for m in smsir.messages} == {"9121234567"}
    # The first one's delivery report is SMS.ir's to give no more than it is Kavenegar's to
    # forget: it is not asked of SMS.ir (which would call its id unknown, and it failed).
    asked = {c.path.rsplit("/", 1)[-1] for c in smsir.requests if "/send/" in c.path}
    assert first.gateway_id not in asked
    assert next(m for m in messages if m.id == first.id).status == "sent"
    assert {m.sent_via for m in messages} == {"kavenegar", "smsir"}


def test_switching_providers_needs_the_new_providers_key(kshop):
    refused = kshop.client.patch("/api/v1/store", headers=bearer(kshop.store),
                                 json={"sms_provider": "smsir"})
    assert refused.status_code == 422
    assert "sms_api_key is required for sms_provider smsir" in refused.text


def test_a_send_stalled_at_the_old_provider_is_not_asked_of_the_new_one(kshop, kavenegar,
                                                                         smsir):
    """Its worker died while Kavenegar had it, then the store moved to SMS.ir: nobody can say
    whether it went out, so it fails as unknown and is never sent again."""
    from sqlalchemy import update

    from app.campaigns.models import Message
    from app.db import unit_of_work

    kshop.gateway = Gateways(kshop.factory, kavenegar_base_url=kavenegar.base_url,
                             base_urls={"smsir": f"{smsir.base_url}/v1"}, read_timeout=2)
    kshop.cart("switch-cart-0002", AT, phone="09121234568")
    kshop.tick(DUE)
    second = next(m for m in kshop.messages() if m.status == "scheduled")
    with unit_of_work(kshop.factory) as session:  # handed to Kavenegar; its worker died
        session.execute(update(Message).where(Message.id == second.id).values(
            status="sending", claimed_at=DUE, sent_at=DUE, send_mode="text",
            sent_via="kavenegar", text="سلام"))
    switched = kshop.client.patch("/api/v1/store", headers=bearer(kshop.store), json={
        "sms_provider": "smsir", "sms_api_key": SMSIR_KEY, "sms_sender": SMSIR_LINE})
    assert switched.status_code == 200, switched.text
    kshop.tick(DUE + timedelta(minutes=20))
    stalled = next(m for m in kshop.messages() if m.id == second.id)
    assert (stalled.status, stalled.reason) == ("failed", "send_unknown")
    assert smsir.messages == [] and not [c for c in smsir.requests if "/send/" in c.path]
