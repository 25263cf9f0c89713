"""A customer taps the survey link in their SMS, rates the order and maybe says why."""

import re
import threading
from dataclasses import replace
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import select

from app.alerts.models import MerchantAlert
from app.campaigns.service import message_subject
from app.clock import SYSTEM
from app.db import unit_of_work
from app.http import tls
from app.stores.models import Store
from app.surveys import service
from app.surveys.models import SurveyAnswer
from tests.factories import set_product
from tests.surveys.story import alerts, answers, count, open_survey_link


def assert_small_private_persian_page(response: httpx.Response) -> str:
    html = response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="fa" dir="rtl">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert response.headers["x-robots-tag"] == "noindex, nofollow"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert len(response.content) < 10_000
    # Nothing from elsewhere: only the panel's own font, from this server, kept a year.
    own_font = re.compile(r'@font-face\{font-family:Vazirmatn;[^}]*src:url\("/panel/static/'
                          r'fonts/Vazirmatn-Variable\.woff2\?v=[0-9a-f]+"\) format\("woff2"\)\}')
    assert len(own_font.findall(html)) == 1
    for external in ("<script", "<link", "<img", "src=", "@import", "url(", "@font-face"):
        assert external not in own_font.sub("", html)
    return html


def test_the_survey_page_is_persian_rtl_small_and_shows_the_order(client, survey):
    response = client.get(survey.path)
    assert response.status_code == 200
    html = assert_small_private_persian_page(response)
    assert "سفارش شمارهٔ <b>۱۲۳۴</b>" in html and "1234" not in html
    assert "<b>چای‌خانه</b>" in html
    radios = re.findall(r'<input type="radio" name="rating" id="r(\d)" value="(\d)"', html)
    assert sorted(value for _, value in radios) == ["1", "2", "3", "4", "5"]
    for id_, _ in radios:  # every star is a labelled control a finger can hit
        assert re.search(rf'<label for="r{id_}">.*?<span class="sr">{"۰۱۲۳۴۵"[int(id_)]} ستاره',
                         html)
    assert '<textarea id="comment" name="comment" rows="4" maxlength="500">' in html
    assert '<form method="post"' in html and "action=" not in html  # posts back to this URL


def test_five_stars_are_stored_and_thanked_with_a_link_to_review_the_product(client, survey,
                                                                            factory):
    response = client.post(survey.path, data={"rating": "5", "comment": "  چای تازه و خوش‌عطر  "})
    assert response.status_code == 200
    html = assert_small_private_persian_page(response)
    assert "سپاسگزاریم" in html and "امتیاز ۵ از ۵" in html
    assert '<a class="button" href="https://shop.example/p/11/#reviews"' in html
    assert "«چای سبز»" in html
    [answer] = answers(factory)
    assert (answer.rating, answer.comment) == (5, "چای تازه و خوش‌عطر")
    assert (answer.order_id, answer.message_id) == (survey.order_id, survey.message_id)
    assert alerts(factory) == []

    again = client.get(survey.path)  # the link tapped once more: the answer, not the form
    assert again.status_code == 200 and 'name="rating"' not in again.text
    assert "پیش‌تر ثبت شده" in again.text and "#reviews" in again.text


def test_a_second_answer_is_refused_and_the_first_one_stays(client, survey, factory):
    assert client.post(survey.path, data={"rating": "5"}).status_code == 200
    second = client.post(survey.path, data={"rating": "1", "comment": "نظرم عوض شد"})
    assert second.status_code == 409
    html = assert_small_private_persian_page(second)
    assert "پیش‌تر ثبت شده" in html and "امتیاز ۵ از ۵" in html
    [answer] = answers(factory)
    assert (answer.rating, answer.comment) == (5, None)
    assert alerts(factory) == []  # the refused «1» raised no alert either


@pytest.mark.parametrize("form, error", [
    ({"rating": "0"}, "امتیاز باید عددی از ۱ تا ۵ باشد"),
    ({"rating": "6"}, "امتیاز باید عددی از ۱ تا ۵ باشد"),
    ({"rating": "abc"}, "امتیاز باید عددی از ۱ تا ۵ باشد"),
    ({"rating": "4.5"}, "امتیاز باید عددی از ۱ تا ۵ باشد"),
    ({"comment": "خوب بود"}, "لطفاً یکی از ستاره‌ها را انتخاب کنید"),
    ({"rating": "5", "comment": "خ" * 501}, "بیش از ۵۰۰ نویسه"),
], ids=["zero", "six", "abc", "fraction", "missing", "comment-too-long"])
def test_an_invalid_answer_shows_the_form_again_with_the_reason(client, survey, factory, form,
                                                                error):
    response = client.post(survey.path, data=form)
    assert response.status_code == 422
    html = assert_small_private_persian_page(response)
    assert 'role="alert"' in html and error in html
    assert 'name="rating"' in html  # the form again, to correct
    assert count(factory, SurveyAnswer) == 0 and count(factory, MerchantAlert) == 0
    if "comment" in form:  # what they typed is not lost
        assert form["comment"] in html
    if form.get("rating") == "5":
        assert 'value="5" checked' in html


