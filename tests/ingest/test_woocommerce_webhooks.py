"""A store's WooCommerce sends its webhooks to bazgasht; the mirrors follow.

Deliveries go over real HTTP to a live server, and are applied with process_pending, as the
worker (or the embedded thread of `serve`) does.
"""

import copy
import json

import pytest
from sqlalchemy import func, select

from app.commerce.models import Cart, Order, Product
from app.contacts.models import Contact
from app.db import unit_of_work
from app.ingest.models import WebhookDelivery
from app.ingest.service import process_pending
from app.stores.service import set_enabled
from tests.factories import store_settings
from tests.helpers import capture, deliver, docs_payload, sign, wc_body

REAL_SECRET = "testsecret123"  # the secret the real captures were signed with


def rows(factory, model, *where):
    with factory() as session:
        return session.scalars(select(model).where(*where).order_by(model.id)).all()


def count(factory, model) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def real_store(factory, store):
    """The store the captures came from: same secret, so their original signatures verify."""
    store_settings(factory, store.id, webhook_secret=REAL_SECRET, currency="IRT")
    store.webhook_secret = REAL_SECRET
    return store


def replay(client, store, fixtures_dir, name, *, path_suffix=""):
    """Send a captured delivery byte for byte, with its original headers and signature."""
    headers, body = capture(fixtures_dir, name)
    keep = {k: v for k, v in headers.items()
            if k.lower() not in ("host", "content-length", "connection", "accept-encoding")}
    return client.post(f"/webhooks/woocommerce/{store.id}{path_suffix}", content=body,
                       headers=keep)


def order_payload(fixtures_dir, **changes) -> dict:
    _, body = capture(fixtures_dir, "010_order.created.json")
    import json
    payload = json.loads(body)
    payload.update(changes)
    return payload


# --- the real captures --------------------------------------------------------------------

def test_creation_ping_gets_exactly_200_and_stores_nothing(client, real_store, factory, fixtures_dir):
    response = replay(client, real_store, fixtures_dir, "001_ping.json")
    assert response.status_code == 200
    assert count(factory, WebhookDelivery) == 0


def test_real_store_deliveries_land_in_the_mirrors(client, real_store, factory, fixtures_dir, clock):
    for name in ("008_product.created.json", "010_order.created.json",
                 "014_order.updated.json", "017_order.deleted.json"):
        response = replay(client, real_store, fixtures_dir, name)
        assert response.status_code == 200, (name, response.text)
    assert process_pending(factory, now=clock.now()) == 4

    [teapot] = rows(factory, Product)
    assert (teapot.wc_id, teapot.name) == (12, "قوری چینی")
    assert teapot.price == 16_000_000 and teapot.regular_price == 18_500_000  # IRT → rial
    assert teapot.cross_sell_ids == [11] and teapot.upsell_ids == [11]
    assert teapot.permalink.startswith("http://127.0.0.1:8090/product/")
    assert teapot.categories == [{"id": 15, "name": "Uncategorized"}]

    order13, order14 = rows(factory, Order)
    assert (order13.wc_id, order13.status, order13.purchased) == (13, "completed", True)
    assert order13.total == 22_000_000 and order13.currency == "IRT"
    assert (order13.first_name, order13.last_name) == ("علی", "رضایی")
    assert [i["product_id"] for i in order13.items] == [11, 12]
    assert order13.items[0]["price"] == 2_750_000
    assert order13.completed_gmt.isoformat() == "2026-11-23T03:40:20+00:00"
    # The trashed order 14 was never seen before: a tombstone keeps it from coming back.
    assert (order14.wc_id, order14.purchased) == (14, False) and order14.deleted_at is not None

    [contact] = rows(factory, Contact)
    assert contact.phone == "+989123456789"  # typed in Persian digits
    assert (contact.first_name, contact.email) == ("علی", "ali.rezaei@example.test")
    assert order13.contact_id == contact.id and order13.phone_error is None
    statuses = [d.status for d in rows(factory, WebhookDelivery)]
    assert statuses == ["applied"] * 4


def test_add_to_cart_action_is_answered_and_kept_as_dead_letter(client, real_store, factory,
                                                                fixtures_dir, clock):
    response = replay(client, real_store, fixtures_dir, "020_action.woocommerce_add_to_cart.json")
    assert response.status_code == 200
    process_pending(factory, now=clock.now())
    [delivery] = rows(factory, WebhookDelivery)
    assert delivery.status == "dead_letter"
    assert "companion plugin" in delivery.reason
    assert count(factory, Cart) == 0


