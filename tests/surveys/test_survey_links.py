"""The survey link the lead puts in the SMS: short, stable, per store, unforgeable."""

import re
from types import SimpleNamespace

import pytest

from app.surveys.service import survey_token, survey_url

STORE = SimpleNamespace(webhook_secret="A" * 40)
OTHER_STORE = SimpleNamespace(webhook_secret="B" * 40)


def test_the_link_is_the_public_url_with_a_short_url_safe_token():
    url = survey_url("https://bz.example/", STORE, 1_234_567)
    assert re.fullmatch(r"https://bz\.example/survey/[A-Za-z0-9_-]{20}", url)
    # Even a message id in the trillions keeps the token SMS-friendly.
    assert len(survey_token(STORE, 10**12)) <= 24


def test_the_same_message_always_gets_the_same_link_so_a_retried_send_says_the_same():
    assert survey_token(STORE, 42) == survey_token(STORE, 42)


def test_tokens_differ_per_message_and_per_store():
    tokens = {survey_token(store, m) for store in (STORE, OTHER_STORE) for m in range(1, 200)}
    assert len(tokens) == 2 * 199


@pytest.mark.parametrize("bad_id", [0, -1, 2**56])
def test_ids_outside_the_token_range_are_refused(bad_id):
    with pytest.raises(ValueError):
        survey_token(STORE, bad_id)
