"""bazgasht and its WordPress plugin agree on the wire: the plugin's own PHP (run here with
Debian's php) reads what bazgasht mints, and bazgasht ingests what the plugin builds, signed
the way WooCommerce signs it."""

import base64
from datetime import timedelta

from sqlalchemy import select

from app.commerce.models import Cart
from app.contacts.models import Contact
from app.links.restore import restore_token
from app.stores.plugin import connection_code
from app.stores.service import webhook_url
from tests.campaigns.shop import tehran
from tests.helpers import deliver
from tests.links import restore
from tests.plugin.php import php_script

NOW = tehran("2026-11-24T11:05")
ITEMS = [{"product_id": 11, "variation_id": 0, "quantity": 2},
         {"product_id": 12, "variation_id": 31, "quantity": 1.5}]


def plugin_reads(secret: str, token: str, now) -> dict:
    return php_script("restore_token.php", {"secret": secret, "token": token,
                                            "now": int(now.timestamp())})


def test_a_restore_link_bazgasht_sent_restores_in_the_plugin(shop, store):
    shop.cart("golden-cart-0001", tehran("2026-11-24T10:00"))
    shop.tick(NOW)
    [sms] = shop.sms()
    token = restore.token_of(shop.link(sms.text).target)

    read = plugin_reads(store.webhook_secret, token, NOW + timedelta(days=2))
    assert read == {"valid": True, "cart": "golden-cart-0001", "items": [[11, 0, 2]],
                    "coupon": None, "exp": int((NOW + timedelta(days=30)).timestamp())}


def test_the_plugin_takes_the_coupon_and_fractional_quantities_as_minted(store):
    token = restore_token(store.webhook_secret, cart_token="golden-cart-0002", items=ITEMS,
                          coupon="BZ-7K2Q", now=NOW)
    read = plugin_reads(store.webhook_secret, token, NOW)
    assert (read["valid"], read["coupon"], read["items"]) == (
        True, "BZ-7K2Q", [[11, 0, 2], [12, 31, 1.5]])


def test_the_plugin_refuses_altered_foreign_and_expired_tokens(store):
    token = restore_token(store.webhook_secret, cart_token="golden-cart-0003", items=ITEMS,
                          coupon=None, now=NOW)
    payload, _, signature = token.partition(".")
    # Another cart's payload under this signature; the same token at another store; a month on.
    other = restore_token(store.webhook_secret, cart_token="someone-elses", items=ITEMS,
                          coupon="FREE", now=NOW).partition(".")[0]
    answers = [plugin_reads(store.webhook_secret, f"{other}.{signature}", NOW),
               plugin_reads("another-stores-secret-0123456789", token, NOW),
               plugin_reads(store.webhook_secret, token, NOW + timedelta(days=31)),
               plugin_reads(store.webhook_secret, "not a token", NOW),
               plugin_reads(store.webhook_secret, payload, NOW)]
    assert [a["valid"] for a in answers] == [False] * 5
    assert [a["why"] for a in answers[:3]] == ["forged", "forged", "expired"]


def test_the_cart_body_the_plugin_builds_is_ingested_by_bazgasht(shop, store, client, factory):
    row = {"token": "Gx7pQ2mZk9LrT4vW8yB1nC3dF5hJ6sA0", "phone": "۰۹۱۲۳۴۵۶۷۸۹",
           "first_name": "علی", "last_name": "رضایی", "email": "ali@example.com",
           "items": [{"product_id": 11, "variation_id": 0, "name": "چای سبز «ممتاز»/۱۰۰ گرمی",
                      "quantity": 2, "price": "275000", "total": "550000"}],
           "total": "550000", "currency": "IRT", "consent": True,
           "modified_gmt": "2026-11-24T06:30:00"}
    built = php_script("cart_body.php", {"secret": store.webhook_secret, "cart": row,
                                         "home": "https://shop.example/"})
    body = base64.b64decode(built["body_base64"])
    # WordPress's JSON: non-ASCII as \\uXXXX, "/" as "\\/" — signed over exactly these bytes.
    assert b"\\u0686" in body and b"\\/" in body

    answer = deliver(client, store, "bazgasht_cart.updated", body, signature=built["signature"])
    assert answer.status_code == 200, answer.text
    shop.apply(tehran("2026-11-24T10:00"))
    with factory() as session:
        cart = session.scalars(select(Cart).where(Cart.token == row["token"])).one()
        assert (cart.first_name, cart.email, cart.total, cart.currency) == (
            "علی", "ali@example.com", 5_500_000, "IRT")
        assert session.get(Contact, cart.contact_id).phone == "+989123456789"
        assert [(i["product_id"], i["name"], i["quantity"]) for i in cart.items] == [
            (11, "چای سبز «ممتاز»/۱۰۰ گرمی", 2)]
        assert cart.declined_at is None
        assert cart.restore_url == "https://shop.example/"
        assert cart.modified_gmt == tehran("2026-11-24T10:00")


def test_a_declined_cart_body_from_the_plugin_erases_the_cart_in_bazgasht(shop, store, client,
                                                                          factory):
    token = "Dq4wE8rT2yU6iO0pA3sD7fG1hJ5kL9zX"
    shop.cart(token, tehran("2026-11-24T09:00"))
    built = php_script("cart_body.php", {"secret": store.webhook_secret, "home":
                                         "https://shop.example/", "cart": {
        "token": token, "phone": "09123456789", "first_name": "علی", "last_name": "",
        "email": "", "items": [], "total": "0", "currency": "IRT", "consent": False,
        "modified_gmt": "2026-11-24T06:00:00"}})
    answer = deliver(client, store, "bazgasht_cart.updated",
                     base64.b64decode(built["body_base64"]), signature=built["signature"])
    assert answer.status_code == 200, answer.text
    shop.apply(tehran("2026-11-24T09:30"))
    with factory() as session:
        cart = session.scalars(select(Cart).where(Cart.token == token)).one()
        assert (cart.phone_raw, cart.first_name, cart.contact_id, cart.items) == ("", "", None, [])
        assert cart.declined_at is not None


def test_the_connection_code_bazgasht_shows_is_what_the_plugin_reads(store, live_server,
                                                                     factory):
    from app.stores.models import Store

    with factory() as session:
        row = session.get(Store, store.id)
        url = webhook_url(live_server.url, store.id)
        code = connection_code(row, url)
    # Pasted from a phone: broken over lines, with spaces around.
    pasted = "  " + "\n".join(code[i:i + 40] for i in range(0, len(code), 40)) + "\n"
    assert php_script("connection_code.php", {"code": pasted}) == {
        "valid": True, "url": url, "secret": store.webhook_secret, "store": row.name}
    refused = php_script("connection_code.php", {"code": code[:-6]})
    assert refused["valid"] is False and refused["error"]
