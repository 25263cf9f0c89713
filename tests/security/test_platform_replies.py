"""Finding 8: replies to the platform's shared line were never read, so a shopper texted by a
pay-as-you-go store could not stop it with «۱۱». The line is now read like a store's own, and
a reply there reaches every platform store that has texted that phone on it."""

from sqlalchemy import select

from app.contacts.models import Contact
from tests.campaigns.shop import tehran
from tests.security.conftest import PLATFORM_LINE, on_platform

AT = tehran("2026-11-24T10:00")
SENT = tehran("2026-11-24T11:05")  # the first cart reminders go out
X, Y = "09121110001", "09121110002"


def opted_out(factory, store_id: int, e164: str) -> bool | None:
    """None: the store has no such contact."""
    with factory() as session:
        contact = session.scalar(select(Contact).where(Contact.store_id == store_id,
                                                       Contact.phone == e164))
        return None if contact is None else contact.opted_out_at is not None


def both_on_platform(shop, other_shop, admin_client, platform):
    """Both shops pay as they go, sending through the platform's line; the fake Kavenegar."""
    fake, gateways = platform
    for one in (shop, other_shop):
        on_platform(one, admin_client)
        one.gateway = gateways
    return fake


def test_stop_on_the_platform_line_opts_out_at_every_store_that_texted_there(
        shop, other_shop, admin_client, factory, platform):
    fake = both_on_platform(shop, other_shop, admin_client, platform)
    shop.cart("plat-x-a", AT, phone=X)
    other_shop.cart("plat-x-b", AT, phone=X)
    other_shop.cart("plat-y-b", AT, phone=Y)
    shop.tick(SENT)
    assert len(fake.messages) == 3 and {m.sender for m in fake.messages} == {PLATFORM_LINE}

    fake.push_inbound(X, "۱۱", line=PLATFORM_LINE)
    shop.tick(tehran("2026-11-24T11:06"))

    assert opted_out(factory, shop.store.id, "+989121110001") is True
    assert opted_out(factory, other_shop.store.id, "+989121110001") is True
    assert opted_out(factory, other_shop.store.id, "+989121110002") is False  # not Y

    fake.push_inbound(X, "12", line=PLATFORM_LINE)  # and back in, at both
    shop.tick(tehran("2026-11-24T11:07"))
    assert opted_out(factory, shop.store.id, "+989121110001") is False
    assert opted_out(factory, other_shop.store.id, "+989121110001") is False


def test_a_stop_reaches_only_the_stores_that_texted_that_phone(shop, other_shop, admin_client,
                                                               factory, platform):
    fake = both_on_platform(shop, other_shop, admin_client, platform)
    shop.cart("plat-y-a", AT, phone=Y)
    other_shop.cart("plat-x-b", AT, phone=X)
    shop.tick(SENT)

    fake.push_inbound(Y, "لغو", line=PLATFORM_LINE)
    fake.push_inbound(X, "ممنون", line=PLATFORM_LINE)  # not a stop
    shop.tick(tehran("2026-11-24T11:06"))

    assert opted_out(factory, shop.store.id, "+989121110002") is True
    assert opted_out(factory, other_shop.store.id, "+989121110002") is None  # never texted Y
    assert opted_out(factory, other_shop.store.id, "+989121110001") is False
