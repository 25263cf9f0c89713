"""Shared by the operations tests: closed ports, bounded waits, a store on the fake Kavenegar."""

import time

import pytest
from sqlalchemy import update

from app.db import unit_of_work
from app.messaging.fake_kavenegar import DEFAULT_LINE, FakeKavenegar
from app.stores.models import Store
from tests.conftest import _free_port

KEY = "kavenegar-ops-key-0123"


def wait_until(condition, *, timeout: float = 30.0, what: str = "condition"):
    """Poll `condition` until it is truthy (returned) or `timeout` passes (a failure): a bound on
    something that is already on its way, never a guess at how long it takes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def free_redis_url() -> str:
    """A Redis URL where nothing listens."""
    return f"redis://127.0.0.1:{_free_port()}/0"


@pytest.fixture
def kavenegar():
    with FakeKavenegar(api_key=KEY) as fake:
        yield fake


def use_kavenegar(factory, store_id: int) -> None:
    with unit_of_work(factory) as session:
        session.execute(update(Store).where(Store.id == store_id)
                        .values(sms_provider="kavenegar", sms_api_key=KEY,
                                sms_sender=DEFAULT_LINE))
