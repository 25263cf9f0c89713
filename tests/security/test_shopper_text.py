"""Finding 9 (and the bidi low finding): what a shopper types as a name went into the SMS
verbatim, so a 200-character "name" with a phishing link was texted from the store's line to a
phone typed at the same checkout. Names are now cleaned before any template sees them (a name
that is not a name is dropped and the template's fallback shows), and direction override
characters are stripped when carts and orders are stored."""

from sqlalchemy import select

from app.commerce.models import Cart, Order
from app.contacts.models import Contact
from tests.campaigns.shop import tehran

AT = tehran("2026-11-24T10:00")
DUE = tehran("2026-11-24T11:05")
TEMPLATE = 'سلام {{ first_name or "مشتری" }} {{ last_name }}، سبدت منتظرته: {{ link }}'
PHISHING = ("حساب شما مسدود شد برای رفع مسدودی وارد شوید https://evil.example/bank/login "
            "یا با ۰۹۱۲۹۹۹۸۸۷۷ تماس بگیرید ") * 3
RLO, PDF, LRI, PDI = "\u202e", "\u202c", "\u2066", "\u2069"


def test_a_phishing_name_is_not_texted_the_fallback_is(shop):
    shop.set_step("abandoned_cart", 1, template=TEMPLATE)
    shop.cart("phish-cart-0001", AT, name=PHISHING[:200])
    shop.tick(DUE)
    [sms] = shop.sms()
    assert sms.text.startswith("سلام مشتری رضایی،")
    for bait in ("evil", "https://evil", "مسدود", "۰۹۱۲۹۹۹۸۸۷۷"):
        assert bait not in sms.text


def test_a_name_with_an_e_mail_or_a_long_number_is_dropped_too(shop):
    shop.set_step("abandoned_cart", 1, template=TEMPLATE)
    shop.cart("phish-cart-0002", AT, name="win@prize.example", phone="09121230001")
    shop.cart("phish-cart-0003", AT, name="کد ۱۲۳۴۵۶۷۸", phone="09121230002")
    shop.cart("phish-cart-0004", AT, name="bit.ly/free", phone="09121230003")
    shop.tick(DUE)
    assert [s.text.split("،")[0] for s in shop.sms()] == ["سلام مشتری رضایی"] * 3


def test_an_ordinary_persian_name_is_kept_with_its_zero_width_non_joiner(shop):
    shop.set_step("abandoned_cart", 1, template=TEMPLATE)
    shop.cart("plain-cart-0001", AT, name="محمد\u200cرضا")
    shop.tick(DUE)
    [sms] = shop.sms()
    assert sms.text.startswith("سلام محمد\u200cرضا رضایی،")


def test_direction_overrides_are_stripped_when_stored_and_when_sent(shop, factory):
    shop.set_step("abandoned_cart", 1, template=TEMPLATE)
    shop.cart("bidi-cart-0001", AT, name=f"{RLO}علی{PDF}{LRI}\u200f")
    with factory() as session:
        cart = session.scalar(select(Cart).where(Cart.token == "bidi-cart-0001"))
        contact = session.get(Contact, cart.contact_id)
        assert (cart.first_name, contact.first_name) == ("علی", "علی")
    shop.tick(DUE)
    [sms] = shop.sms()
    assert sms.text.startswith("سلام علی رضایی،")
    assert not set(sms.text) & {RLO, PDF, LRI, PDI, "\u200f"}


def test_an_orders_names_are_stored_without_direction_overrides(shop, factory, client, store):
    from tests.helpers import deliver

    response = deliver(client, store, "order.updated", {
        "id": 5002, "number": "5002", "status": "pending", "currency": "IRT", "total": "1000",
        "billing": {"first_name": f"{RLO}رضا{PDF}", "last_name": f"{LRI}احمدی{PDI}\u200e",
                    "phone": "09121230010"},
        "line_items": [], "date_created_gmt": "2026-11-24T06:30:00",
        "date_modified_gmt": "2026-11-24T06:30:00"})
    assert response.status_code == 200, response.text
    shop.apply(AT)
    with factory() as session:
        order = session.scalar(select(Order).where(Order.wc_id == 5002))
        assert (order.first_name, order.last_name) == ("رضا", "احمدی")
