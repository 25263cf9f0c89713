"""The message log searched as a merchant searches it: a phone typed in any digits (or a part of
it), a name typed with Persian or Arabic letters, a campaign and a status, Jalali days; page after
page with the search kept. And the store API's messages, found the same way."""

import re
from dataclasses import dataclass

import httpx
import pytest

from app.db import unit_of_work
from app.http import tls
from tests.helpers import bearer, error_of
from tests.reports.history import History

_CARD = re.compile(r'<li class="msg" id="m(\d+)"')
_OLDER = re.compile(r'id="older" href="([^"]+)"')


@dataclass
class Story:
    ali: int      # 1404/09/15 (2025-12-06), abandoned cart, delivered, +989121234567
    kaveh: int    # 1404/09/19 (2025-12-10), cross-sell, failed, +989357654321
    kaveh_2: int  # 1404/09/29 (2025-12-20), abandoned cart, skipped
    peyman: list[int]  # 30 delivered messages of one contact
    foreign: int  # the other store's message to Ali's number


@pytest.fixture
def story(seeded, factory) -> Story:
    with unit_of_work(factory) as session:
        h = History(session, seeded.store.id)
        ali = h.contact(first_name="علي", last_name="رضايي‌پور")  # Arabic ي, a half-space
        ali.phone = "+989121234567"
        kaveh = h.contact(first_name="كاوه", last_name="شريفي")  # Arabic ك and ي
        kaveh.phone = "+989357654321"
        peyman = h.contact(first_name="پیمان", last_name="")
        peyman.phone = "+989190001111"
        session.flush()
        ac, cross = "abandoned_cart", "cross_sell"
        a = h.message(ac, 1, status="delivered", sent="2025-12-06 10:00", contact=ali)
        k = h.message(cross, 1, status="failed", sent="2025-12-10 23:30", contact=kaveh,
                      reason="gateway_refused", reason_detail="400: receptor is blocked")
        k2 = h.message(ac, 2, status="skipped", due="2025-12-20 09:00", contact=kaveh,
                       reason="order_changed", reason_detail="refunded")
        p = [h.message(ac, 1, status="delivered", sent=f"2025-11-{day:02d} 12:00",
                       contact=peyman).id for day in range(1, 31)]
        o = History(session, seeded.other.id)
        twin = o.contact(first_name="علی")
        twin.phone = "+989121234567"
        session.flush()
        foreign = o.message(ac, 1, status="delivered", sent="2025-12-06 10:00", contact=twin)
        return Story(a.id, k.id, k2.id, p, foreign.id)


def shown(response: httpx.Response) -> set[int]:
    assert response.status_code == 200, response.text
    return {int(i) for i in _CARD.findall(response.text)}


def search(panel, **params) -> httpx.Response:
    return panel.get("/panel/activity", **params)


@pytest.mark.parametrize("typed", ["۰۹۱۲۱۲۳۴۵۶۷", "٠٩١٢١٢٣٤٥٦٧", "09121234567", "+989121234567",
                                   "+98 912 123 4567", "00989121234567", "9121234567",
                                   "۰۹۱۲۱۲۳", "4567", "۱۲۳۴۵۶۷"])
def test_a_phone_in_any_digits_and_any_part_finds_its_messages(panel, story, typed):
    found = shown(search(panel, q=typed))
    if len(typed) >= 10:
        assert found == {story.ali}  # never the other store's
    else:  # a part may match the seeded shop's other numbers too, never Kaveh's or Peyman's
        assert story.ali in found and not found & {story.kaveh, *story.peyman}


def test_a_phone_with_too_few_digits_is_a_persian_problem_beside_the_box(panel, story):
    page = search(panel, q="۱۲۳")
    assert page.status_code == 200
    assert re.search(r'id="q"[^>]*aria-invalid="true"', page.text)
    assert "دست‌کم ۴ رقم" in page.text
    assert len(shown(page)) == 25  # the search is left out, not the page


@pytest.mark.parametrize("typed", ["کاوه", "كاوه", "شریفی", "کاوه شریفی", "رضایی پور",
                                   "رضايي‌پور", "علی رضایی"])
def test_a_name_is_found_however_its_letters_and_spaces_were_typed(panel, story, typed):
    found = shown(search(panel, q=typed))
    assert found == ({story.ali} if "رض" in typed else {story.kaveh, story.kaveh_2})


def test_jalali_days_in_any_digits_both_ends_included(panel, story):
    assert shown(search(panel, **{"from": "۱۴۰۴/۰۹/۱۵", "to": "۱۴۰۴/۰۹/۱۵"})) == {story.ali}
    # 23:30 in Tehran on 1404/09/19 is 20:00 UTC: still that local day.
    assert shown(search(panel, **{"from": "1404/09/16", "to": "1404-09-19"})) == {story.kaveh}
    assert shown(search(panel, **{"from": "۱۴۰۴/۰۹/۱۶"})) >= {story.kaveh, story.kaveh_2}
    assert story.ali not in shown(search(panel, **{"from": "۱۴۰۴/۰۹/۱۶"}))
    assert shown(search(panel, to="2025-12-06", q="علی")) == {story.ali}


