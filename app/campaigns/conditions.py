"""A campaign's conditions (schemas.Conditions) over the subjects its trigger found: which of
them do not enter the sequence. Read once per batch, when the trigger fires; nothing here
writes."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.campaigns.schemas import Conditions
from app.commerce.models import Cart, Order
from app.commerce.money import to_minor
from app.errors import NotFound
from app.segments import facts
from app.segments.service import definition_of, members, segment_of_store
from app.stores.models import Store


def first_held(items: list | None, wanted: set[int]) -> int | None:
    """The product id of the first item that is one of `wanted` (or whose variation is)."""
    for item in items or []:
        if isinstance(item, dict) and (item.get("product_id") in wanted
                                       or item.get("variation_id") in wanted):
            product_id = item.get("product_id") or item.get("variation_id")
            return product_id if isinstance(product_id, int) else None
    return None


def _items_hold(items: list | None, wanted: set[int]) -> bool:
    return first_held(items, wanted) is not None


def unmet(session: Session, campaign: Campaign, subject_type: str, subjects: Sequence,
          now: datetime) -> set[int]:
    """The ids of the subjects (enroll.Subject: id, contact_id, anchor_at) that fail any of
    the campaign's conditions."""
    given = Conditions.model_validate(campaign.conditions or {})
    if not subjects or given == Conditions():
        return set()
    store = session.get_one(Store, campaign.store_id)
    failing: set[int] = set()
    if given.segment_id is not None:
        try:
            segment = segment_of_store(session, store_id=store.id, segment_id=given.segment_id)
        except NotFound:  # never: deleting a segment a campaign names is refused
            return {s.id for s in subjects}
        inside = {m.person.id for m in members(session, store=store,
                                               definition=definition_of(segment), now=now)}
        failing |= {s.id for s in subjects if s.contact_id not in inside}
    about_items = given.products or given.categories or given.total_min is not None \
        or given.total_max is not None
    if about_items:
        model = Cart if subject_type == "cart" else Order
        rows = {row.id: row for row in session.execute(
            select(model.id, model.items, model.total)
            .where(model.id.in_([s.id for s in subjects])))}
        wanted = set(given.products)
        if given.categories:
            wanted |= facts.products_in_categories(session, store.id, set(given.categories))
        low = to_minor(given.total_min, store.currency) if given.total_min is not None else None
        high = to_minor(given.total_max, store.currency) if given.total_max is not None else None
        for s in subjects:
            row = rows.get(s.id)
            total = (row.total or 0) if row is not None else 0
            if row is None or ((given.products or given.categories)
                               and not _items_hold(row.items, wanted)) \
                    or (low is not None and total < low) or (high is not None and total > high):
                failing.add(s.id)
    if given.order is not None:
        earlier = _bought_before(session, store.id, subject_type, subjects)
        failing |= {s.id for s in subjects if (s.id in earlier) != (given.order == "repeat")}
    return failing


def _bought_before(session: Session, store_id: int, subject_type: str,
                   subjects: Sequence) -> set[int]:
    """The subjects whose customer had a paid order before it (before the order was placed;
    for a cart, before its trigger fired)."""
    contacts = {s.contact_id for s in subjects}
    placed = func.coalesce(Order.paid_gmt, Order.created_gmt)
    firsts: dict[int, list[tuple[int, datetime]]] = {}
    for contact_id, order_id, at in session.execute(
            select(Order.contact_id, Order.id, placed)
            .where(Order.store_id == store_id, Order.contact_id.in_(contacts),
                   Order.purchased.is_(True), Order.deleted_at.is_(None))):
        if contact_id is not None:  # the query's condition
            firsts.setdefault(contact_id, []).append((order_id, at))
    before = set()
    for s in subjects:
        theirs = firsts.get(s.contact_id, [])
        if subject_type == "order":
            own = next((at for order_id, at in theirs if order_id == s.id), None)
            cutoff = own or s.anchor_at
            if any(order_id != s.id and at is not None and (at < cutoff or (
                    at == cutoff and order_id < s.id)) for order_id, at in theirs):
                before.add(s.id)
        elif any(at is not None and at < s.anchor_at for _, at in theirs):
            before.add(s.id)
    return before
