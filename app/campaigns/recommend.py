"""The cross-sell pick for an order: what goes with what was bought.

First the purchased products' cross-sells, then their upsells (both set by the merchant in
WooCommerce), then what the store's own customers bought together with them. Never something
this customer has bought before, never something out of stock, deleted or unpublished.
"""

import time
from collections import Counter

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.commerce.models import Order, Product

# "Bought together" reads this many of the store's latest purchases.
HISTORY_ORDERS = 1000
_HISTORY_TTL = 600.0  # seconds a store's history is reused: it moves slowly
_history: dict[int, tuple[float, list[set[int]]]] = {}


def _products(items) -> set[int]:
    return {item["product_id"] for item in items or [] if item.get("product_id")}


def _ever_bought(session: Session, order: Order) -> set[int]:
    bought = _products(order.items)
    if order.contact_id is not None:
        for items in session.scalars(select(Order.items).where(
                Order.store_id == order.store_id, Order.contact_id == order.contact_id,
                or_(Order.purchased.is_(True), Order.id == order.id))):
            bought |= _products(items)
    return bought


def _store_baskets(session: Session, store_id: int) -> list[set[int]]:
    cached = _history.get(store_id)
    if cached and time.monotonic() - cached[0] < _HISTORY_TTL:
        return cached[1]
    baskets = [basket for basket in map(_products, session.scalars(
        select(Order.items).where(Order.store_id == store_id, Order.purchased.is_(True))
        .order_by(Order.created_gmt.desc()).limit(HISTORY_ORDERS))) if len(basket) > 1]
    _history[store_id] = (time.monotonic(), baskets)
    return baskets


def bought_together(session: Session, store_id: int, products: set[int]) -> list[int]:
    """Products most often in the same basket as any of `products`, most frequent first."""
    counts: Counter[int] = Counter()
    for basket in _store_baskets(session, store_id):
        if basket & products:
            counts.update(basket - products)
    return [pid for pid, _ in counts.most_common()]


def recommend(session: Session, order: Order) -> Product | None:
    in_order = _products(order.items)
    excluded = _ever_bought(session, order)
    products = session.scalars(select(Product).where(
        Product.store_id == order.store_id, Product.wc_id.in_(in_order))).all()
    sources = (
        lambda: [pid for p in products for pid in p.cross_sell_ids or []],
        lambda: [pid for p in products for pid in p.upsell_ids or []],
        lambda: bought_together(session, order.store_id, in_order),
    )
    for source in sources:
        candidates = [pid for pid in dict.fromkeys(source()) if pid not in excluded]
        if not candidates:
            continue
        found = {p.wc_id: p for p in session.scalars(select(Product).where(
            Product.store_id == order.store_id, Product.wc_id.in_(candidates),
            Product.deleted_at.is_(None), Product.stock_status != "outofstock",
            Product.status.in_(["publish", ""])))}
        for pid in candidates:
            if pid in found:
                return found[pid]
    return None
