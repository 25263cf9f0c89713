"""Keep the order, product and cart mirrors current.

Each delivery is the resource's whole state at delivery time, and deliveries arrive late, twice
and out of order: a state older than the one we hold is ignored, an identical one is a no-op.
"""

from datetime import datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.commerce.models import Cart, Order, Product
from app.commerce.money import to_minor
from app.commerce.schemas import CartPayload, WooOrder, WooProduct
from app.contacts.names import strip_invisible
from app.contacts.service import contact_for_phone, set_consent

Outcome = Literal["applied", "duplicate", "stale"]

CART_TOKEN_META_KEY = "_bazgasht_cart_token"
# "no" when the shopper unticked the plugin's SMS consent box at checkout.
CONSENT_META_KEY = "_bazgasht_sms_consent"
PURCHASED_STATUSES = frozenset({"processing", "completed", "on-hold"})
# Never a purchase, whatever dates they carry: a refunded or cancelled order keeps the date it
# was paid, and counting it would credit revenue the store gave back.
NEVER_PURCHASED_STATUSES = frozenset({"checkout-draft", "trash", "refunded", "cancelled",
                                      "failed"})
# Placed and waiting for the bank: the order's payment page can still take the money.
UNPAID_STATUSES = frozenset({"pending", "failed"})
# Orders WooCommerce itself cancels when the hold-stock time runs out (wc_cancel_unpaid_orders
# cancels pending orders made by its checkout; the Store API checkout says "store-api").
_CHECKOUTS = frozenset({"checkout", "store-api"})


def is_purchased(status: str, paid_gmt: datetime | None) -> bool:
    if status in NEVER_PURCHASED_STATUSES:
        return False
    return status in PURCHASED_STATUSES or paid_gmt is not None


def _locked_row(session: Session, model, store_id: int, key: dict, body_sha256: str,
                modified: datetime | None):
    """The mirror row for a delivery, locked, and whether the delivery should change it."""
    row = session.scalar(select(model).filter_by(store_id=store_id, **key).with_for_update())
    if row is None:
        row = model(store_id=store_id, **key)
        session.add(row)
        return row, "applied"
    if row.payload_sha256 == body_sha256:
        return row, "duplicate"
    if row.modified_gmt is not None and modified is not None and modified < row.modified_gmt:
        return row, "stale"
    return row, "applied"


def _mark_deleted(session: Session, model, store_id: int, wc_id: int, body_sha256: str,
                  now: datetime):
    """Mark a trashed resource deleted (None if it already was); unknown ones get a tombstone."""
    row = session.scalar(select(model).filter_by(store_id=store_id, wc_id=wc_id).with_for_update())
    if row is None:
        row = model(store_id=store_id, wc_id=wc_id, status="trash", payload_sha256=body_sha256)
        session.add(row)
    elif row.deleted_at is not None:
        return None
    row.deleted_at = now
    session.flush()
    return row


def _items(raw_items, currency: str) -> list[dict]:
    return [
        {"product_id": i.product_id, "variation_id": i.variation_id, "name": i.name,
         "quantity": i.quantity, "price": to_minor(i.price, currency),
         "total": to_minor(i.total, currency), **({"sku": i.sku} if getattr(i, "sku", "") else {})}
        for i in raw_items
    ]


def coupon_codes(data: WooOrder) -> list[str]:
    """The codes of the coupons used, lower-cased as WooCommerce stores codes, each once."""
    return list(dict.fromkeys(line.code.lower() for line in data.coupon_lines if line.code))


def _refunded(data: WooOrder, currency: str, total: int | None) -> int:
    """What the order's refunds gave back (their totals are negative), at most its total."""
    given = sum(abs(to_minor(r.total, currency) or 0) for r in data.refunds)
    return min(given, total) if total is not None else given


def _cancelled_unpaid(was: str | None, data: WooOrder) -> bool:
    """Pending (or failed) a moment ago, cancelled now, never paid, made by the store's own
    checkout: WooCommerce's hold-stock timer cancelled it (its note says "Unpaid order cancelled -
    time limit reached"); the customer still wanted it. A merchant cancelling such an order by
    hand looks the same on the wire: its lost-order SMS then links to a refilled cart, which is
    still what the customer last asked for."""
    return (data.status == "cancelled" and was in UNPAID_STATUSES
            and data.date_paid_gmt is None and data.created_via in _CHECKOUTS)