@pytest.mark.parametrize("field, typed", [("from", "۱۴۰۴/۱۳/۰۱"), ("to", "۱۴۰۴/۱۲/۳۱"),
                                          ("from", "دیروز"), ("to", "2025-02-30")])
def test_an_impossible_date_is_a_persian_problem_beside_its_field(panel, story, field, typed):
    page = search(panel, **{field: typed})
    assert page.status_code == 200
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', page.text)
    assert "تاریخ را به شکل ۱۴۰۵/۰۹/۰۱ (شمسی)" in page.text
    assert f'value="{typed}"' in page.text  # what was typed stays, to be corrected


def test_to_before_from_is_a_persian_problem(panel, story):
    page = search(panel, **{"from": "۱۴۰۴/۰۹/۲۰", "to": "۱۴۰۴/۰۹/۱۰"})
    assert page.status_code == 200 and "نباید پیش از تاریخ «از» باشد" in page.text


def test_campaign_and_status_together(panel, seeded, story):
    ac, cross = seeded.campaign_ids["abandoned_cart"], seeded.campaign_ids["cross_sell"]
    assert shown(search(panel, campaign=cross, status="failed")) == {story.kaveh}
    assert shown(search(panel, campaign=ac, status="skipped", q="کاوه")) == {story.kaveh_2}
    assert shown(search(panel, campaign=ac, status="failed")) == set()
    others = search(panel, campaign=seeded.other_campaign_id, q="علی")
    assert shown(others) == {story.ali}  # another store's campaign is no filter of this one


def test_the_log_never_shows_what_is_still_to_come(panel, seeded):
    log = shown(search(panel))
    assert seeded.ids["upcoming"] not in log and seeded.ids["held"] not in log
    assert seeded.ids["skipped"] in log
    assert shown(search(panel, status="scheduled")) == log  # no such filter in the log
    upcoming = shown(search(panel, tab="upcoming"))
    assert {seeded.ids["upcoming"], seeded.ids["held"]} <= upcoming
    assert seeded.ids["skipped"] not in upcoming


def test_paging_keeps_the_search(panel, story):
    first = search(panel, q="پیمان", **{"from": "۱۴۰۴/۰۸/۰۱"})
    page_one = shown(first)
    assert len(page_one) == 25
    older = _OLDER.search(first.text)[1].replace("&amp;", "&")
    assert "q=" in older and "from=" in older
    second = panel.http.get(older)
    page_two = shown(second)
    assert len(page_two) == 5 and not _OLDER.search(second.text)
    assert page_one | page_two == set(story.peyman)
    assert 'value="پیمان"' in second.text  # the form still shows the search


def test_reasons_read_in_persian_with_the_particulars_folded(panel, story):
    page = search(panel, q="کاوه")
    assert "وضعیت سفارش تغییر کرد: وضعیت سفارش اکنون «مسترد شده» است" in page.text
    assert ">refunded<" not in page.text
    assert "درگاه پیامک نپذیرفت" in page.text
    assert re.search(r"<summary>جزئیات فنی</summary><small[^>]*>400: receptor is blocked",
                     page.text)


# -- the store API --------------------------------------------------------------------------------

@pytest.fixture
def api(live_server, seeded):
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      headers=bearer(seeded.store)) as client:
        yield client


def ids(response: httpx.Response) -> set[int]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_the_api_finds_messages_by_phone_and_name(api, story):
    for typed in ("۰۹۱۲۱۲۳۴۵۶۷", "+989121234567", "4567"):
        assert ids(api.get("/api/v1/messages", params={"phone": typed})) == {story.ali}
    assert ids(api.get("/api/v1/messages", params={"name": "کاوه شریفی"})) == {story.kaveh,
                                                                               story.kaveh_2}
    assert ids(api.get("/api/v1/messages", params={"name": "کاوه", "status": "failed"})) \
        == {story.kaveh}
    both = api.get("/api/v1/messages", params={"phone": "4567", "name": "کاوه"})
    assert ids(both) == set()


def test_the_api_pages_with_the_search_kept(api, story):
    first = api.get("/api/v1/messages", params={"name": "پیمان", "limit": 20}).json()
    second = api.get("/api/v1/messages", params={"name": "پیمان", "limit": 20,
                                                 "cursor": first["next_cursor"]}).json()
    assert second["next_cursor"] is None
    assert {m["id"] for m in first["items"] + second["items"]} == set(story.peyman)


@pytest.mark.parametrize("params, code", [({"phone": "۱۲۳"}, "search_too_short"),
                                          ({"phone": "1234567890123456789"}, "search_too_long"),
                                          ({"name": "  "}, "search_too_short"),
                                          ({"from": "1404/13/01"}, None)])
def test_the_api_refuses_a_bad_search_with_a_code(api, story, params, code):
    response = api.get("/api/v1/messages", params=params)
    assert response.status_code == 422
    error = error_of(response)
    if code is not None:
        assert error["code"] == code
