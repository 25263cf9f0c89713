"""Replenishment: when each customer will need a product again, from their own purchases.

Read-only; the reorder_due trigger (app/campaigns/enroll.py) calls `due_within`.

- A **purchase** is an order that is one now (`orders.purchased`, kept by app/commerce/service.py:
  never cancelled, refunded, failed or unpaid), not deleted, not refunded in full, with a contact,
  paid (else placed) at or before `now`. Its **day** is the store-local calendar day: two orders
  of a product on one day are one purchase.
- A product is its WooCommerce product id: another variation (size, colour) is the same product.
- **Own interval**: the median of the gaps, in days, between a customer's consecutive purchase
  days of the product. Gaps shorter than MIN_GAP_DAYS are ignored: an order a day or two after
  another corrects or completes it, it is not a refill. Quantities do not scale the interval:
  the customer's usual quantity is already in their own gaps, and dividing by it would turn one
  odd order (a gift, a stock-up) into a wild per-unit guess.
- **Store median**: for a customer with no usable gap (one purchase), the median of the own
  intervals of the store's customers who rebought that product (one vote per customer, so one
  frequent buyer does not outweigh the rest). Nobody rebought it: no prediction, never a guess.
- Intervals are whole days, a half rounded up. **Predicted day** = last purchase day + interval.
- **Due** within N days: predicted on or before today + N, and not lapsed: a predicted day more
  than one interval in the past means the customer has gone elsewhere (win-back's business, not a
  reminder's). Only contacts that may get promotional SMS (not opted out, not promo-blocked);
  their orders still count towards the store's medians.
"""

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import local_today
from app.commerce.models import Order, Product
from app.contacts.models import Contact
from app.stores.models import Store

MIN_GAP_DAYS = 3
Source = Literal["own", "store_median"]


@dataclass(frozen=True)
class Prediction:
    contact_id: int
    phone: str
    name: str
    product_id: int  # WooCommerce's
    product_name: str
    purchases: int  # purchase days of the product
    last_purchase: date  # store-local
    interval_days: int
    source: Source
    predicted: date
    order_id: int  # bazgasht's id of the customer's last purchase of it (the latest order)

    @property
    def key(self) -> tuple[date, int, int]:
        """Its place in a listing: soonest first."""
        return (self.predicted, self.contact_id, self.product_id)


@dataclass
class _History:
    days: set[date]
    item_name: str = ""
    # The latest order of it (paid, else placed; then the larger id): the one to remind about.
    last_at: datetime | None = None
    last_order: int = 0


@dataclass(frozen=True)
class _Buyer:
    phone: str
    name: str
    reachable: bool


def _whole_days(value: float) -> int:
    return int(value + 0.5)


def own_interval(days: Iterable[date]) -> int | None:
    """The median gap between consecutive purchase days, ignoring gaps under MIN_GAP_DAYS."""
    ordered = sorted(set(days))
    gaps = [(b - a).days for a, b in zip(ordered, ordered[1:], strict=False)]
    gaps = [gap for gap in gaps if gap >= MIN_GAP_DAYS]
    return _whole_days(statistics.median(gaps)) if gaps else None


def _purchases(session: Session, store: Store, now: datetime):
    """Per (contact, product) the purchase days, and what is known of each contact: one query."""
    zone = ZoneInfo(store.timezone)
    histories: dict[tuple[int, int], _History] = {}
    buyers: dict[int, _Buyer] = {}
    rows = session.execute(
        select(Order.id, Order.contact_id, Order.items, Order.paid_gmt, Order.created_gmt,
               Order.total,
               Order.refunded, Contact.phone, Contact.first_name, Contact.last_name,
               Contact.opted_out_at, Contact.promo_blocked_at)
        .join(Contact, Contact.id == Order.contact_id)
        .where(Order.store_id == store.id, Order.purchased.is_(True), Order.deleted_at.is_(None)))
    for (order_id, contact_id, items, paid, created, total, refunded, phone, first, last,
         opted_out, promo_blocked) in rows:
        at = paid or created
        if at is None or at > now or (total and refunded >= total):
            continue
        day = at.astimezone(zone).date()
        buyers[contact_id] = _Buyer(phone, f"{first} {last}".strip(),
                                    opted_out is None and promo_blocked is None)
        for item in items or []:
            product_id = item.get("product_id") if isinstance(item, dict) else None
            if not isinstance(product_id, int) or product_id <= 0:
                continue
            history = histories.setdefault((contact_id, product_id), _History(set()))
            if day >= max(history.days, default=day):
                history.item_name = item.get("name") or history.item_name
            history.days.add(day)
            if history.last_at is None or (at, order_id) > (history.last_at, history.last_order):
                history.last_at, history.last_order = at, order_id
    return histories, buyers


