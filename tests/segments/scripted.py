"""A scripted store for the segment tests: 60 customers with a year of varied histories (orders
in every state, partial refunds, products of several categories, link clicks, replies, survey
answers, opt-outs and blocks), written row by row through the ORM like the reports' shops, and
kept beside as plain Python data so that each test can count its segment by hand.

The story's clock is NOW; every time is before it."""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from app.commerce.models import Order, Product
from app.commerce.service import is_purchased
from app.contacts.models import Contact
from app.db import unit_of_work
from app.links.models import Click, Link
from app.messaging.models import InboundSms
from app.surveys.models import SurveyAnswer
from tests.reports.history import History

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
TEHRAN = ZoneInfo("Asia/Tehran")
# WooCommerce product id → its category ids.
CATALOG = {11: [15], 12: [15], 13: [16], 14: [16, 17], 15: [17], 16: []}
_STATUSES = ["processing"] * 5 + ["completed"] * 4 + ["cancelled", "pending", "refunded"]
_NAMES = ["سارا", "علی", "مریم", "رضا", "زهرا", "حسین", "نرگس", "مهدی"]


@dataclass
class Sale:
    at: datetime
    status: str
    total: int  # toman
    refunded: int  # toman
    products: list[int]

    @property
    def paid(self) -> bool:  # the hand rule: WooCommerce's paid statuses
        return self.status in ("processing", "completed")


@dataclass
class Customer:
    index: int
    phone: str
    first_name: str
    sales: list[Sale] = field(default_factory=list)
    opted_out: bool = False
    promo_blocked: bool = False
    clicks: list[tuple[datetime, bool]] = field(default_factory=list)  # (when, by a bot)
    replies: list[tuple[datetime, str]] = field(default_factory=list)  # (when, sender as typed)
    ratings: list[tuple[datetime, int]] = field(default_factory=list)
    id: int = 0  # the contact's id, once written

    # What a person counts by hand from the story.
    @property
    def paid(self) -> list[Sale]:
        return [s for s in self.sales if s.paid]

    @property
    def orders(self) -> int:
        return len(self.paid)

    @property
    def spent(self) -> int:  # toman, net of refunds
        return sum(s.total - s.refunded for s in self.paid)

    @property
    def last(self) -> datetime | None:
        return max((s.at for s in self.paid), default=None)

    @property
    def reachable(self) -> bool:
        return not (self.opted_out or self.promo_blocked)


def _ago(rng: random.Random, days: int) -> datetime:
    return NOW - timedelta(days=days, hours=rng.randint(0, 23), minutes=rng.randint(0, 59))


def story(seed: int = 22) -> list[Customer]:
    rng = random.Random(seed)
    customers = []
    for i in range(60):
        c = Customer(i, f"+98912{7000000 + i:07d}", _NAMES[i % len(_NAMES)])
        for _ in range(rng.choice([0, 0, 1, 1, 1, 2, 2, 3, 4, 6, 9])):
            status = rng.choice(_STATUSES)
            total = rng.randrange(100_000, 5_000_000, 10_000)
            refunded = rng.choice([0, 0, 0, 50_000]) if status != "pending" else 0
            c.sales.append(Sale(_ago(rng, rng.randint(0, 364)), status, total, refunded,
                                rng.sample(sorted(CATALOG), rng.randint(1, 2))))
        c.opted_out = i % 13 == 5
        c.promo_blocked = i % 17 == 3
        for _ in range(rng.choice([0, 0, 1, 2])):
            c.clicks.append((_ago(rng, rng.randint(0, 90)), rng.random() < 0.25))
        if rng.random() < 0.2:
            # A reply, its sender written the way some gateways give it.
            sender = rng.choice([c.phone, "0" + c.phone[3:], c.phone[1:]])
            c.replies.append((_ago(rng, rng.randint(0, 60)), sender))
        for sale in c.paid[:2]:
            if rng.random() < 0.5:
                c.ratings.append((sale.at + timedelta(days=3), rng.randint(1, 5)))
        customers.append(c)
    return customers


def write(session, store_id: int, customers: list[Customer], *, wc_from: int = 1) -> None:
    """The story's rows in the store: contacts, orders, messages with their clicks, replies,
    survey answers, and the catalog."""
    for wc_id, categories in CATALOG.items():
        session.add(Product(store_id=store_id, wc_id=wc_id, name=f"کالای {wc_id}",
                            categories=[{"id": c, "name": f"دسته {c}"} for c in categories]))
    history = History(session, store_id)
    wc_id = wc_from
    for c in customers:
        contact = Contact(store_id=store_id, phone=c.phone, first_name=c.first_name,
                          last_name="نمونه", opted_out_at=NOW - timedelta(days=9)
                          if c.opted_out else None,
                          promo_blocked_at=NOW - timedelta(days=4) if c.promo_blocked else None)
        session.add(contact)
        session.flush()
        c.id = contact.id
        rated = dict((s_at - timedelta(days=3), r) for s_at, r in c.ratings)
        for sale in c.sales:
            paid_gmt = sale.at if sale.status != "pending" else None
            order = Order(store_id=store_id, wc_id=wc_id, number=str(wc_id), status=sale.status,
                          purchased=is_purchased(sale.status, paid_gmt), currency="IRT",
                          total=sale.total * 10, refunded=sale.refunded * 10,
                          contact_id=contact.id, created_gmt=sale.at, paid_gmt=paid_gmt,
                          items=[{"product_id": p, "variation_id": 0, "name": "", "quantity": 1,
                                  "price": 10, "total": 10} for p in sale.products])
            wc_id += 1
            session.add(order)
            session.flush()
            if sale.at in rated:
                session.add(SurveyAnswer(store_id=store_id, order_id=order.id,
                                         rating=rated[sale.at], answered_at=sale.at
                                         + timedelta(days=3)))
        for at, bot in c.clicks:
            sent = (at - timedelta(hours=1)).astimezone(TEHRAN).strftime("%Y-%m-%d %H:%M")
            message = history.message("abandoned_cart", 1, status="sent", sent=sent,
                                      contact=contact)
            link = session.query(Link).filter_by(message_id=message.id).one()
            session.add(Click(link_id=link.id, store_id=store_id, message_id=message.id,
                              clicked_at=at, bot=bot))
        for at, sender in c.replies:
            session.add(InboundSms(store_id=store_id, gateway_id=f"in-{store_id}-{c.index}",
                                   sender=sender, text="ممنون", received_at=at,
                                   processed_at=at))
    session.flush()


def scripted_store(factory, clock, store_id: int, other_id: int) -> list[Customer]:
    """The story written in the store, another story of 20 customers (some with the same
    phones) in the other store, which must never show up; the clock at NOW. Returns the
    store's customers."""
    customers = story()
    with unit_of_work(factory) as session:
        write(session, store_id, customers)
        write(session, other_id, story(seed=7)[:20], wc_from=10_000)
        # A row whose phone is a Tehran landline (written before phones were checked): it can
        # get no SMS, so it is in no segment, not even the one of everyone.
        session.add(Contact(store_id=store_id, phone="+982188776655", first_name="تلفن ثابت"))
    clock.set(NOW)
    return customers
