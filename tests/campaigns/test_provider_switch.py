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


def test_switching_providers_needs_the_new_providers_key(kshop):
    refused = kshop.client.patch("/api/v1/store", headers=bearer(kshop.store),
                                 json={"sms_provider": "smsir"})
    assert refused.status_code == 422
    assert "sms_api_key is required for sms_provider smsir" in refused.text
