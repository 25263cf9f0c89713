"""Fixtures of the attacks: pay-as-you-go shops on the platform's account at the fake Kavenegar
over real HTTP; the merchant panel (a seeded tea shop, a browser-like client); a store at the
fake WooCommerce."""

import pytest

from app.db import unit_of_work
from app.messaging.fake_kavenegar import FakeKavenegar
from app.messaging.gateway import Gateways
from tests.campaigns.shop import Shop
from tests.connection.conftest import shop_at_woo, woo  # noqa: F401
from tests.dashboard.conftest import anonymous, panel, seeded  # noqa: F401
from tests.helpers import create_store

PLATFORM_KEY = "platform-security-key-0001"
PLATFORM_LINE = "2000660110"
PRICE = 1_500  # Rial per part


@pytest.fixture
def platform(factory):
    """The platform's Kavenegar account (a fake server) and the gateways that reach it."""
    with FakeKavenegar(api_key=PLATFORM_KEY) as fake:
        yield fake, Gateways(factory, kavenegar_base_url=fake.base_url,
                             platform_key=PLATFORM_KEY, platform_sender=PLATFORM_LINE)


def on_platform(shop, admin_client, *, balance: int = 100_000) -> Shop:
    """The shop pays as it goes, PRICE per part; its first cart reminder fits in one part."""
    shop.set_step("abandoned_cart", 1, template="سبدت منتظرته: {{ link }}")
    answer = admin_client.put(f"/platform/v1/stores/{shop.store.id}/sms-gateway",
                              json={"provider": "platform", "price_per_part": PRICE})
    assert answer.status_code == 200, answer.text
    if balance:
        answer = admin_client.post(f"/platform/v1/stores/{shop.store.id}/credit",
                                   json={"amount": balance})
        assert answer.status_code in (200, 201), answer.text
    return shop


@pytest.fixture
def other_shop(client, factory, clock) -> Shop:
    with unit_of_work(factory) as session:
        store = create_store(session, name="دکان دیگر", url="https://other.example")
    return Shop(client, store, factory, clock)
