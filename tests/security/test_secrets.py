"""Operator secrets: a weak one stops the service at startup with a message saying what to do;
the operator token is compared in constant time."""

import inspect
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from app import deps
from app.config import Settings
from app.connection.service import check_connections
from app.db import unit_of_work
from app.stores.models import Store
from tests.conftest import ADMIN_TOKEN, LiveServer
from tests.connection.conftest import approve
from tests.helpers import deliver

NINE = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("variable", ["BAZGASHT_ADMIN_TOKEN", "BAZGASHT_SECRET_KEY",
                                      "METRICS_TOKEN"])
@pytest.mark.parametrize("weak, why", [("token", "5 characters, at least 32"),
                                       ("a" * 40, "only 1 different characters"),
                                       ("abababababababababababababababab12", "only 4 different")])
def test_a_weak_secret_is_refused_at_startup(monkeypatch, variable, weak, why):
    monkeypatch.setenv(variable, weak)
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = str(refused.value)
    assert f"{variable} is too weak" in message and why in message
    assert "secrets.token_urlsafe(32)" in message or "random value" in message


def test_a_random_secret_is_accepted(monkeypatch):
    monkeypatch.setenv("BAZGASHT_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("BAZGASHT_SECRET_KEY", "kR3vX9pL2mQ7wZ4nB8tY1cF6hJ0sD5gA")
    settings = Settings()
    assert settings.bazgasht_admin_token.get_secret_value() == ADMIN_TOKEN
    assert "kR3v" not in repr(settings)


def test_the_operator_token_is_compared_in_constant_time(admin_client, live_server):
    assert "hmac.compare_digest" in inspect.getsource(deps.require_admin)
    wrong = admin_client.get("/platform/v1/stores/999/webhook-deliveries",
                             headers={"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}x"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_token"
    assert admin_client.get("/platform/v1/stores/999/webhook-deliveries").status_code == 404


# -- the webhook secret ------------------------------------------------------------------------

def test_rotating_the_webhook_secret_keeps_the_previous_one_for_a_day(api, client, store, clock,
                                                                     other_api):
    clock.set(NINE)
    order = {"id": 5, "status": "pending"}
    rotated = api.post("/api/v1/store/webhook-secret/rotate")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["webhook_secret"]
    assert new != store.webhook_secret and len(new) == 40
    assert rotated.json()["previous_valid_until"] == "2026-12-02T09:00:00Z"
    assert rotated.json()["plugin_connection_code"]
    # WooCommerce still signs with the old one for a while: accepted, as the new one is.
    assert deliver(client, store, "order.updated", order).status_code == 200
    assert deliver(client, store, "order.updated", order | {"id": 6}, secret=new).status_code == 200
    clock.advance(timedelta(hours=24))
    late = deliver(client, store, "order.updated", order | {"id": 7})
    assert late.status_code == 401 and late.json()["error"]["code"] == "invalid_signature"
    assert deliver(client, store, "order.updated", order | {"id": 8}, secret=new).status_code == 200


def test_rotation_needs_the_stores_api_key(client):
    refused = client.post("/api/v1/store/webhook-secret/rotate",
                          headers={"Authorization": "Bearer bz_not-a-key"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"


def test_a_one_click_store_gets_the_new_secret_on_every_webhook_at_the_next_check(
        api, shop_at_woo, woo, factory, clock, live_server):
    clock.set(NINE)
    approve(api)
    assert check_connections(factory, clock.now(), public_url=live_server.url) == 0  # not due
    new = api.post("/api/v1/store/webhook-secret/rotate").json()["webhook_secret"]
    clock.advance(timedelta(minutes=1))
    assert check_connections(factory, clock.now(), public_url=live_server.url) == 1
    assert {w["secret"] for w in woo.webhooks} == {new}


def test_the_panel_button_rotates_and_shows_the_new_secret_once(panel, seeded, factory):
    page = panel.post("/panel/settings/webhook/rotate")
    assert page.status_code == 200 and 'id="webhook-rotated"' in page.text
    with unit_of_work(factory) as session:
        store = session.get_one(Store, seeded.store.id)
    assert store.webhook_secret in page.text and store.previous_webhook_secret == \
        seeded.store.webhook_secret
    assert "کلید قبلی تا" in page.text


# -- /metrics ----------------------------------------------------------------------------------

def test_metrics_are_closed_in_production_until_a_token_is_set(database_url, redis_url):
    production = Settings(database_url=database_url, redis_url=redis_url)
    with LiveServer(production) as server:
        closed = httpx.get(f"{server.url}/metrics", timeout=10)
    assert closed.status_code == 403 and closed.json()["error"]["code"] == "metrics_disabled"
    assert "METRICS_TOKEN" in closed.json()["error"]["message"]
    token = "scrape-8Jd3Kq9LmZ2xW7vB4nR6tY1pC5"
    with LiveServer(production.model_copy(update={"metrics_token": SecretStr(token)})) as server:
        assert httpx.get(f"{server.url}/metrics", timeout=10).status_code == 401
        scraped = httpx.get(f"{server.url}/metrics", timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
    assert scraped.status_code == 200 and "bazgasht_" in scraped.text