def test_url_works_with_a_trailing_slash_without_redirecting(client, real_store, fixtures_dir):
    response = replay(client, real_store, fixtures_dir, "010_order.created.json", path_suffix="/")
    assert response.status_code == 200 and not response.history


# --- signatures -----------------------------------------------------------------------------

def test_wrong_signature_is_401_and_stores_nothing(client, real_store, factory, fixtures_dir):
    headers, body = capture(fixtures_dir, "010_order.created.json")
    response = deliver(client, real_store, "order.created", body, secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert "secret" in response.json()["error"]["message"]
    assert count(factory, WebhookDelivery) == 0


def test_signature_over_reserialized_json_does_not_verify(client, real_store, factory, fixtures_dir):
    """The signature covers the raw bytes: the same JSON encoded differently must fail."""
    import json
    headers, body = capture(fixtures_dir, "010_order.created.json")
    reencoded = json.dumps(json.loads(body), ensure_ascii=False).encode()
    response = deliver(client, real_store, "order.created", reencoded,
                       signature=headers["X-WC-Webhook-Signature"])
    assert response.status_code == 401
    assert count(factory, WebhookDelivery) == 0


def test_missing_signature_is_401(client, store, factory):
    body = wc_body({"id": 1, "status": "pending"})
    response = client.post(f"/webhooks/woocommerce/{store.id}", content=body,
                           headers={"X-WC-Webhook-Topic": "order.created"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_signature"
    assert count(factory, WebhookDelivery) == 0


def test_secret_with_special_characters_verifies_over_raw_bytes(client, store, factory, fixtures_dir, clock):
    secret = "a&b<c>;d\"e'f/g\\h"
    store_settings(factory, store.id, webhook_secret=secret)
    store.webhook_secret = secret
    response = deliver(client, store, "order.created", order_payload(fixtures_dir))
    assert response.status_code == 200
    assert process_pending(factory, now=clock.now()) == 1
    assert len(rows(factory, Order)) == 1


def test_generated_secrets_are_alphanumeric(store):
    assert store.webhook_secret.isalnum() and len(store.webhook_secret) >= 32


# --- duplicates and order of arrival ------------------------------------------------------

def test_duplicate_delivery_is_a_no_op(client, store, factory, fixtures_dir, clock):
    body = wc_body(order_payload(fixtures_dir))
    # order.created then order.updated with a byte-identical body, as WooCommerce 10 does.
    assert deliver(client, store, "order.created", body).status_code == 200
    assert deliver(client, store, "order.updated", body).status_code == 200
    process_pending(factory, now=clock.now())
    assert len(rows(factory, Order)) == 1 and len(rows(factory, Contact)) == 1
    assert [d.status for d in rows(factory, WebhookDelivery)] == ["applied", "duplicate"]


def test_older_state_arriving_late_does_not_overwrite_newer(client, store, factory, fixtures_dir, clock):
    created = order_payload(fixtures_dir)
    completed = order_payload(fixtures_dir, status="completed",
                              date_modified_gmt="2026-11-23T03:40:20",
                              date_paid_gmt="2026-11-23T03:40:20",
                              date_completed_gmt="2026-11-23T03:40:20")
    deliver(client, store, "order.updated", completed)
    deliver(client, store, "order.created", created)
    process_pending(factory, now=clock.now())
    [order] = rows(factory, Order)
    assert (order.status, order.purchased) == ("completed", True)
    assert [d.status for d in rows(factory, WebhookDelivery)] == ["applied", "stale"]


def test_newer_state_replaces_older(client, store, factory, fixtures_dir, clock):
    deliver(client, store, "order.created", order_payload(fixtures_dir))
    process_pending(factory, now=clock.now())
    deliver(client, store, "order.updated", order_payload(
        fixtures_dir, status="processing", date_modified_gmt="2026-11-23T04:00:00", total="2300000"))
    process_pending(factory, now=clock.now())
    [order] = rows(factory, Order)
    assert (order.status, order.purchased, order.total) == ("processing", True, 23_000_000)


def test_trashed_order_then_restored(client, store, factory, fixtures_dir, clock):
    deliver(client, store, "order.created", order_payload(fixtures_dir, status="processing"))
    deliver(client, store, "order.deleted", {"id": 13})
    process_pending(factory, now=clock.now())
    [order] = rows(factory, Order)
    assert order.deleted_at is not None and order.purchased is False
    assert order.status == "processing"  # the last known state is kept


# --- statuses --------------------------------------------------------------------------------

@pytest.mark.parametrize("status,paid,purchased", [
    ("pending", None, False),
    ("on-hold", None, True),
    ("processing", None, True),
    ("completed", None, True),
    ("cancelled", None, False),
    ("failed", None, False),
    ("wc-shipped-to-post", None, False),  # a plugin's status, stored as it is
    ("wc-shipped-to-post", "2026-11-23T03:41:00", True),
    ("checkout-draft", "2026-11-23T03:41:00", False),
])
def test_order_status_decides_purchase(client, store, factory, fixtures_dir, status, paid, purchased, clock):
    deliver(client, store, "order.updated",
            order_payload(fixtures_dir, status=status, date_paid_gmt=paid))
    process_pending(factory, now=clock.now())
    [order] = rows(factory, Order)
    assert (order.status, order.purchased) == (status, purchased)


# --- signed but unusable: 2xx and a dead letter ----------------------------------------------

@pytest.mark.parametrize("topic,body,reason", [
    ("order.updated", b'{"code":"rest_no_route","message":"No route was found","data":{"status":404}}',
     "rest_no_route"),
    ("order.updated", b'{"id": 5', "not JSON"),
    ("order.updated", b'[1, 2]', "JSON list"),
    ("order.updated", b'{"id": 5}', "status"),
    ("order.updated", b'{"id": "five", "status": "pending"}', "id"),
    ("order.updated", b'{"id": 5, "status": "pending", "total": "12,5 toman"}', "amount"),
    ("order.deleted", b'{"name": "x"}', "id"),
    ("bazgasht_cart.updated", b'{"token": "short", "currency": "IRT"}', "token"),
    ("subscription.updated", b'{"id": 5}', "not one bazgasht handles"),
    ("", b'{"id": 5}', "missing X-WC-Webhook-Topic"),
])
def test_signed_but_unusable_is_200_and_dead_lettered(client, store, factory, topic, body, reason, clock):
    response = deliver(client, store, topic, body)
    assert response.status_code == 200
    process_pending(factory, now=clock.now())
    [delivery] = rows(factory, WebhookDelivery)
    assert delivery.status == "dead_letter"
    assert reason in delivery.reason
    assert count(factory, Order) == 0 and count(factory, Cart) == 0


def test_ignored_topics_are_answered_and_recorded(client, store, factory, clock):
    assert deliver(client, store, "customer.created", {"id": 3, "email": "a@b.c"}).status_code == 200
    process_pending(factory, now=clock.now())
    assert [d.status for d in rows(factory, WebhookDelivery)] == ["ignored"]


# --- bad requests: clear 4xx, nothing stored -------------------------------------------------

def test_body_over_one_mebibyte_is_413(client, store, factory):
    body = b'{"id": 1, "pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = deliver(client, store, "order.updated", body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert count(factory, WebhookDelivery) == 0


@pytest.mark.parametrize("path, status, code", [
    ("/webhooks/woocommerce/999999", 401, "invalid_signature"),  # as a wrong secret
    ("/webhooks/woocommerce/abc", 404, "store_not_found"),
    ("/webhooks/woocommerce/-1", 404, "store_not_found")])
def test_unknown_store_is_refused(client, store, factory, path, status, code):
    body = wc_body({"id": 1})
    response = client.post(path, content=body, headers={
        "X-WC-Webhook-Signature": sign(body, store.webhook_secret),
        "X-WC-Webhook-Topic": "order.created"})
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert count(factory, WebhookDelivery) == 0


def test_disabled_store_is_403(client, store, factory, fixtures_dir):
    with unit_of_work(factory) as session:
        set_enabled(session, store.id, False)
    response = deliver(client, store, "order.created", order_payload(fixtures_dir))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "store_disabled"
    assert count(factory, WebhookDelivery) == 0


# --- phones and contacts ---------------------------------------------------------------------

def _billing(fixtures_dir, phone, **extra):
    payload = order_payload(fixtures_dir, **extra)
    payload["billing"] = copy.deepcopy(payload["billing"]) | {"phone": phone}
    return payload


def test_invalid_phone_keeps_the_order_without_a_contact(client, store, factory, fixtures_dir, clock):
    deliver(client, store, "order.created", _billing(fixtures_dir, "02188776655"))
    process_pending(factory, now=clock.now())
    [order] = rows(factory, Order)
    assert order.contact_id is None
    assert order.phone_raw == "02188776655"
    assert order.phone_error == "invalid phone: not a mobile number"
    assert count(factory, Contact) == 0


def test_same_customer_in_any_digit_form_is_one_contact(client, store, factory, fixtures_dir, clock):
    forms = ["٠٩١٢٣٤٥٦٧٨٩", "+98 912 345 6789", "\u200e0098-912-345-6789", "9123456789"]
    for n, phone in enumerate(forms, start=20):
        deliver(client, store, "order.created", _billing(fixtures_dir, phone, id=n))
    process_pending(factory, now=clock.now())
    [contact] = rows(factory, Contact)
    assert contact.phone == "+989123456789"
    assert {o.contact_id for o in rows(factory, Order)} == {contact.id}


def test_unknown_operator_prefix_is_kept_as_unverified(client, store, factory, fixtures_dir, clock):
    deliver(client, store, "order.created", _billing(fixtures_dir, "09701234567"))
    process_pending(factory, now=clock.now())
    [contact] = rows(factory, Contact)
    assert (contact.phone, contact.unverified_prefix) == ("+989701234567", True)


# --- carts from the companion plugin ---------------------------------------------------------

def cart_payload(**changes) -> dict:
    return {
        "token": "c7a1e0f4b2d94e0b",
        "phone": None,
        "first_name": "", "last_name": "", "email": "",
        "items": [{"product_id": 11, "variation_id": 0, "name": "چای سبز ممتاز", "quantity": 2,
                   "price": "275000", "total": "550000"}],
        "total": "550000",
        "currency": "IRT",
        "restore_url": "https://shop.example/?bazgasht-restore=c7a1e0f4b2d94e0b.sig",
        "cart_url": "https://shop.example/cart/",
        "date_modified_gmt": "2026-11-23T03:30:00",
    } | changes


def test_cart_without_phone_is_kept_and_gets_one_later(client, store, factory, clock):
    deliver(client, store, "bazgasht_cart.updated", cart_payload())
    process_pending(factory, now=clock.now())
    [cart] = rows(factory, Cart)
    assert (cart.contact_id, cart.phone_error, cart.total) == (None, "no phone", 5_500_000)

    deliver(client, store, "bazgasht_cart.updated", cart_payload(
        phone="۰۹۳۵ ۱۲۳ ۴۵۶۷", first_name="مریم", date_modified_gmt="2026-11-23T03:31:00"))
    process_pending(factory, now=clock.now())
    [cart] = rows(factory, Cart)
    [contact] = rows(factory, Contact)
    assert contact.phone == "+989351234567" and contact.first_name == "مریم"
    assert cart.contact_id == contact.id and cart.phone_error is None
    assert cart.items[0]["total"] == 5_500_000
    assert cart.restore_url.endswith(".sig")


def test_order_links_to_its_cart_whichever_arrives_first(client, store, factory, fixtures_dir, clock):
    meta = [{"id": 90, "key": "_bazgasht_cart_token", "value": "c7a1e0f4b2d94e0b"}]
    deliver(client, store, "bazgasht_cart.updated", cart_payload())
    deliver(client, store, "order.created", order_payload(fixtures_dir, meta_data=meta))
    # A second cart whose order arrived before it.
    deliver(client, store, "order.created", order_payload(
        fixtures_dir, id=40, meta_data=[{"id": 91, "key": "_bazgasht_cart_token",
                                         "value": "later-cart-0001"}]))
    deliver(client, store, "bazgasht_cart.updated", cart_payload(token="later-cart-0001"))
    process_pending(factory, now=clock.now())
    orders = {o.wc_id: o for o in rows(factory, Order)}
    carts = {c.token: c for c in rows(factory, Cart)}
    assert carts["c7a1e0f4b2d94e0b"].order_id == orders[13].id
    assert carts["later-cart-0001"].order_id == orders[40].id
    assert orders[13].cart_token == "c7a1e0f4b2d94e0b"


def test_replayed_cart_is_stored_once(client, store, factory, clock):
    first = deliver(client, store, "bazgasht_cart.updated", cart_payload())
    again = deliver(client, store, "bazgasht_cart.updated", cart_payload())
    assert first.json() == again.json()  # the replay is answered with the first one's id
    process_pending(factory, now=clock.now())
    assert count(factory, Cart) == 1
    assert [d.status for d in rows(factory, WebhookDelivery)] == ["applied"]


# --- the REST v3 documentation examples ------------------------------------------------------

def test_documented_orders_and_products_land(client, store, factory, fixtures_dir, clock):
    for order in docs_payload(fixtures_dir, "docs_v3_orders_list.json"):
        assert deliver(client, store, "order.created", order).status_code == 200
    deliver(client, store, "order.updated",
            docs_payload(fixtures_dir, "docs_v3_order_727_update_completed.json"))
    deliver(client, store, "product.created",
            docs_payload(fixtures_dir, "docs_v3_product_794_retrieve.json"))
    deliver(client, store, "product.updated",
            docs_payload(fixtures_dir, "ios_product_282_upsell_crosssell.json"))
    process_pending(factory, now=clock.now())
    assert {d.status for d in rows(factory, WebhookDelivery)} <= {"applied", "duplicate"}
    orders = {o.wc_id: o for o in rows(factory, Order)}
    assert orders[727].status == "completed" and orders[727].total == 2935  # USD, in cents
    assert orders[727].phone_error == "invalid phone: not a valid number"  # (555) 555-5555
    products = {p.wc_id: p for p in rows(factory, Product)}
    assert products[794].name == "Premium Quality" and products[794].sale_price is None
    assert products[282].upsell_ids and products[282].cross_sell_ids


@pytest.mark.parametrize("currency,total,rial", [("IRR", "2200000", 2_200_000),
                                                 ("IRT", "2200000", 22_000_000),
                                                 ("IRHT", "220", 2_200_000),
                                                 ("IRHR", "2200", 2_200_000)])
def test_amounts_are_kept_in_rial(client, store, factory, fixtures_dir, currency, total, rial, clock):
    deliver(client, store, "order.created", order_payload(fixtures_dir, currency=currency,
                                                          total=total))
    process_pending(factory, now=clock.now())
    [order] = rows(factory, Order)
    assert (order.total, order.currency) == (rial, currency)


# --- hostile but signed bodies: applied safely or dead-lettered, never a crash ---------------

def test_oversized_fields_and_nul_characters_are_cut_to_fit(client, store, factory, fixtures_dir, clock):
    payload = order_payload(fixtures_dir, number="9" * 100, currency="IRT")
    payload["billing"] = payload["billing"] | {"first_name": "ع" * 5000 + "\x00",
                                               "email": "a\x00b@example.com" + "x" * 500}
    deliver(client, store, "order.created", payload)
    process_pending(factory, now=clock.now())
    [delivery] = rows(factory, WebhookDelivery)
    assert delivery.status == "applied", delivery.reason
    [order] = rows(factory, Order)
    assert order.first_name == "ع" * 200 and len(order.number) == 40
    assert order.email.startswith("ab@example.com")


@pytest.mark.parametrize("changes,reason", [
    ({"id": 2**70}, "id"),
    ({"total": "1e30"}, "out of range"),
    ({"line_items": [{"product_id": 1, "quantity": 1, "price": "NaN"}]}, "amount"),
    ({"status": "\x00"}, "status"),
])
def test_values_no_column_can_hold_are_dead_lettered(client, store, factory, fixtures_dir,
                                                     changes, reason, clock):
    deliver(client, store, "order.created", order_payload(fixtures_dir, **changes))
    process_pending(factory, now=clock.now())
    [delivery] = rows(factory, WebhookDelivery)
    assert delivery.status == "dead_letter" and reason in delivery.reason
    assert count(factory, Order) == 0 and count(factory, Contact) == 0


def test_infinite_quantity_in_a_cart_is_dead_lettered(client, store, factory, clock):
    body = wc_body(cart_payload()).replace(b'"quantity":2', b'"quantity":Infinity')
    assert b"Infinity" in body
    deliver(client, store, "bazgasht_cart.updated", body)
    process_pending(factory, now=clock.now())
    [delivery] = rows(factory, WebhookDelivery)
    assert delivery.status == "dead_letter" and "quantity" in delivery.reason


def test_a_signed_delivery_that_is_not_json_is_refused_and_changes_nothing(client, store,
                                                                            factory):
    """A correctly signed body sent as text/plain is no WooCommerce delivery: 415, nothing
    stored; unsigned, it hears only 401."""
    body = json.dumps({"id": 7101, "status": "processing", "currency": "IRT"}).encode()
    signed = {"X-WC-Webhook-Topic": "order.updated",
              "X-WC-Webhook-Signature": sign(body, store.webhook_secret),
              "X-WC-Webhook-ID": "1", "X-WC-Webhook-Delivery-ID": "d-1"}
    for media in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = signed | ({"Content-Type": media} if media else {})
        response = client.post(f"/webhooks/woocommerce/{store.id}", content=body, headers=headers)
        assert response.status_code == 415, (media, response.text)
        assert response.json()["error"]["code"] == "unsupported_media_type"
    unsigned = client.post(f"/webhooks/woocommerce/{store.id}", content=body,
                           headers={"X-WC-Webhook-Topic": "order.updated",
                                    "Content-Type": "text/plain"})
    assert unsigned.status_code == 401
    with factory() as session:
        assert session.scalar(select(func.count(WebhookDelivery.id))) == 0