def apply_order(session: Session, *, store_id: int, data: WooOrder, body_sha256: str,
                now: datetime) -> Outcome:
    order, outcome = _locked_row(session, Order, store_id, {"wc_id": data.id}, body_sha256,
                                 data.date_modified_gmt)
    if outcome != "applied":
        return outcome
    placing = order.status in (None, "checkout-draft")  # new to us, or a block checkout's draft
    # A state newer than the trashing is a restore; the trash state itself stays trashed.
    if order.deleted_at and data.status != "trash" and (
        data.date_modified_gmt is None or data.date_modified_gmt > order.deleted_at):
        order.deleted_at = None

    currency = data.currency or ""
    billing, shipping = data.billing, data.shipping
    phone_raw = billing.phone or shipping.phone
    # Kept without control and direction override characters (app/contacts/names.py).
    first_name = strip_invisible(billing.first_name or shipping.first_name)
    last_name = strip_invisible(billing.last_name or shipping.last_name)
    cart_token = data.meta(CART_TOKEN_META_KEY)

    was = order.status
    order.number = str(data.number or data.id)
    order.unpaid_cancelled = _cancelled_unpaid(was, data) or (
        order.unpaid_cancelled and data.status == "cancelled")
    order.status = data.status
    order.payment_url, order.created_via = data.payment_url, data.created_via
    order.currency = currency
    order.total = to_minor(data.total, currency)
    order.refunded = _refunded(data, currency, order.total)
    order.customer_wc_id = data.customer_id or None
    order.first_name, order.last_name, order.email = first_name, last_name, billing.email
    order.phone_raw = phone_raw
    order.items = _items(data.line_items, currency)
    order.coupon_codes = coupon_codes(data)
    order.created_gmt = data.date_created_gmt
    order.modified_gmt = data.date_modified_gmt
    order.paid_gmt = data.date_paid_gmt
    order.completed_gmt = data.date_completed_gmt
    order.cart_token = str(cart_token).replace("\x00", "")[:64] or None if cart_token else None
    order.payload_sha256 = body_sha256
    if data.status == "trash" and order.deleted_at is None:
        order.deleted_at = now
    order.purchased = is_purchased(data.status, data.date_paid_gmt) and order.deleted_at is None

    found = contact_for_phone(session, store_id=store_id, raw_phone=phone_raw,
                              first_name=first_name, last_name=last_name, email=billing.email)
    order.contact_id = found.contact.id if found.contact else None
    order.phone_error = found.error
    # Said once, when the order is placed: a later edit of an old order must not undo a
    # consent the customer gave since.
    if placing and phone_raw and str(data.meta(CONSENT_META_KEY) or "").lower() == "no":
        set_consent(session, store_id=store_id, raw_phone=phone_raw, opted_in=False,
                    source="checkout", now=now)
    session.flush()
    if order.cart_token:
        session.execute(
            update(Cart)
            .where(Cart.store_id == store_id, Cart.token == order.cart_token)
            .values(order_id=order.id)
        )
    return "applied"


def delete_order(session: Session, *, store_id: int, wc_id: int, body_sha256: str,
                 now: datetime) -> Outcome:
    """A trashed order. Unknown ones get a tombstone so a late, older delivery cannot revive them."""
    order = _mark_deleted(session, Order, store_id, wc_id, body_sha256, now)
    if order is None:
        return "duplicate"
    order.purchased = False
    session.flush()
    return "applied"


def apply_product(session: Session, *, store_id: int, currency: str, data: WooProduct,
                  body_sha256: str, now: datetime) -> Outcome:
    product, outcome = _locked_row(session, Product, store_id, {"wc_id": data.id}, body_sha256,
                                   data.date_modified_gmt)
    if outcome != "applied":
        return outcome
    if data.status != "trash":
        product.deleted_at = None
    product.name = data.name
    product.permalink = data.permalink
    product.type = data.type
    product.status = data.status
    product.currency = currency
    product.price = to_minor(data.price, currency)
    product.regular_price = to_minor(data.regular_price, currency)
    product.sale_price = to_minor(data.sale_price, currency)
    product.stock_status = data.stock_status
    product.stock_quantity = data.stock_quantity
    product.cross_sell_ids = list(data.cross_sell_ids)
    product.upsell_ids = list(data.upsell_ids)
    product.categories = [{"id": c.id, "name": c.name} for c in data.categories]
    product.image_url = data.images[0].src if data.images else ""
    product.modified_gmt = data.date_modified_gmt
    product.payload_sha256 = body_sha256
    if data.status == "trash" and product.deleted_at is None:
        product.deleted_at = now
    session.flush()
    return "applied"


def delete_product(session: Session, *, store_id: int, wc_id: int, body_sha256: str,
                   now: datetime) -> Outcome:
    product = _mark_deleted(session, Product, store_id, wc_id, body_sha256, now)
    return "duplicate" if product is None else "applied"


def apply_cart(session: Session, *, store_id: int, data: CartPayload, body_sha256: str,
               now: datetime) -> Outcome:
    cart, outcome = _locked_row(session, Cart, store_id, {"token": data.token}, body_sha256,
                                data.date_modified_gmt)
    if outcome != "applied":
        return outcome
    currency = data.currency.upper()
    declined = not data.consent
    if declined:  # keep nothing personal, whatever the body carried
        data = data.model_copy(update=dict(phone=None, first_name="", last_name="", email="",
                                           items=[], total=None))
    data = data.model_copy(update=dict(first_name=strip_invisible(data.first_name),
                                       last_name=strip_invisible(data.last_name)))
    cart.declined_at = (cart.declined_at or now) if declined else None
    cart.first_name, cart.last_name, cart.email = data.first_name, data.last_name, data.email
    cart.phone_raw = data.phone or ""
    cart.items = _items(data.items, currency)
    cart.currency = currency
    cart.total = to_minor(data.total, currency)
    cart.restore_url = data.restore_url
    cart.cart_url = data.cart_url
    cart.modified_gmt = data.date_modified_gmt
    cart.payload_sha256 = body_sha256

    found = contact_for_phone(session, store_id=store_id, raw_phone=data.phone,
                              first_name=data.first_name, last_name=data.last_name,
                              email=data.email)
    cart.contact_id = found.contact.id if found.contact else None
    cart.phone_error = found.error
    if cart.order_id is None:
        # The order can arrive first (deliveries are late and unordered).
        order = session.scalar(
            select(Order).where(Order.store_id == store_id, Order.cart_token == data.token)
            .order_by(Order.id.desc()).limit(1)
        )
        if order is not None:
            cart.order_id = order.id
            if order.purchased and cart.converted_at is None:
                cart.converted_at = now
    session.flush()
    return "applied"