def test_a_comment_of_exactly_the_limit_counts_line_breaks_once(client, survey, factory):
    comment = "الف" * 166 + "\r\n" + "ب"  # 500 characters as the browser counts them
    response = client.post(survey.path, data={"rating": "4", "comment": comment})
    assert response.status_code == 200
    [answer] = answers(factory)
    assert answer.comment == "الف" * 166 + "\n" + "ب"


def test_an_oversized_body_is_refused_with_the_form(client, survey, factory):
    response = client.post(survey.path, data={"rating": "5", "comment": "x" * 20_000})
    assert response.status_code == 413
    assert "بیش از اندازه بلند" in response.text and 'name="rating"' in response.text
    assert count(factory, SurveyAnswer) == 0


def _forged(survey, store_secret: str) -> str:
    other_store = SimpleNamespace(webhook_secret=store_secret)
    return "/survey/" + service.survey_token(other_store, survey.message_id)


@pytest.mark.parametrize("path", [
    lambda s: "/survey/nonsense",
    lambda s: s.path[:-1] + ("A" if s.path[-1] != "A" else "B"),  # one character changed
    lambda s: s.path + "A",
    lambda s: "/survey/" + "A" * 200,
    lambda s: _forged(s, store_secret="another-stores-webhook-secret"),
], ids=["garbage", "altered", "extended", "long", "signed-by-another-store"])
def test_a_forged_or_garbled_link_gets_the_persian_not_found_page(client, survey, factory, path):
    for response in (client.get(path(survey)), client.post(path(survey), data={"rating": "5"})):
        assert response.status_code == 404
        html = assert_small_private_persian_page(response)
        assert "این صفحه پیدا نشد" in html and 'name="rating"' not in html
    assert count(factory, SurveyAnswer) == 0


def test_a_signed_link_to_a_message_that_does_not_exist_is_not_found(client, survey, factory):
    with factory() as session:
        store = session.scalar(select(Store))
    path = "/survey/" + service.survey_token(store, survey.message_id + 1000)
    response = client.get(path)
    assert response.status_code == 404 and "این صفحه پیدا نشد" in response.text


def test_simultaneous_submits_store_one_answer(live_server, survey, factory):
    barrier = threading.Barrier(6)
    statuses = []

    def submit(rating: int) -> None:
        with httpx.Client(verify=tls(), base_url=live_server.url, timeout=30) as c:
            barrier.wait()
            statuses.append(c.post(survey.path, data={"rating": str(rating)}).status_code)

    threads = [threading.Thread(target=submit, args=(1 + i % 5,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [409] * 5
    assert len(answers(factory)) == 1
    # One alert at most, and only if the winning answer was low.
    assert len(alerts(factory)) == (answers(factory)[0].rating <= 2)


def test_a_submit_that_read_a_stale_page_loses_to_the_unique_order(survey, factory):
    """Two requests both saw no answer; the database, not an `if`, decides who wins."""
    with unit_of_work(factory) as session:
        first = service.open_survey(session, token=survey.token, message_subject=message_subject,
                                    now=SYSTEM.now())
        service.submit_answer(session, survey=first, form={"rating": "2"}, now=SYSTEM.now())
    with unit_of_work(factory) as session:
        stale = replace(service.open_survey(session, token=survey.token,
                                            message_subject=message_subject, now=SYSTEM.now()),
                        answer=None)
        with pytest.raises(service.AlreadyAnswered) as refused:
            service.submit_answer(session, survey=stale, form={"rating": "5"}, now=SYSTEM.now())
        assert refused.value.answer.rating == 2
    assert [a.rating for a in answers(factory)] == [2] and len(alerts(factory)) == 1


def test_three_stars_are_thanked_without_review_link_or_alert(client, survey, factory):
    response = client.post(survey.path, data={"rating": "۳"})  # a Persian digit is fine too
    assert response.status_code == 200
    assert "امتیاز ۳ از ۵" in response.text and "#reviews" not in response.text
    assert "class=\"button\"" not in response.text
    assert [a.rating for a in answers(factory)] == [3] and alerts(factory) == []


def test_without_a_known_product_the_review_link_is_the_store(shop, client, factory):
    survey = open_survey_link(shop, client.base_url)  # product 11 never reached bazgasht
    response = client.post(survey.path, data={"rating": "5"})
    assert '<a class="button" href="https://shop.example" rel="noreferrer">' in response.text


def test_a_product_page_off_the_store_site_is_never_linked(shop, client, factory):
    shop.product(11, name="چای سبز")
    set_product(factory, shop.store.id, 11, permalink="https://evil.example/p/11/")
    survey = open_survey_link(shop, client.base_url)
    response = client.post(survey.path, data={"rating": "5"})
    assert "evil.example" not in response.text
    assert 'href="https://shop.example"' in response.text
