"""The people page («افراد»): an owner adds and removes members and ends sessions; each takes
effect on the other browser at its next request."""

import re

import httpx
import pytest
from sqlalchemy import select

from app.dashboard.models import PanelMember, PanelSession
from app.digits import persian_digits
from app.http import tls
from tests.dashboard.conftest import Panel

COLLEAGUE = "+989127654321"


def location(response: httpx.Response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:500])
    return response.headers["location"]


@pytest.fixture
def second_browser(live_server, factory):
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      follow_redirects=False) as client:
        yield Panel(client, factory)


def _add(panel: Panel, phone: str, name: str, role: str = "member") -> httpx.Response:
    panel.get("/panel/people")
    return panel.post("/panel/people", {"phone": phone, "name": name, "role": role})


def _member_id(factory, phone: str) -> int:
    with factory() as session:
        return session.scalar(select(PanelMember.id).where(PanelMember.phone == phone))


def test_the_people_page_lists_members_in_persian(panel, seeded):
    page = panel.get("/panel/people")
    assert page.status_code == 200 and 'aria-current="page">افراد<' in page.text
    phone = "0" + seeded.store.owner_phone[3:]
    shown = persian_digits(f"{phone[:4]} {phone[4:7]} {phone[7:]}")
    assert shown in page.text and "مالک" in page.text and "همین مرورگر" in page.text
    # The last sign-in, a Jalali date and time in Persian digits.
    assert re.search(r"۱۴[۰-۹]{2}/[۰-۹]{2}/[۰-۹]{2} [۰-۹]{2}:[۰-۹]{2}", page.text)
    # The other shop's people are not here.
    assert persian_digits(seeded.other.owner_phone[-4:]) not in page.text


def test_an_owner_adds_a_member_who_then_signs_in(panel, seeded, factory, second_browser):
    added = _add(panel, "۰۹۱۲ ۷۶۵ ۴۳۲۱", "رضا")
    assert location(added) == "/panel/people?ok=added"
    assert "رضا" in panel.get("/panel/people").text
    again = _add(panel, "+989127654321", "رضا دوباره")
    assert again.status_code == 200 and "این شماره از پیش عضو پنل این فروشگاه است" in again.text
    bad = _add(panel, "021-4455", "تلفن ثابت")
    assert "این شمارهٔ موبایل معتبر نیست" in bad.text and 'value="021-4455"' in bad.text
    nameless = _add(panel, "09121110000", "  ")
    assert "این خانه را پر کنید." in nameless.text
    with factory() as session:
        assert session.scalars(select(PanelMember.name).where(
            PanelMember.store_id == seeded.store.id)).all() == ["مالک", "رضا"]

    second_browser.sign_in(COLLEAGUE)
    people = second_browser.get("/panel/people")
    assert people.status_code == 200 and 'id="add-member"' not in people.text
    # A member adds and removes nobody.
    refused = second_browser.post("/panel/people", {"phone": "09121112233", "name": "x"})
    assert refused.status_code == 404
    owner_id = _member_id(factory, seeded.store.owner_phone)
    assert second_browser.post(f"/panel/people/{owner_id}/remove").status_code == 404


def test_ending_a_session_from_the_people_page_signs_that_browser_out(panel, seeded, factory,
                                                                      second_browser):
    _add(panel, COLLEAGUE, "رضا")
    second_browser.sign_in(COLLEAGUE)
    assert second_browser.get("/panel").status_code == 200
    page = panel.get("/panel/people")
    assert page.text.count("پایان نشست") == 2
    with factory() as session:
        theirs = session.scalar(select(PanelSession.id).join(PanelMember).where(
            PanelMember.phone == COLLEAGUE))
    ended = panel.post("/panel/people/sessions/end", {"session": theirs})
    assert location(ended) == "/panel/people?ok=ended"
    assert location(second_browser.get("/panel")).startswith("/panel/login?reason=ended")
    assert panel.get("/panel").status_code == 200  # the owner's own goes on
    # Another store's session, or one already ended, is nothing to end.
    assert panel.post("/panel/people/sessions/end", {"session": theirs}).status_code == 404


def test_a_removed_member_loses_access_at_once(panel, seeded, factory, second_browser):
    _add(panel, COLLEAGUE, "رضا", role="owner")
    second_browser.sign_in(COLLEAGUE)
    colleague = _member_id(factory, COLLEAGUE)
    removed = panel.post(f"/panel/people/{colleague}/remove")
    assert location(removed) == "/panel/people?ok=removed"
    assert location(second_browser.get("/panel")).startswith("/panel/login?reason=invalid")
    with factory() as session:
        assert session.scalars(select(PanelSession).where(
            PanelSession.member_id == colleague)).all() == []
    # And they get no code any more (the same page, no SMS).
    second_browser.ask_code(COLLEAGUE)
    assert "این کد درست نیست" in second_browser.send_code("000000").text


def test_an_owner_cannot_remove_themselves(panel, seeded, factory):
    me = _member_id(factory, seeded.store.owner_phone)
    panel.get("/panel/people")
    refused = panel.post(f"/panel/people/{me}/remove")
    assert refused.status_code == 200 and "خودتان را نمی‌توانید حذف کنید" in refused.text
    assert f"/panel/people/{me}/remove" not in refused.text  # no button for it either
    other_store = _member_id(factory, seeded.other.owner_phone)
    assert panel.post(f"/panel/people/{other_store}/remove").status_code == 404


def test_a_member_ends_only_their_own_sessions(panel, seeded, factory, second_browser):
    _add(panel, COLLEAGUE, "رضا")
    second_browser.sign_in(COLLEAGUE)
    with factory() as session:
        rows = dict(session.execute(select(PanelMember.phone, PanelSession.id).join(
            PanelSession, PanelSession.member_id == PanelMember.id)).all())
    page = second_browser.get("/panel/people")
    assert page.text.count("پایان نشست") == 1  # a button for their own session only
    refused = second_browser.post("/panel/people/sessions/end",
                                  {"session": rows[seeded.store.owner_phone]})
    assert refused.status_code == 404 and panel.get("/panel").status_code == 200
    mine = second_browser.post("/panel/people/sessions/end", {"session": rows[COLLEAGUE]})
    assert location(mine) == "/panel/login?reason=signed_out"
    assert location(second_browser.get("/panel")).startswith("/panel/login")


def test_only_an_owner_makes_a_new_api_key(panel, seeded, factory, second_browser,
                                           live_server):
    """A new key stops every integration at once: a member sees why there is no button, and
    the address answers them as unknown; the key stays as it was."""
    _add(panel, COLLEAGUE, "رضا")
    second_browser.sign_in(COLLEAGUE)
    settings = second_browser.get("/panel/settings")
    assert 'id="api-key-owners-only"' in settings.text
    assert "/panel/settings/api-key/rotate" not in settings.text
    refused = second_browser.post("/panel/settings/api-key/rotate")
    assert refused.status_code == 404
    api = httpx.get(f"{live_server.url}/api/v1/store",
                    headers={"Authorization": f"Bearer {seeded.store.api_key}"}, verify=tls())
    assert api.status_code == 200  # the key still works
    assert "/panel/settings/api-key/rotate" in panel.get("/panel/settings").text
