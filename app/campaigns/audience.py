"""«Who would this automation take?»: the subjects a campaign's trigger found in the last days
(for reorder_due: who is due now), and which of them its conditions let in, for conditions and
trigger params saved or only being tried.

The conditions are checked by conditions.unmet, the code enrolment runs, and an order's product
is chosen by the trigger's own choice (enroll.wanted_products, replenish.soonest_by_order).
Each trigger's window reads what its query in enroll.py reads, over `days` instead of since the
last tick, with things as they are now (a subject enrolled since, or in a sequence already,
counts too: the question is who the rules take). Read-only, and bounded: the newest CAP
subjects are looked at, and the answer says when there were more.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, null, select
from sqlalchemy.orm import Session

from app.campaigns import conditions, replenish
from app.campaigns.editing import checked_conditions, checked_trigger_params
from app.campaigns.enroll import (
    Subject,
    bought_since_cart,
    last_purchases,
    left_unpaid,
    reachable,
    wanted_products,
)
from app.campaigns.models import (
    CART_ABANDONED,
    NO_PURCHASE,
    ORDER_COMPLETED,
    ORDER_LOST,
    ORDER_STATUS,
    PRODUCT_BOUGHT,
    REORDER_DUE,
    SURVEY_ANSWERED,
    Campaign,
)
from app.campaigns.schemas import (
    Conditions,
    OrderStatusParams,
    ProductBoughtParams,
    ReorderDueParams,
    SurveyAnsweredParams,
)
from app.commerce.models import Cart, Order
from app.commerce.names import product_names
from app.contacts.models import Contact
from app.contacts.phones import mask_phone
from app.stores.models import Store
from app.surveys.models import SurveyAnswer

DEFAULT_DAYS = 30
MAX_DAYS = 365
# Subjects looked at, at most: a store's busiest month stays a quick read.
CAP = 5_000
# Subjects that pass, listed.
SHOWN = 10


@dataclass(frozen=True)
class Entry:
    """One subject the campaign would take."""

    subject_type: str  # "order" or "cart"
    subject_id: int
    contact_id: int
    phone: str  # masked
    name: str
    at: datetime  # when its trigger fired (reorder_due: the day its reminder is due)
    order_number: str | None
    total: int  # rial (or the minor unit of a foreign currency)
    product_wc_id: int | None  # the product its messages would name, where the trigger chose
    product_name: str | None


@dataclass(frozen=True)
class Audience:
    trigger: str
    days: int | None  # None: reorder_due, who is due now
    since: datetime | None
    looked_at: int
    passing: int
    capped: bool  # more subjects than CAP: the newest CAP were looked at
    first: list[Entry]


def _probe(session: Session, store: Store, campaign: Campaign, given: Conditions | None,
           params: dict | None) -> Campaign:
    """The campaign with the conditions and params tried (checked as a save checks them), never
    added to the session: the saved campaign is not touched."""
    return Campaign(
        store_id=store.id, kind=campaign.kind, trigger=campaign.trigger,
        trigger_minutes=campaign.trigger_minutes, created_at=campaign.created_at,
        trigger_params=checked_trigger_params(campaign.trigger, params)
        if params is not None else campaign.trigger_params or {},
        conditions=checked_conditions(session, store, given)
        if given is not None else campaign.conditions or {})


# What a trigger's window holds: its subjects (at most CAP, newest first; reorder_due's
# soonest first), and whether there were more.
Found = tuple[list[Subject], bool]


def _bounded(subjects: list[Subject]) -> Found:
    return subjects[:CAP], len(subjects) > CAP


def _newest(session: Session, query, at) -> list[Subject]:
    """CAP + 1 of the query's (id, contact id, time) rows, newest first: one more than is
    looked at tells that there were more."""
    rows = session.execute(query.order_by(at.desc(), Order.id.desc()).limit(CAP + 1)).all()
    return [Subject(subject_id, contact_id, when) for subject_id, contact_id, when in rows]


def _orders(session: Session, store: Store, at, since: datetime, until: datetime,
            *where) -> list[Subject]:
    """The store's orders (with a reachable customer) whose `at` is in since–until."""
    return _newest(session, select(Order.id, Order.contact_id, at).where(
        Order.store_id == store.id, Order.contact_id.is_not(None), Order.deleted_at.is_(None),
        reachable(Order.contact_id), at >= since, at <= until, *where), at)


def _completed(session, store, probe, since, now) -> Found:
    at = func.coalesce(Order.completed_gmt, Order.modified_gmt)
    return _bounded(_orders(session, store, at, since, now, Order.status == "completed"))


def _status_reached(session, store, probe, since, now) -> Found:
    params = OrderStatusParams.model_validate(probe.trigger_params)
    return _bounded(_orders(session, store, func.coalesce(Order.modified_gmt, Order.created_at),
                            since, now, Order.status == params.status))


def _products_bought(session, store, probe, since, now) -> Found:
    """Paid orders holding a product it looks for, each with the first (the one it names);
    the cap counts the paid orders read."""
    params = ProductBoughtParams.model_validate(probe.trigger_params)
    paid, capped = _bounded(_orders(session, store,
                                    func.coalesce(Order.paid_gmt, Order.created_gmt), since,
                                    now, Order.purchased.is_(True)))
    wanted = wanted_products(session, store.id, params)
    items = dict(session.execute(select(Order.id, Order.items).where(
        Order.id.in_([s.id for s in paid]))).all()) if paid else {}
    return [s._replace(product_wc_id=first) for s in paid
            if (first := conditions.first_held(items.get(s.id), wanted)) is not None], capped


