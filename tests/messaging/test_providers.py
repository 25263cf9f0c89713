"""The provider registry: what a merchant may choose is what bazgasht can make."""

from typing import get_args

from app.messaging.providers import PROVIDERS, Choice


def test_the_choices_are_the_console_and_every_provider():
    assert set(get_args(Choice)) == {"console"} | set(PROVIDERS)


def test_every_provider_has_a_persian_name_and_a_real_https_api():
    for provider in PROVIDERS.values():
        assert provider.label and not provider.label.isascii()
        assert provider.base_url.startswith("https://")


def test_tests_reach_no_real_provider():
    """The suite's settings point every provider at a closed loopback port unless a test
    points it at its fake (tests/conftest.py)."""
    from app.config import Settings

    settings = Settings(database_url="sqlite://")
    for name in PROVIDERS:
        assert getattr(settings, f"{name}_base_url").startswith("http://127.0.0.1:")
