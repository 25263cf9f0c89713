"""One-click connect and the connections job against the fake WooCommerce on loopback, with
the live app as the other end (its callback, its webhook endpoint)."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from app.commerce.fake_woocommerce import FakeWooCommerce
from app.connection.models import StoreWebhook
from app.db import unit_of_work
from app.stores.models import Store


@pytest.fixture
def woo(clock):
    """The store's WooCommerce (plain http on loopback: OAuth 1.0a, dated by the app's clock);
    it lets the callback be http, which real WooCommerce never does."""
    with FakeWooCommerce(clock=clock) as fake:
        fake.require_https_callback = False
        yield fake


@pytest.fixture
def shop_at_woo(factory, store, woo):
    """Store A lives at the fake's address."""
    with unit_of_work(factory) as session:
        session.execute(update(Store).where(Store.id == store.id).values(url=woo.base_url))
    return store


def approve(api: httpx.Client) -> httpx.Response:
    """The merchant presses the button and approves in WooCommerce (the fake approves at once,
    posting the keys to bazgasht before it answers the browser)."""
    started = api.post("/api/v1/store/connect")
    assert started.status_code == 200, started.text
    return httpx.get(started.json()["authorize_url"], follow_redirects=False, timeout=30)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def topics(factory, store_id: int) -> dict[str, str]:
    with factory() as session:
        return {r.topic: r.status for r in session.scalars(
            select(StoreWebhook).where(StoreWebhook.store_id == store_id))}


def store_row(factory, store_id: int) -> Store:
    with factory() as session:
        return session.get_one(Store, store_id)


from tests.dashboard.conftest import Panel  # noqa: E402


@pytest.fixture
def anonymous(live_server, factory):
    from app.http import tls

    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      follow_redirects=False) as client:
        yield Panel(client, factory)
