"""The whole loop over HTTP: abandoned cart → SMS with a short link → a preview bot and the
customer's tap → the plugin restores the cart → the order comes back with the cart token →
the cart is recovered and its revenue credited to that message."""

from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select

from app.campaigns.models import Attribution
from app.commerce.models import Cart
from app.links.models import Link
from tests.campaigns.shop import tehran
from tests.factories import store_settings
from tests.links import restore

PHONE_UA = ("Mozilla/5.0 (Linux; Android 13; SM-A135F) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Mobile Safari/537.36")


def test_abandoned_cart_to_recovered_revenue(shop, client, live_server, factory):
    now = tehran("2026-11-24T23:30")
    # Around the clock: quiet hours are tested elsewhere.
    store_settings(factory, shop.store.id, send_from_minute=0, send_until_minute=24 * 60)
    shop.cart("story-cart-0001", now - timedelta(hours=3), total="550000")
    shop.tick(now - timedelta(minutes=90))
    shop.clock.set(now)  # the customer reads it now
    [sms] = shop.sms()
    link = shop.link(sms.text)

    # Telegram fetches a preview when the customer forwards it; then the customer taps.
    preview = client.get(f"/{link.code}", headers={"User-Agent": "TelegramBot (like TwitterBot)"})
    tap = client.get(f"/{link.code}", headers={"User-Agent": PHONE_UA})
    assert preview.status_code == tap.status_code == 302
    live_server.app.state.click_recorder.flush()

    # The store's plugin verifies the token and rebuilds the cart under the same cart token
    # (tests/plugin/test_golden.py runs the plugin's own reader on such a token).
    restored = restore.read(restore.token_of(tap.headers["location"]), shop.store.webhook_secret)
    assert restored["cart"] == "story-cart-0001"

    # The order the restored cart becomes carries the cart token in its meta.
    shop.order(9001, now, cart_token=restored["cart"], phone="09351112233")

    with factory() as session:
        cart = session.scalar(select(Cart).where(Cart.token == "story-cart-0001"))
        [credit] = session.scalars(select(Attribution)).all()
        clicked = session.get(Link, link.id)
    assert cart.converted_at is not None
    assert (credit.message_id, credit.basis, credit.revenue) == (
        link.message_id, "cart_token", 6_000_000)
    assert (clicked.human_clicks, clicked.bot_hits) == (1, 1)
    # The remaining reminders of that cart are off.
    assert [m.status for m in shop.messages("abandoned_cart")] == ["delivered", "skipped", "skipped"]


def test_survey_sms_to_one_answer(shop, client, live_server, factory):
    """Completed order → survey SMS three days later → its short link → the survey page →
    one answer; a second one is refused."""
    from app.surveys.models import SurveyAnswer
    from tests.campaigns.shop import tehran

    shop.order(9100, tehran("2026-11-20T10:00"), status="completed")
    shop.tick(tehran("2026-11-20T10:05"))
    shop.tick(tehran("2026-11-23T10:00"))
    [sms] = shop.sms()
    link = shop.link(sms.text)
    assert link.kind == "survey" and "utm_" not in link.target
    jump = client.get(f"/{link.code}", headers={"User-Agent": PHONE_UA})
    assert jump.status_code == 302
    survey_path = urlsplit(jump.headers["location"]).path
    assert survey_path.startswith("/survey/")
    form = client.get(survey_path)
    assert form.status_code == 200 and "۹۱۰۰" in form.text
    first = client.post(survey_path, data={"rating": "5", "comment": "عالی بود"})
    second = client.post(survey_path, data={"rating": "1", "comment": ""})
    assert (first.status_code, second.status_code) == (200, 409)
    with factory() as session:
        [answer] = session.scalars(select(SurveyAnswer)).all()
    assert (answer.rating, answer.comment) == (5, "عالی بود")