def _store_medians(own: dict[tuple[int, int], int]) -> dict[int, int]:
    by_product: dict[int, list[int]] = defaultdict(list)
    for (_, product_id), interval in own.items():
        by_product[product_id].append(interval)
    return {product_id: _whole_days(statistics.median(intervals))
            for product_id, intervals in by_product.items()}


def predict(session: Session, *, store: Store, now: datetime) -> list[Prediction]:
    """Every (contact, product) with a prediction, for contacts that may get promotional SMS,
    soonest first. Products deleted from the store are left out (nothing to reorder)."""
    histories, buyers = _purchases(session, store, now)
    own = {pair: interval for pair, history in histories.items()
           if (interval := own_interval(history.days)) is not None}
    medians = _store_medians(own)
    products = {p.wc_id: p for p in session.scalars(select(Product).where(
        Product.store_id == store.id, Product.wc_id.in_({pid for _, pid in histories})))}
    predictions = []
    for (contact_id, product_id), history in histories.items():
        buyer, product = buyers[contact_id], products.get(product_id)
        if not buyer.reachable or (product is not None and product.deleted_at is not None):
            continue
        source: Source = "own" if (contact_id, product_id) in own else "store_median"
        interval = own.get((contact_id, product_id)) or medians.get(product_id)
        if interval is None:
            continue
        last = max(history.days)
        predictions.append(Prediction(
            contact_id=contact_id, phone=buyer.phone, name=buyer.name, product_id=product_id,
            product_name=(product.name if product and product.name else history.item_name),
            purchases=len(history.days), last_purchase=last, interval_days=interval,
            source=source, predicted=last + timedelta(days=interval),
            order_id=history.last_order))
    return sorted(predictions, key=lambda p: p.key)


def lapsed(prediction: Prediction, *, today: date) -> bool:
    """Overdue by more than one interval: the customer has gone elsewhere."""
    return prediction.predicted < today - timedelta(days=prediction.interval_days)


def is_due(prediction: Prediction, *, today: date, days: int) -> bool:
    """Predicted within `days` from today, or overdue by at most one interval (else lapsed)."""
    return not lapsed(prediction, today=today) \
        and prediction.predicted <= today + timedelta(days=days)


def due_within(session: Session, *, store: Store, now: datetime, days: int) -> list[Prediction]:
    """The predictions due from today through `days` days ahead (overdue ones included until
    they lapse), soonest first."""
    today = local_today(store.timezone, now)
    return [p for p in predict(session, store=store, now=now)
            if is_due(p, today=today, days=days)]


def soonest_by_order(predictions: Iterable[Prediction]) -> dict[int, Prediction]:
    """Per order (the last purchase of its products), its prediction due soonest: a reminder
    is about one product, and an order whose several products are due starts one sequence.
    `predictions` soonest first, as `predict` and `due_within` give them."""
    soonest: dict[int, Prediction] = {}
    for prediction in predictions:
        soonest.setdefault(prediction.order_id, prediction)
    return soonest


def next_due(session: Session, *, store: Store, now: datetime,
             order_id: int) -> Prediction | None:
    """The order's product that is due soonest now, or that will be due first (a preview of an
    order not due yet names what its reminder will); lapsed ones never. None: no product of it
    is predicted (or it is not its customer's last purchase of any)."""
    today = local_today(store.timezone, now)
    return soonest_by_order(p for p in predict(session, store=store, now=now)
                            if p.order_id == order_id and not lapsed(p, today=today)
                            ).get(order_id)
