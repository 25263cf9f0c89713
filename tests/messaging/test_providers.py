"""The provider registry: what a merchant may choose is what bazgasht can make."""

from typing import get_args

from app.messaging.providers import PROVIDERS, Choice


def test_the_choices_are_the_console_and_every_provider():
    assert set(get_args(Choice)) == {"console"} | set(PROVIDERS)


def test_every_provider_has_a_persian_name_and_a_real_https_api():
    for provider in PROVIDERS.values():
        assert provider.label and not provider.label.isascii()
        assert provider.base_url.startswith("https://")
