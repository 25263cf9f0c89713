"""The plugin's SMS consent box at checkout: unticked, nothing more is sent about that cart and
bazgasht keeps nothing personal of it; an order placed with the box unticked opts the customer
out."""

from sqlalchemy import select

from app.campaigns.reasons import Reason
from app.commerce.models import Cart
from app.contacts.models import Contact
from app.db import unit_of_work
from tests.campaigns.shop import tehran


def cart_row(factory, token: str) -> Cart:
    with factory() as session:
        return session.scalars(select(Cart).where(Cart.token == token)).one()


def test_a_shopper_who_unticks_the_box_gets_no_more_reminders_and_their_cart_is_erased(
        shop, factory):
    shop.cart("consent-cart-01", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:05"))
    assert len(shop.sms()) == 1  # the first reminder went out

    # At checkout the shopper unticks the box; the plugin's body carries nothing personal,
    # and bazgasht keeps nothing personal even if a body did.
    shop.cart("consent-cart-01", tehran("2026-11-24T12:00"), consent=False)
    cart = cart_row(factory, "consent-cart-01")
    assert (cart.phone_raw, cart.first_name, cart.items, cart.total, cart.contact_id) == (
        "", "", [], None, None)
    assert cart.declined_at == tehran("2026-11-24T12:00")

    shop.tick(tehran("2026-11-25T11:05"))
    shop.tick(tehran("2026-11-27T11:05"))
    assert len(shop.sms()) == 1
    later = [m for m in shop.messages("abandoned_cart") if m.status == "skipped"]
    assert [m.reason for m in later] == [Reason.CART_DECLINED, Reason.CART_DECLINED]


def test_ticking_the_box_again_brings_the_cart_back(shop, factory):
    shop.cart("consent-cart-02", tehran("2026-11-24T10:00"), consent=False)
    assert cart_row(factory, "consent-cart-02").declined_at is not None
    shop.tick(tehran("2026-11-24T11:05"))
    assert shop.sms() == []  # nothing to send about a declined cart

    shop.cart("consent-cart-02", tehran("2026-11-24T11:10"))
    cart = cart_row(factory, "consent-cart-02")
    assert cart.declined_at is None and cart.contact_id is not None
    shop.tick(tehran("2026-11-24T12:15"))
    assert len(shop.sms()) == 1


def test_an_order_placed_with_the_box_unticked_opts_the_customer_out_once(shop, factory):
    shop.order(7001, tehran("2026-11-24T10:00"), status="pending", sms_consent="no",
               phone="۰۹۱۲۱۱۱۲۲۳۳")
    with factory() as session:
        contact = session.scalars(select(Contact)).one()
    assert (contact.opted_out_at, contact.opt_out_source) == (tehran("2026-11-24T10:00"),
                                                              "checkout")

    # The merchant opts them back in (with their word); a later edit of that old order
    # does not undo it.
    with unit_of_work(factory) as session:
        session.get(Contact, contact.id).opted_out_at = None
    shop.order(7001, tehran("2026-11-24T10:30"), status="processing", sms_consent="no",
               phone="۰۹۱۲۱۱۱۲۲۳۳")
    with factory() as session:
        assert session.get(Contact, contact.id).opted_out_at is None


def test_an_order_with_the_box_ticked_or_without_the_plugin_changes_no_consent(shop, factory):
    shop.order(7002, tehran("2026-11-24T10:00"), sms_consent="yes", phone="09121112233")
    shop.order(7003, tehran("2026-11-24T10:00"), phone="09124445566")
    with factory() as session:
        assert [c.opted_out_at for c in session.scalars(select(Contact))] == [None, None]
