"""A definition turned into small named checks, each one condition of it: a contact is in the
segment when every check passes. Each check's facts are read (app/segments/facts.py) only when
the definition has that condition."""

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.commerce.money import to_minor
from app.contacts.phones import InvalidPhone, is_mobile_e164, normalize_phone
from app.segments import facts, rfm
from app.segments.facts import Person, Purchases
from app.segments.schemas import Definition

Check = Callable[[Person], bool]
_NONE = Purchases(0, 0, datetime.min)


def has_mobile(person: Person) -> bool:
    """Always applied: a contact row whose phone is no valid mobile can get no SMS."""
    return is_mobile_e164(person.phone)


def _phone_of(sender: str) -> str | None:
    try:
        return normalize_phone(sender).e164
    except InvalidPhone:
        return None


def checks(session: Session, *, store_id: int, currency: str, definition: Definition,
           now: datetime, buyers: dict[int, Purchases]) -> list[Check]:
    """The definition's checks, `buyers` being the store's facts.purchases."""
    found: list[Check] = [has_mobile]
    p, e, r = definition.purchases, definition.engagement, definition.rfm

    tests = _purchase_tests(definition, money=lambda amount: to_minor(amount, currency),
                            days_ago=lambda days: now - timedelta(days=days))
    if tests:
        def purchases_hold(person: Person) -> bool:
            bought = buyers.get(person.id, _NONE)
            return all(test(bought) for test in tests)
        found.append(purchases_hold)
    if p.products:
        product_buyers = _bought_any(session, store_id, set(p.products))
        found.append(lambda c: c.id in product_buyers)
    if p.categories:
        in_categories = facts.products_in_categories(session, store_id, set(p.categories))
        category_buyers = _bought_any(session, store_id, in_categories)
        found.append(lambda c: c.id in category_buyers)

    if e.clicked_within_days is not None:
        clicked = facts.clicked_since(session, store_id,
                                      now - timedelta(days=e.clicked_within_days))
        found.append(lambda c: c.id in clicked)
    if e.replied_within_days is not None:
        phones = {_phone_of(s) for s in facts.repliers_since(
            session, store_id, now - timedelta(days=e.replied_within_days))}
        found.append(lambda c: c.phone in phones)
    if e.rating_min is not None or e.rating_max is not None:
        ratings = facts.latest_ratings(session, store_id)
        low, high = e.rating_min or 1, e.rating_max or 5
        found.append(lambda c: c.id in ratings and low <= ratings[c.id] <= high)

    wanted = {name: value for name, value in (("recency", r.recency_min),
                                               ("frequency", r.frequency_min),
                                               ("monetary", r.monetary_min)) if value}
    if wanted:
        scores = rfm.scores(buyers)
        found.append(lambda c: c.id in scores and all(
            getattr(scores[c.id], name) >= least for name, least in wanted.items()))
    return found


def _purchase_tests(definition: Definition, *, money, days_ago) -> list[Callable[[Purchases],
                                                                                   bool]]:
    """The conditions on a contact's paid orders, each a test of their Purchases."""
    p, tests = definition.purchases, []
    if p.orders_min is not None:
        tests.append(lambda b: b.orders >= p.orders_min)
    if p.orders_max is not None:
        tests.append(lambda b: b.orders <= p.orders_max)
    if p.spent_min is not None:
        spent_min = money(p.spent_min)
        tests.append(lambda b: b.spent >= spent_min)
    if p.spent_max is not None:
        spent_max = money(p.spent_max)
        tests.append(lambda b: b.spent <= spent_max)
    # The average is compared multiplied out (spent >= min * orders): no rounding.
    if p.average_min is not None:
        average_min = money(p.average_min)
        tests.append(lambda b: b.orders > 0 and b.spent >= average_min * b.orders)
    if p.average_max is not None:
        average_max = money(p.average_max)
        tests.append(lambda b: b.orders > 0 and b.spent <= average_max * b.orders)
    if p.last_order_within_days is not None:
        since = days_ago(p.last_order_within_days)
        tests.append(lambda b: b.orders > 0 and b.last_at >= since)
    if p.last_order_before_days is not None:
        before = days_ago(p.last_order_before_days)
        tests.append(lambda b: b.orders > 0 and b.last_at < before)
    if p.buyer == "first_time":
        tests.append(lambda b: b.orders == 1)
    elif p.buyer == "repeat":
        tests.append(lambda b: b.orders >= 2)
    return tests


def _bought_any(session: Session, store_id: int, product_ids: set[int]) -> set[int]:
    """The contacts with a paid order of any of these products (or variations)."""
    return {contact_id for contact_id, items in facts.items_bought(session, store_id)
            if any(isinstance(item, dict) and (item.get("product_id") in product_ids
                                               or item.get("variation_id") in product_ids)
                   for item in items or [])}
