"""The Kavenegar shop: the shop switched to the fake Kavenegar (over real HTTP), shared by the
sending tests and the lookup-mode tests."""

import pytest
from sqlalchemy import update

from app.db import unit_of_work
from app.messaging.fake_kavenegar import DEFAULT_LINE, FakeKavenegar
from app.messaging.gateway import Gateways
from app.stores.models import Store

KEY = "kavenegar-test-key-0123"


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
