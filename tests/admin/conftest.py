"""The merchant admin API over real HTTP: store A (the `store` fixture) and a second store B."""

import httpx
import pytest

from app.db import unit_of_work
from app.http import tls
from tests.helpers import StoreCreds, create_store


def bearer(creds: StoreCreds) -> dict:
    return {"Authorization": f"Bearer {creds.api_key}"}


@pytest.fixture
def api(live_server, store) -> httpx.Client:
    """Store A's API client."""
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10, headers=bearer(store)) as client:
        yield client


@pytest.fixture
def other_store(factory) -> StoreCreds:
    with unit_of_work(factory) as session:
        return create_store(session, name="دکان دیگر", url="https://other.example")


@pytest.fixture
def other_api(live_server, other_store) -> httpx.Client:
    """Store B's API client: it must see nothing of store A."""
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      headers=bearer(other_store)) as client:
        yield client


def error_of(response: httpx.Response) -> dict:
    """The error body every failure has: {"error": {"code", "message"}}."""
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]
