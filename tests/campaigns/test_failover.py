"""A second provider: while the first refuses for now, answering that it did nothing (or cannot
be reached at all), the second carries the campaign; a message the first may have sent never
goes to the second."""

import socket
from datetime import timedelta

import pytest

from app.messaging.fake_smsir import DEFAULT_LINE as SMSIR_LINE
from app.messaging.fake_smsir import FakeSmsIr
from app.messaging.gateway import Gateways
from tests.campaigns.shop import tehran
from tests.helpers import bearer

AT = tehran("2026-11-24T10:00")
DUE = tehran("2026-11-24T11:00")
SMSIR_KEY = "smsir-fallback-key-0123456789"


@pytest.fixture
def smsir():
    with FakeSmsIr(api_key=SMSIR_KEY) as fake:
        yield fake


def name_fallback(kshop) -> None:
    answer = kshop.client.patch("/api/v1/store", headers=bearer(kshop.store), json={
        "sms_fallback_provider": "smsir", "sms_fallback_api_key": SMSIR_KEY,
        "sms_fallback_sender": SMSIR_LINE})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["sms_fallback_provider"], body["sms_fallback_api_key_set"]) == ("smsir", True)
    assert SMSIR_KEY not in answer.text


def carts(kshop, n: int, prefix: str) -> None:
    for i in range(n):
        kshop.cart(f"{prefix}-{i:04d}", AT, phone=f"0912300{i:04d}")


def firsts(kshop):
    """Each cart's first reminder (its due time moves on a retry)."""
    messages = kshop.messages()
    first_step = min(m.step_id for m in messages)
    return [m for m in messages if m.step_id == first_step]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("first_fails", ["refuses for now (409)", "cannot be reached"])
def test_the_second_provider_carries_what_the_first_refused_before_doing_anything(
        kshop, kavenegar, smsir, first_fails):
    kavenegar_url = kavenegar.base_url if first_fails.startswith("refuses") \
        else f"http://127.0.0.1:{free_port()}"
    kshop.gateway = Gateways(kshop.factory, kavenegar_base_url=kavenegar_url,
                             base_urls={"smsir": f"{smsir.base_url}/v1"}, read_timeout=2)
    name_fallback(kshop)
    carts(kshop, 3, "fo-cart")
    kavenegar.fail_next("sms/sendarray", 409)
    kshop.tick(DUE)

    sent = firsts(kshop)
    assert {(m.status, m.sent_via) for m in sent} == {("sent", "smsir")}
    assert sorted(m.text for m in smsir.messages) == sorted(m.text for m in sent)
    assert kavenegar.messages == []
    smsir.set_outcome(1)  # delivered: asked of SMS.ir, the provider that has them
    kshop.tick(DUE + timedelta(minutes=10))
    assert {m.status for m in firsts(kshop)} == {"delivered"}
    assert len(smsir.messages) == 3 and kavenegar.messages == []


def test_a_message_the_first_provider_may_have_sent_never_goes_to_the_second(kshop, kavenegar,
                                                                            smsir):
    kshop.gateway = Gateways(kshop.factory, kavenegar_base_url=kavenegar.base_url,
                             base_urls={"smsir": f"{smsir.base_url}/v1"}, read_timeout=0.5)
    name_fallback(kshop)
    carts(kshop, 3, "fo-lost")
    kavenegar.stall("sms/sendarray", 30)  # no answer in time: it may have been sent
    kshop.tick(DUE)
    kavenegar.stall("sms/sendarray", 0)
    assert smsir.messages == [] and not smsir.calls("send/likeToLike")
    assert {m.status for m in firsts(kshop)} == {"scheduled"}  # Kavenegar's, asked again first
    kshop.tick(DUE + timedelta(minutes=1))
    assert {(m.status, m.sent_via) for m in firsts(kshop)} == {("sent", "kavenegar")}
    assert len(kavenegar.messages) == 3 and smsir.messages == []


def test_a_retry_stays_with_the_first_provider(kshop, kavenegar, smsir):
    """Only a message never handed to a gateway moves: a retry of one the first provider once
    refused goes back to it."""
    kshop.gateway = Gateways(kshop.factory, kavenegar_base_url=kavenegar.base_url,
                             base_urls={"smsir": f"{smsir.base_url}/v1"}, read_timeout=2)
    carts(kshop, 2, "fo-retry")
    kavenegar.fail_next("sms/sendarray", 409)
    kshop.tick(DUE)  # no second provider yet: retried later
    name_fallback(kshop)
    kavenegar.fail_next("sms/sendarray", 409)
    kshop.tick(DUE + timedelta(minutes=1))
    assert smsir.messages == [] and {m.status for m in firsts(kshop)} == {"scheduled"}
    kshop.tick(DUE + timedelta(minutes=2))
    assert {(m.status, m.sent_via) for m in firsts(kshop)} == {("sent", "kavenegar")}


@pytest.mark.parametrize(("patch", "says"), [
    ({"sms_fallback_provider": "kavenegar", "sms_fallback_api_key": SMSIR_KEY},
     "must be another provider than sms_provider"),
    ({"sms_fallback_provider": "smsir"}, "sms_fallback_api_key is required"),
    ({"sms_fallback_provider": "console", "sms_fallback_api_key": SMSIR_KEY},
     "sms_fallback_provider"),
])
def test_a_second_provider_is_another_one_with_its_own_key(kshop, patch, says):
    answer = kshop.client.patch("/api/v1/store", headers=bearer(kshop.store), json=patch)
    assert answer.status_code == 422 and says in answer.text
    again = kshop.client.get("/api/v1/store", headers=bearer(kshop.store)).json()
    assert again["sms_fallback_provider"] is None
