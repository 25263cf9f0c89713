"""Stores on other providers than Kavenegar: lookup mode with the provider's own template id
and parameters, and a number the provider refuses as blacklisted."""

import pytest

from app.campaigns.lookup import LookupConfigError, validate_lookup
from app.campaigns.models import ABANDONED_CART
from app.messaging.fake_smsir import DEFAULT_LINE as SMSIR_LINE
from app.messaging.fake_smsir import FakeSmsIr
from app.messaging.gateway import Gateways
from tests.campaigns.test_kavenegar_sending import AT, DUE
from tests.factories import store_settings
from tests.helpers import bearer

SMSIR_KEY = "smsir-lookup-key-0123456789"


@pytest.fixture
def smsir():
    with FakeSmsIr(api_key=SMSIR_KEY) as fake:
        fake.templates[401234] = "#NAME# عزیز، سبد خریدت منتظرته"
        yield fake


def test_an_smsir_store_in_lookup_mode_sends_its_template_with_named_parameters(shop, smsir):
    shop.gateway = Gateways(shop.factory, kavenegar_base_url="http://127.0.0.1:9",
                            base_urls={"smsir": f"{smsir.base_url}/v1"}, read_timeout=2)
    answer = shop.client.patch("/api/v1/store", headers=bearer(shop.store), json={
        "sms_provider": "smsir", "sms_api_key": SMSIR_KEY, "sms_sender": SMSIR_LINE})
    assert answer.status_code == 200, answer.text
    store_settings(shop.factory, shop.store.id, sms_template_mode="lookup")
    shop.set_step(ABANDONED_CART, 1, lookup={"template": "401234",
                                             "tokens": {"NAME": "{{ first_name or 'مشتری' }}"}})
    shop.cart("lk-smsir-0001", AT, name="علی")
    shop.tick(DUE)

    [sent] = smsir.messages
    assert (sent.template_id, sent.parameters) == (401234, {"NAME": "علی"})
    assert sent.text == "علی عزیز، سبد خریدت منتظرته"
    first = next(m for m in shop.messages() if m.due_at <= DUE)
    assert (first.status, first.sent_via) == ("sent", "smsir")


@pytest.mark.parametrize(("provider", "config", "field"), [
    ("smsir", {"template": "cart-reminder", "tokens": {"NAME": "x"}}, "template"),
    ("melipayamak", {"template": "cart", "tokens": {"0": "x"}}, "template"),
    ("ippanel", {"template": "abc123", "tokens": {}}, "tokens"),
    ("ghasedak", {"template": "cart", "tokens": {"نام": "x"}}, "tokens.نام"),
    ("kavenegar", {"template": "cart", "tokens": {"NAME": "x"}}, "tokens.NAME"),
])
def test_each_provider_checks_its_own_template_and_parameter_names(provider, config, field):
    with pytest.raises(LookupConfigError) as refused:
        validate_lookup(config, provider)
    assert refused.value.field == field


def test_other_providers_keep_their_parameter_names_and_order():
    config = {"template": "77", "tokens": {"1": "{{ link }}", "0": "{{ first_name }}"}}
    assert validate_lookup(config, "melipayamak") == config
    assert list(validate_lookup(config, "melipayamak")["tokens"]) == ["1", "0"]


def test_a_number_the_provider_refuses_as_blacklisted_gets_no_promotional_sms_again(shop, smsir):
    from sqlalchemy import select

    from app.contacts.models import Contact

    shop.gateway = Gateways(shop.factory, kavenegar_base_url="http://127.0.0.1:9",
                            base_urls={"smsir": f"{smsir.base_url}/v1"}, read_timeout=2)
    answer = shop.client.patch("/api/v1/store", headers=bearer(shop.store), json={
        "sms_provider": "smsir", "sms_api_key": SMSIR_KEY, "sms_sender": SMSIR_LINE})
    assert answer.status_code == 200, answer.text
    smsir.blacklist.add("9123456789")  # refused with 115 (the fake's default mode)
    shop.cart("bl-smsir-0001", AT)
    shop.tick(DUE)
    first = next(m for m in shop.messages() if m.due_at <= DUE)
    assert (first.status, first.reason) == ("failed", "gateway_refused")
    with shop.factory() as session:
        assert session.scalar(select(Contact.promo_blocked_at)) is not None
    assert smsir.messages == []
