"""Rendered lookup tokens made acceptable to verify/lookup: checked against the fake gateway's
rules (431 for spaces or length) over real HTTP."""

import pytest

from app.messaging.fake_kavenegar import FakeKavenegar
from app.messaging.kavenegar import ZWNJ, KavenegarClient, KavenegarError, TokenProblem, fit_token

KEY = "lookup-tokens-key-0123"
ALI = "09121111111"


@pytest.fixture
def client():
    with FakeKavenegar(api_key=KEY) as fake:
        fake.templates["t"] = "%token %token2 %token3 / %token10 / %token20"
        with KavenegarClient(KEY, base_url=fake.base_url, read_timeout=5) as c:
            yield c


def test_tokens_without_spaces_get_half_spaces_instead(client):
    raw = "چای  سبز\nلاهیجان"
    with pytest.raises(KavenegarError) as refused:
        client.verify_lookup(ALI, "t", raw)
    assert refused.value.status == 431
    fitted = fit_token("token", raw)
    assert fitted == f"چای{ZWNJ}سبز{ZWNJ}لاهیجان"
    assert client.verify_lookup(ALI, "t", fitted).message.startswith(fitted)


@pytest.mark.parametrize(("name", "kept"), [("token10", 4), ("token20", 8)])
def test_token10_and_token20_keep_their_first_spaces(client, name, kept):
    words = [f"w{i}" for i in range(12)]
    fitted = fit_token(name, " ".join(words))
    assert fitted.count(" ") == kept and fitted.count(ZWNJ) == len(words) - 1 - kept
    assert fitted.replace(ZWNJ, " ") == " ".join(words)
    assert client.verify_lookup(ALI, "t", "x", **{name: fitted}).status == 1


def test_long_text_is_cut_to_100_characters_with_an_ellipsis(client):
    fitted = fit_token("token2", "س" * 150)
    assert len(fitted) == 100 and fitted.endswith("…")
    assert client.verify_lookup(ALI, "t", "x", token2=fitted).status == 1
    with pytest.raises(KavenegarError):
        client.verify_lookup(ALI, "t", "x", token2="س" * 101)


def test_a_link_too_long_is_refused_rather_than_cut():
    with pytest.raises(TokenProblem, match="token2 is a link of 120 characters"):
        fit_token("token2", "https://shop.example/" + "a" * 99)


def test_short_values_pass_unchanged():
    assert fit_token("token", "۱۲۳۴") == "۱۲۳۴" and fit_token("token3", "") == ""
