"""The link in a preview and in a test SMS opens a sample page of its kind on bazgasht itself:
Persian, right to left, marked «نمونه», as long as a real short link, redirecting nowhere and
recording nothing (no link, no click, no survey answer)."""

import re

import pytest
from sqlalchemy import func, select

from app.config import get_settings
from app.links.models import Click, Link
from app.links.samples import SAMPLE_CODES
from app.links.service import CODE_LENGTH, new_code
from app.messaging.models import ConsoleSms
from app.surveys.models import SurveyAnswer

# What each campaign's sample shows of the kind of page its real link opens.
SHOWS = {"abandoned_cart": "سبد خرید شما بازگردانده شد",
         "post_purchase_survey": "از خریدتان راضی بودید؟",
         "cross_sell": "پیشنهادی برای شما: فنجان سرامیکی",
         "lost_order": "پرداخت سفارش ۱۰۲۴",
         "win_back": "به فروشگاه خوش آمدید"}


def link_in(text: str) -> str:
    base = re.escape(get_settings().public_url)
    return re.search(rf"{base}/([A-Za-z0-9]+)", text)[1]


def rows(factory) -> tuple:
    with factory() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (Link, Click, SurveyAnswer))


def first_step(api, kind: str) -> str:
    [campaign] = [c for c in api.get("/api/v1/campaigns").json()["items"] if c["kind"] == kind]
    return f"/api/v1/campaigns/{campaign['id']}/steps/{campaign['steps'][0]['id']}"


def sample_page(client, code: str):
    page = client.get(f"/{code}")
    assert page.status_code == 200 and "location" not in page.headers
    assert '<html lang="fa" dir="rtl">' in page.text
    assert 'id="sample"' in page.text and "<b>نمونه</b>" in page.text
    assert page.headers["x-robots-tag"] == "noindex, nofollow"
    assert "http" not in re.sub(r"<head>.*</head>", "", page.text, flags=re.S)  # no way out
    return page


@pytest.mark.parametrize("kind", sorted(SHOWS))
def test_a_previews_link_opens_the_sample_of_its_campaigns_page(api, client, factory, kind):
    before = rows(factory)
    preview = api.post(f"{first_step(api, kind)}/preview")
    assert preview.status_code == 200, preview.text
    code = link_in(preview.json()["text"])
    assert len(code) == CODE_LENGTH  # the parts count is the real send's
    page = sample_page(client, code)
    assert SHOWS[kind] in page.text
    assert client.head(f"/{code}").status_code == 200
    assert rows(factory) == before


def test_the_sample_survey_can_be_answered_and_records_nothing(client, factory):
    before = rows(factory)
    code = SAMPLE_CODES["survey"]
    form = sample_page(client, code)
    assert '<form method="post"' in form.text and "پاسخ این فرم جایی ثبت نمی‌شود" in form.text
    answered = client.post(f"/{code}", data={"rating": "۴", "comment": "عالی بود"})
    assert answered.status_code == 200
    assert "امتیاز ۴ از ۵ ثبت <b>نشد</b>" in answered.text and "<b>نمونه</b>" in answered.text
    unrated = client.post(f"/{code}", data={"comment": "بی امتیاز"})
    assert unrated.status_code == 200 and "از خریدتان راضی بودید؟" in unrated.text
    # No other code takes a form: a short link answers GET and HEAD only.
    assert client.post(f"/{SAMPLE_CODES['cart']}", data={"rating": "5"}).status_code == 405
    assert client.post("/Zz9Zz9Z", data={"rating": "5"}).status_code == 405
    assert rows(factory) == before


def test_a_test_sms_carries_the_sample_link(api, client, factory):
    sent = api.post(f"{first_step(api, 'post_purchase_survey')}/test-send",
                    json={"phone": "۰۹۱۲ ۱۲۳ ۴۵۶۷"})
    assert sent.status_code == 200, sent.text
    with factory() as session:
        [sms] = session.scalars(select(ConsoleSms)).all()
    assert link_in(sms.text) == SAMPLE_CODES["survey"]
    sample_page(client, SAMPLE_CODES["survey"])


def test_sample_codes_are_codes_no_message_gets(monkeypatch):
    assert all(len(code) == CODE_LENGTH for code in SAMPLE_CODES.values())
    assert set(SAMPLE_CODES) == {"cart", "survey", "product", "order", "store"}
    drawn = iter(SAMPLE_CODES["cart"] + "abcdefg")  # chance draws a sample's code first
    monkeypatch.setattr("app.links.service.secrets.choice", lambda _: next(drawn))
    assert new_code() == "abcdefg"
