"""Operator secrets: a weak one stops the service at startup with a message saying what to do;
the operator token is compared in constant time."""

import inspect

import pytest
from pydantic import ValidationError

from app import deps
from app.config import Settings
from tests.conftest import ADMIN_TOKEN


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