def _answered(session, store, probe, since, now) -> Found:
    params = SurveyAnsweredParams.model_validate(probe.trigger_params)
    return _bounded(_orders(session, store, SurveyAnswer.answered_at, since, now,
                            SurveyAnswer.order_id == Order.id,
                            SurveyAnswer.rating.between(params.rating_min, params.rating_max)))


def _lost(session, store, probe, since, now) -> Found:
    return _bounded(_orders(session, store, Order.created_gmt, since,
                            now - timedelta(minutes=probe.trigger_minutes), left_unpaid()))


def _lapsed(session, store, probe, since, now) -> Found:
    """Customers whose silence after their last purchase ran out in the window; subject = that
    order, from when it ran out."""
    silence = timedelta(minutes=probe.trigger_minutes)
    last = last_purchases(store.id)
    query = (select(Order.id, Order.contact_id, Order.created_gmt)
             .join(last, and_(last.c.contact_id == Order.contact_id,
                              last.c.last_at == Order.created_gmt))
             .where(Order.store_id == store.id, Order.purchased.is_(True),
                    Order.deleted_at.is_(None), reachable(Order.contact_id),
                    Order.created_gmt >= since - silence, Order.created_gmt <= now - silence))
    return _bounded([s._replace(anchor_at=s.anchor_at + silence)
                     for s in _newest(session, query, Order.created_gmt)])


def _abandoned(session, store, probe, since, now) -> Found:
    rows = session.execute(
        select(Cart.id, Cart.contact_id, Cart.modified_gmt)
        .where(Cart.store_id == store.id, Cart.contact_id.is_not(None),
               Cart.converted_at.is_(None), Cart.total > 0, reachable(Cart.contact_id),
               Cart.modified_gmt >= since,
               Cart.modified_gmt <= now - timedelta(minutes=probe.trigger_minutes),
               ~bought_since_cart())
        .order_by(Cart.modified_gmt.desc(), Cart.id.desc()).limit(CAP + 1)).all()
    return _bounded([Subject(cart_id, contact_id, at) for cart_id, contact_id, at in rows])


def _due(session, store, probe, since, now) -> Found:
    """Orders with a product due within days_before now (the soonest one each), soonest
    first; from the store-local day its reminder is due."""
    params = ReorderDueParams.model_validate(probe.trigger_params)
    zone = ZoneInfo(store.timezone)
    found = replenish.soonest_by_order(replenish.due_within(session, store=store, now=now,
                                                            days=params.days_before))
    subjects = []
    for order_id, p in list(found.items())[:CAP + 1]:
        day = p.predicted - timedelta(days=params.days_before)
        subjects.append(Subject(order_id, p.contact_id,
                                datetime(day.year, day.month, day.day, tzinfo=zone)
                                .astimezone(timezone.utc),
                                p.product_id))
    return _bounded(subjects)


_FINDERS = {ORDER_COMPLETED: _completed, ORDER_STATUS: _status_reached,
            PRODUCT_BOUGHT: _products_bought, SURVEY_ANSWERED: _answered, ORDER_LOST: _lost,
            NO_PURCHASE: _lapsed, CART_ABANDONED: _abandoned, REORDER_DUE: _due}


def _entries(session: Session, store: Store, subject_type: str,
             subjects: Sequence[Subject]) -> list[Entry]:
    model = Cart if subject_type == "cart" else Order
    number = Order.number if model is Order else null()
    rows = {row.id: row for row in session.execute(
        select(model.id, model.total, number.label("number"), Contact.phone, Contact.first_name,
               Contact.last_name).join(Contact, Contact.id == model.contact_id)
        .where(model.id.in_([s.id for s in subjects])))}
    names = product_names(session, store.id,
                          [s.product_wc_id for s in subjects if s.product_wc_id is not None])
    return [Entry(subject_type=subject_type, subject_id=s.id, contact_id=s.contact_id,
                  phone=mask_phone(rows[s.id].phone),
                  name=f"{rows[s.id].first_name} {rows[s.id].last_name}".strip(),
                  at=s.anchor_at, order_number=rows[s.id].number,
                  total=rows[s.id].total or 0, product_wc_id=s.product_wc_id,
                  product_name=names.get(s.product_wc_id) if s.product_wc_id else None)
            for s in subjects if s.id in rows]


def audience(session: Session, *, store: Store, campaign: Campaign, now: datetime,
             days: int = DEFAULT_DAYS, given: Conditions | None = None,
             trigger_params: dict | None = None) -> Audience:
    """Who of the trigger's subjects of the last `days` days (reorder_due: due now) the
    campaign's conditions let in; `given` and `trigger_params` try others in place of the
    saved ones (checked as saving checks them: 422 for what a save would refuse)."""
    probe = _probe(session, store, campaign, given, trigger_params)
    since = now - timedelta(days=days)
    subjects, capped = _FINDERS[campaign.trigger](session, store, probe, since, now)
    subject_type = "cart" if campaign.trigger == CART_ABANDONED else "order"
    failing = conditions.unmet(session, probe, subject_type, subjects, now)
    passing = [s for s in subjects if s.id not in failing]
    due_now = campaign.trigger == REORDER_DUE
    return Audience(trigger=campaign.trigger, days=None if due_now else days,
                    since=None if due_now else since, looked_at=len(subjects),
                    passing=len(passing), capped=capped,
                    first=_entries(session, store, subject_type, passing[:SHOWN]))
