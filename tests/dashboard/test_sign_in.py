"""Signing in to the panel with a phone and the six-digit code the platform's gateway sent it
(the console gateway here: the SMS is recorded, read back as the merchant would read it)."""

import logging
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from app.dashboard import codes, join
from app.dashboard.auth import COOKIE
from app.dashboard.members import add_member
from app.dashboard.models import OWNER, PanelLoginCode, PanelMember
from app.db import unit_of_work
from app.digits import persian_digits
from app.http import tls
from app.messaging.fake_kavenegar import FakeKavenegar
from app.messaging.gateway import Gateways
from app.messaging.models import ConsoleSms
from app.onboarding import open_store
from app.stores.schemas import StoreCreate
from tests.dashboard.conftest import Panel, sign_in_sms_count, sms_code

STRANGER = "+989350001234"


def location(response: httpx.Response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:500])
    return response.headers["location"]


def wrong(code: str) -> str:
    """Another six digits than the code."""
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_member_signs_in_with_persian_digits_and_the_sms_code(anonymous, seeded, factory):
    assert location(anonymous.get("/panel/campaigns")).startswith("/panel/login")
    national = "0" + seeded.store.owner_phone[3:]
    asked = anonymous.ask_code(persian_digits(national), next="/panel/campaigns")
    assert location(asked) == "/panel/login/code"
    page = anonymous.get("/panel/login/code")
    assert page.status_code == 200 and "کد شش‌رقمی ورود برایش پیامک شد" in page.text
    code = sms_code(factory, seeded.store.owner_phone)
    with factory() as session:
        [row] = session.scalars(select(PanelLoginCode)).all()
    assert code not in row.code_hash  # the database holds an HMAC, not the code

    pending = anonymous.http.cookies.get("bazgasht_panel_pending")
    signed_in = anonymous.send_code(persian_digits(code[:3] + " " + code[3:]))
    assert location(signed_in) == "/panel/campaigns"
    cookie = next(c for c in signed_in.headers.get_list("set-cookie")
                  if c.startswith(f"{COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/panel" in cookie
    home = anonymous.get("/panel")
    assert home.status_code == 200 and "چای‌خانه" in home.text
    for secret in (seeded.store.api_key, seeded.store.webhook_secret, code):
        assert secret not in home.text
    with factory() as session:
        owner = session.scalar(select(PanelMember).where(
            PanelMember.phone == seeded.store.owner_phone))
    assert owner.last_signed_in_at is not None

    # A code opens one session: sent again (the code page replayed), it is refused.
    assert location(anonymous.post("/panel/logout")).endswith("reason=signed_out")
    anonymous.get("/panel/login")
    anonymous.http.cookies.set("bazgasht_panel_pending", pending, path="/panel/login")
    again = anonymous.send_code(code)
    assert again.status_code == 200 and "این کد دیگر معتبر نیست" in again.text
    assert COOKIE not in anonymous.http.cookies


def test_the_sms_text_is_persian_with_persian_digits(anonymous, seeded, factory):
    anonymous.ask_code(seeded.store.owner_phone)
    with factory() as session:
        [sms] = session.scalars(select(ConsoleSms)).all()
    assert re.fullmatch(r"کد ورود به پنل بازگشت: [۰-۹]{6}\nاین کد را به کسی ندهید\.", sms.text)
    assert int(sms.localid) > codes.LOGIN_CODE_LOCALID_BASE  # never a campaign message's id


def test_five_wrong_tries_kill_the_code(anonymous, seeded, factory):
    anonymous.ask_code(seeded.store.owner_phone)
    code = sms_code(factory, seeded.store.owner_phone)
    for left in (4, 3, 2, 1):
        answer = anonymous.send_code(wrong(code))
        assert answer.status_code == 200
        assert f"این کد درست نیست؛ {persian_digits(left)} بار دیگر" in answer.text
    fifth = anonymous.send_code(wrong(code))
    assert "این کد پنج بار اشتباه وارد شد" in fifth.text
    right = anonymous.send_code(code)  # too late: the code is dead
    assert right.status_code == 200 and "پنج بار اشتباه" in right.text
    assert COOKIE not in anonymous.http.cookies
    typo = anonymous.send_code("12a456")
    assert "پنج بار اشتباه" in typo.text


def test_a_code_lives_five_minutes(anonymous, seeded, factory, clock):
    clock.set(clock.now())
    anonymous.ask_code(seeded.store.owner_phone)
    code = sms_code(factory, seeded.store.owner_phone)
    clock.advance(codes.LIFETIME)
    late = anonymous.send_code(code)
    assert late.status_code == 200 and "این کد دیگر معتبر نیست" in late.text
    assert COOKIE not in anonymous.http.cookies


def test_a_new_code_waits_a_minute_and_replaces_the_old_one(anonymous, seeded, factory, clock):
    clock.set(clock.now())
    phone = seeded.store.owner_phone
    anonymous.ask_code(phone)
    first = sms_code(factory, phone)
    clock.advance(timedelta(seconds=30))
    again = anonymous.ask_code(phone)
    assert location(again) == "/panel/login/code?wait=31"
    assert "۳۱ ثانیهٔ دیگر" in anonymous.get(location(again)).text
    resent = anonymous.post("/panel/login/resend", csrf=anonymous.http.cookies.get(
        "bazgasht_panel_login"))
    assert location(resent).startswith("/panel/login/code?wait=")
    assert sign_in_sms_count(factory, phone) == 1
    clock.advance(timedelta(seconds=31))
    resent = anonymous.post("/panel/login/resend", csrf=anonymous.http.cookies.get(
        "bazgasht_panel_login"))
    assert location(resent) == "/panel/login/code"
    assert sign_in_sms_count(factory, phone) == 2
    second = sms_code(factory, phone)
    if second != first:  # one chance in a million that they are the same
        assert "این کد درست نیست" in anonymous.send_code(first).text  # only the new one counts
    assert location(anonymous.send_code(second)) == "/panel"


def test_a_phone_that_is_no_member_gets_the_same_page_and_no_sms(anonymous, seeded, factory):
    member = anonymous.ask_code(seeded.store.owner_phone)
    member_page = anonymous.get("/panel/login/code").text
    anonymous.http.cookies.clear()
    stranger = anonymous.ask_code(persian_digits("09350001234"))
    assert location(stranger) == location(member) == "/panel/login/code"
    stranger_page = anonymous.get("/panel/login/code").text

    def without_phone_and_token(text: str) -> str:
        text = re.sub(r'<span class="phone" dir="ltr">[^<]*</span>', "", text)
        return re.sub(r'name="csrf" value="[^"]+"', "", text)

    assert without_phone_and_token(stranger_page) == without_phone_and_token(member_page)
    assert sign_in_sms_count(factory, STRANGER) == 0
    guess = anonymous.send_code("123456")
    assert guess.status_code == 200 and "این کد درست نیست" in guess.text
    with factory() as session:  # a code row all the same, so the answers cannot differ
        assert session.scalar(select(PanelLoginCode).where(PanelLoginCode.phone == STRANGER))


def test_a_wrong_phone_is_explained_next_to_the_field(anonymous):
    answer = anonymous.ask_code("021-4455")
    assert answer.status_code == 200 and "این شمارهٔ موبایل معتبر نیست" in answer.text
    assert 'aria-invalid="true"' in answer.text


def test_a_phone_of_two_stores_picks_the_store(anonymous, seeded, factory, clock):
    with unit_of_work(factory) as session:
        add_member(session, store_id=seeded.other.id, phone=seeded.store.owner_phone,
                   name="سارا", now=clock.now())
    anonymous.ask_code(seeded.store.owner_phone)
    choice = anonymous.send_code(sms_code(factory, seeded.store.owner_phone))
    assert choice.status_code == 200 and "کدام فروشگاه؟" in choice.text
    assert "چای‌خانه" in choice.text and "قهوه‌خانه" in choice.text
    member = re.search(rf'name="member" value="(\d+)" data-store="{seeded.other.id}"',
                       choice.text)[1]
    ticket = re.search(r'name="ticket" value="([^"]+)"', choice.text)[1]
    token = anonymous.http.cookies.get("bazgasht_panel_login")
    forged = anonymous.post("/panel/login/store", {"member": member, "ticket": ticket + "x"},
                            csrf=token)
    assert forged.status_code == 403 and COOKIE not in anonymous.http.cookies
    owner_of_first = re.search(rf'value="(\d+)" data-store="{seeded.store.id}"',
                               choice.text)[1]
    assert owner_of_first != member
    chosen = anonymous.post("/panel/login/store", {"member": member, "ticket": ticket},
                            csrf=token)
    assert location(chosen) == "/panel"
    home = anonymous.get("/panel")
    assert "قهوه‌خانه" in home.text and "۹٬۹۰۰٬۰۰۰" not in home.text.split("<main>")[0]


def test_the_code_is_logged_only_when_the_console_gateway_sends_it(anonymous, seeded, factory,
                                                                   caplog):
    caplog.set_level(logging.INFO, logger="app.dashboard.codes")
    anonymous.ask_code(seeded.store.owner_phone)
    code = sms_code(factory, seeded.store.owner_phone)
    [line] = [r.getMessage() for r in caplog.records if r.name == "app.dashboard.codes"]
    assert line == (f"panel sign-in code for …{seeded.store.owner_phone[-4:]}: {code} "
                    "(console gateway: no SMS left this machine)")
    caplog.clear()
    with FakeKavenegar(api_key="platform-code-key-0001") as fake:
        gateway = Gateways(factory, kavenegar_base_url=fake.base_url,
                           platform_key="platform-code-key-0001",
                           platform_sender="2000660110").platform()
        issued = codes.Issued(id=7, phone=seeded.store.owner_phone, code="402913")
        assert codes.send(gateway, issued, "کد ورود به پنل بازگشت: ۴۰۲۹۱۳")
        [sent] = fake.messages
    assert sent.receptor.endswith(seeded.store.owner_phone[-10:]) and "۴۰۲۹۱۳" in sent.message
    assert sent.localid == issued.localid
    assert not [r for r in caplog.records if "402913" in r.getMessage()]


@pytest.fixture
def ownerless(factory, clock):
    """A store created without an owner, and a join link to its panel."""
    with unit_of_work(factory) as session:
        store, _ = open_store(session, StoreCreate(name="گل‌فروشی", url="https://gol.example"))
        return store.id, join.new_link(session, store_id=store.id, now=clock.now())


def test_a_join_link_makes_its_first_owner_once(anonymous, ownerless, factory, live_server):
    store_id, token = ownerless
    url = f"/panel/join/{token}"
    form = anonymous.get(url)
    assert form.status_code == 200 and "پیوستن به پنل «گل‌فروشی»" in form.text
    login_token = anonymous.http.cookies.get("bazgasht_panel_login")
    missing = anonymous.post(url, {"phone": "", "name": ""}, csrf=login_token)
    assert missing.text.count("این خانه را پر کنید.") == 2
    asked = anonymous.post(url, {"phone": persian_digits("09350001234"), "name": " نگار "},
                           csrf=login_token)
    assert location(asked) == "/panel/login/code"
    assert "کد شش‌رقمی به" in anonymous.get("/panel/login/code").text
    assert location(anonymous.send_code(sms_code(factory, STRANGER))) == "/panel"
    assert "گل‌فروشی" in anonymous.get("/panel").text
    with factory() as session:
        [owner] = session.scalars(select(PanelMember).where(
            PanelMember.store_id == store_id)).all()
    assert (owner.phone, owner.name, owner.role) == (STRANGER, "نگار", OWNER)

    # Used up: the link answers nothing to anyone any more.
    with httpx.Client(verify=tls(), base_url=live_server.url, follow_redirects=False) as other:
        late = Panel(other, factory)
        gone = late.get(url)
        assert gone.status_code == 404 and "پیوند پیوستن معتبر نیست" in gone.text
        refused = late.post(url, {"phone": "09121112233", "name": "x"},
                            csrf=late.http.cookies.get("bazgasht_panel_login"))
        assert refused.status_code == 404
    assert sign_in_sms_count(factory, "+989121112233") == 0


def test_a_join_link_used_by_another_meanwhile_signs_nobody_in(anonymous, ownerless, factory,
                                                               live_server):
    _, token = ownerless
    url = f"/panel/join/{token}"
    anonymous.get(url)
    anonymous.post(url, {"phone": "09350001234", "name": "نگار"},
                   csrf=anonymous.http.cookies.get("bazgasht_panel_login"))
    with httpx.Client(verify=tls(), base_url=live_server.url, follow_redirects=False) as other:
        quicker = Panel(other, factory)
        quicker.get(url)
        quicker.post(url, {"phone": "09121112233", "name": "رضا"},
                     csrf=quicker.http.cookies.get("bazgasht_panel_login"))
        assert location(quicker.send_code(sms_code(factory, "+989121112233"))) == "/panel"
    late = anonymous.send_code(sms_code(factory, STRANGER))
    assert late.status_code == 200 and "این پیوند پیوستن پیش‌تر به کار رفته" in late.text
    assert COOKIE not in anonymous.http.cookies


def test_a_join_link_runs_out_after_seven_days(anonymous, ownerless, clock):
    _, token = ownerless
    clock.set(clock.now() + join.LIFETIME)
    assert anonymous.get(f"/panel/join/{token}").status_code == 404


def test_the_code_sms_goes_out_after_the_page_has_answered(anonymous, seeded, live_server):
    """A real gateway's round trip is not inside the request: the page answers while the
    gateway still holds its answer, so a member's phone answers as fast as a stranger's."""
    from tests.ops.conftest import wait_until

    state = live_server.app.state
    with FakeKavenegar(api_key="platform-code-key-0002") as fake:
        own, state.gateways = state.gateways, Gateways(
            state.sessionmaker, kavenegar_base_url=fake.base_url, read_timeout=5,
            platform_key="platform-code-key-0002", platform_sender="2000660110")
        fake.hold("sms/send")
        try:
            # Inline, this request would wait for release() below and time out (10 s).
            asked = anonymous.ask_code(seeded.store.owner_phone)
            assert location(asked) == "/panel/login/code"
            wait_until(lambda: fake.holding("sms/send") == 1, what="the code's SMS")
            fake.release("sms/send")
            wait_until(lambda: len(fake.messages) == 1, what="the SMS to be recorded")
        finally:
            state.gateways = own
    [sent] = fake.messages
    assert sent.receptor.endswith(seeded.store.owner_phone[-10:])
