"""Short links over real HTTP: redirect, bots, no open redirect, cart restore, Persian 404."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update

from app.db import unit_of_work
from app.links.models import Click, Link
from app.links.restore import RESTORE_PARAM
from app.links.service import CODE_LENGTH
from tests.campaigns.shop import tehran
from tests.factories import set_product

PHONE_UA = ("Mozilla/5.0 (Linux; Android 13; SM-A135F) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Mobile Safari/537.36")
PREVIEW_BOTS = ["TelegramBot (like TwitterBot)", "WhatsApp/2.23.20.0 A",
                "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
                "python-httpx/0.27.0", ""]


@pytest.fixture
def recorder(live_server):
    return live_server.app.state.click_recorder


def first_cart_sms(shop, token="link-cart-0001", **cart):
    shop.cart(token, tehran("2026-11-24T10:00"), **cart)
    shop.tick(tehran("2026-11-24T11:05"))
    [sms] = shop.sms()
    return sms


def path(link: Link) -> str:
    return f"/{link.code}"


def test_the_sms_link_is_short_and_redirects_to_the_cart_restore_with_utm(shop, client):
    sms = first_cart_sms(shop)
    link = shop.link(sms.text)
    assert len(link.code) == CODE_LENGTH and link.kind == "cart"
    response = client.get(path(link), headers={"User-Agent": PHONE_UA})
    assert response.status_code == 302
    assert response.headers["x-robots-tag"] == "noindex, nofollow"
    target = urlsplit(response.headers["location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "shop.example", "/")
    query = parse_qs(target.query)
    assert query["utm_source"] == ["sms"] and query["utm_medium"] == ["bazgasht"]
    assert query["utm_campaign"] == ["abandoned_cart"] and query["utm_content"] == ["step1"]
    assert RESTORE_PARAM in query


def test_bots_and_head_requests_are_kept_apart_from_human_clicks(shop, client, recorder, factory):
    link = shop.link(first_cart_sms(shop).text)
    for agent in PREVIEW_BOTS:
        assert client.get(path(link), headers={"User-Agent": agent}).status_code == 302
    assert client.head(path(link), headers={"User-Agent": PHONE_UA}).status_code == 302
    for _ in range(2):  # the customer taps twice: one unique human click for the message
        assert client.get(path(link), headers={"User-Agent": PHONE_UA}).status_code == 302
    recorder.flush()
    with factory() as session:
        row = session.get(Link, link.id)
        clicks = session.scalars(select(Click).where(Click.link_id == link.id)).all()
    assert (row.human_clicks, row.bot_hits) == (1, len(PREVIEW_BOTS) + 1)
    assert row.first_clicked_at is not None and row.last_clicked_at >= row.first_clicked_at
    assert sorted(c.bot for c in clicks) == [False] + [True] * (len(PREVIEW_BOTS) + 1)
    assert {c.message_id for c in clicks} == {link.message_id}


def test_a_bot_preview_alone_is_no_click(shop, client, recorder, factory):
    link = shop.link(first_cart_sms(shop).text)
    client.get(path(link), headers={"User-Agent": PREVIEW_BOTS[0]})
    recorder.flush()
    with factory() as session:
        row = session.get(Link, link.id)
    assert (row.human_clicks, row.bot_hits, row.first_clicked_at) == (0, 1, None)


@pytest.mark.parametrize("code", ["zzzzzzz", "abc", "a" * 40, "healthz2", "%D8%A7%D8%A8"])
def test_unknown_codes_get_a_persian_404_page(client, factory, code):
    response = client.get(f"/{code}", headers={"User-Agent": PHONE_UA})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert 'dir="rtl"' in response.text and "این صفحه پیدا نشد" in response.text
    assert response.headers["x-robots-tag"] == "noindex, nofollow"


def test_an_expired_link_is_not_followed(shop, client, factory):
    link = shop.link(first_cart_sms(shop).text)
    with unit_of_work(factory) as session:  # the expiry under test: a second ago
        session.execute(update(Link).where(Link.id == link.id)
                        .values(expires_at=shop.clock.now() - timedelta(seconds=1)))
    assert client.get(path(link)).status_code == 404


def test_no_open_redirect_even_for_a_link_pointing_off_site(shop, client, factory):
    link = shop.link(first_cart_sms(shop).text)
    with unit_of_work(factory) as session:  # as if a bug or a bad row had put it there
        session.execute(update(Link).where(Link.id == link.id)
                        .values(target="https://evil.example/phish"))
    assert client.get(path(link)).status_code == 404


def test_a_product_page_on_another_site_is_never_a_target(shop, factory):
    shop.product(11, cross_sells=[12])
    shop.product(12, name="قوری")
    # The mirror holds whatever the store sent.
    set_product(factory, shop.store.id, 12, permalink="https://evil.example/p/12")
    shop.set_step("cross_sell", 1, delay_minutes=60)
    shop.order(901, tehran("2026-11-20T10:00"), status="completed")
    shop.tick(tehran("2026-11-20T10:05"))
    shop.tick(tehran("2026-11-20T11:05"))
    [sms] = [s for s in shop.sms() if "قوری" in s.text]
    link = shop.link(sms.text)
    assert link.kind == "store" and link.target.startswith("https://shop.example?utm_source=sms")


def test_a_single_item_cart_without_the_plugin_restore_goes_to_add_to_cart(shop, factory):
    from app.commerce.models import Cart

    shop.cart("no-restore-01", tehran("2026-11-24T10:00"))
    with unit_of_work(factory) as session:  # an older plugin: no restore URL reported
        session.execute(update(Cart).values(restore_url=""))
    shop.tick(tehran("2026-11-24T11:05"))
    [sms] = shop.sms()
    link = shop.link(sms.text)
    target = urlsplit(link.target)
    assert (target.netloc, target.path) == ("shop.example", "/")
    query = parse_qs(target.query)
    assert query["add-to-cart"] == ["11"] and query["quantity"] == ["2"]
    assert RESTORE_PARAM not in query and query["utm_source"] == ["sms"]


def test_the_restore_link_carries_the_cart_and_expires_signed_with_the_store_secret(
        shop, client, store, factory):
    from tests.helpers import create_store
    from tests.links import restore

    link = shop.link(first_cart_sms(shop).text)
    token = restore.token_of(link.target)
    assert restore.read(token, store.webhook_secret) == {
        "v": 1, "cart": "link-cart-0001", "items": [[11, 0, 2]], "coupon": None,
        # 30 days from when the message was rendered
        "exp": int((tehran("2026-11-24T11:05") + timedelta(days=30)).timestamp())}
    with unit_of_work(factory) as session:
        other = create_store(session, name="دیگری", url="https://other.example")
    # Another store's plugin (another secret) refuses it, and so does a changed token.
    assert restore.read(token, other.webhook_secret) is None
    assert restore.read(token[:-2] + "xx", store.webhook_secret) is None
    # The old exchange endpoint is gone: the plugin needs nothing from bazgasht to restore.
    assert client.post("/plugin/v1/cart-restore", json={"token": token},
                       headers={"Authorization": f"Bearer {store.api_key}"}).status_code == 404


def test_a_message_rendered_again_keeps_its_link(shop, factory):
    from app.campaigns.content import render_context
    from app.campaigns.models import Campaign, CampaignStep, Enrollment, Message
    from app.contacts.models import Contact
    from app.stores.models import Store

    link = shop.link(first_cart_sms(shop).text)
    with unit_of_work(factory) as session:
        message = session.get(Message, link.message_id)
        again = render_context(session, message=message,
                               campaign=session.get_one(Campaign, message.campaign_id),
                               step=session.get_one(CampaignStep, message.step_id),
                               store=session.get_one(Store, message.store_id),
                               contact=session.get_one(Contact, message.contact_id),
                               enrollment=session.get_one(Enrollment, message.enrollment_id),
                               now=link.created_at)
    assert again is not None and again["link"].endswith(f"/{link.code}")
    with factory() as session:
        assert session.scalars(select(Link)).all() == [session.get(Link, link.id)]


def test_a_link_minted_in_a_session_with_nothing_else_to_write_is_written_at_commit(shop,
                                                                                    factory):
    """Links are written in bulk when the session flushes or commits (app/links/service.py
    insert_new): a commit with no other change writes them too."""
    from app.links.service import mint

    link = shop.link(first_cart_sms(shop).text)
    with factory() as session:
        session.execute(Link.__table__.delete())
        session.commit()
    with factory() as session:
        url = mint(session, public_url="https://go.example", store_id=link.store_id,
                   message_id=link.message_id, kind="store", target="https://shop.example/",
                   now=link.created_at)
        assert not session.new and not session.dirty
        session.commit()
    with factory() as session:
        [written] = session.scalars(select(Link)).all()
    assert url == f"https://go.example/{written.code}" and written.target == "https://shop.example/"


def test_a_code_already_taken_is_replaced_and_the_batch_still_goes_out(shop, factory,
                                                                       monkeypatch):
    from app.links import service

    first = shop.link(first_cart_sms(shop).text)
    codes = iter([first.code])  # the next code drawn collides with an existing link
    real = service.new_code
    monkeypatch.setattr(service, "new_code", lambda: next(codes, None) or real())
    shop.cart("second-cart-1", tehran("2026-11-24T10:00"), phone="09121112233")
    shop.tick(tehran("2026-11-24T11:10"))
    second = shop.link(shop.sms()[-1].text)
    assert len(shop.sms()) == 2 and second.code != first.code
    assert second.message_id != first.message_id


def test_no_single_segment_route_could_be_taken_for_a_short_code(live_server):
    """The redirect is routed first for anything shaped like a code: every path of the app
    shaped like one must be a reserved word that no code can be."""
    from app.links.router import CODE
    from app.links.service import RESERVED

    paths = {getattr(route, "path", "") for route in live_server.app.routes}
    single = {p.strip("/") for p in paths if p.count("/") == 1 and "{" not in p}
    shaped = {p for p in single if CODE.fullmatch(p)}
    assert shaped <= {word for word in RESERVED}, shaped - RESERVED
    assert "healthz" in shaped  # the check sees real routes


def test_reserved_words_are_not_redirected(client):
    assert client.get("/healthz").json() == {"ok": True}
