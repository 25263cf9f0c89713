"""The Kavenegar shop: the shop switched to the fake Kavenegar (over real HTTP), shared by the
sending tests and the lookup-mode tests."""

import pytest

from app.messaging.fake_kavenegar import FakeKavenegar
from app.messaging.gateway import Gateways
from tests.factories import use_kavenegar

KEY = "kavenegar-test-key-0123"


@pytest.fixture
def kavenegar():
    with FakeKavenegar(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def kshop(shop, kavenegar):
    """The shop, switched to Kavenegar, with short timeouts so a slow answer is a timeout."""
    use_kavenegar(shop.factory, shop.store.id, KEY)
    shop.gateway = Gateways(shop.factory, kavenegar_base_url=kavenegar.base_url, read_timeout=0.5)
    return shop
