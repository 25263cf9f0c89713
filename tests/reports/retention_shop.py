"""A scripted shop for the retention report: Mehr, Aban and Azar 1405 (Tehran time), asked
for on 1405/12/10 (2027-03-01). The orders and the hand count are in test_retention.py; the
panel's page (tests/dashboard/test_retention_page.py) shows the same shop."""

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

import jdatetime

from app.commerce.models import Order
from app.commerce.service import is_purchased
from app.contacts.models import Contact
from app.surveys.models import SurveyAnswer

PERIOD = {"from": "1405/07/01", "to": "1405/09/30"}
NOW = "1405/12/10 12:00"
TEHRAN = ZoneInfo("Asia/Tehran")
_wc_ids = itertools.count(1)


def at(jalali: str) -> datetime:
    """«1405/07/05 10:00» (Tehran) → an aware datetime; the time defaults to 10:00."""
    day, _, clock = jalali.partition(" ")
    y, m, d = (int(p) for p in day.split("/"))
    hh, mm = (int(p) for p in (clock or "10:00").split(":"))
    g = jdatetime.date(y, m, d).togregorian()
    return datetime(g.year, g.month, g.day, hh, mm, tzinfo=TEHRAN)


class Shop:
    def __init__(self, session, store_id: int):
        self.session, self.store_id = session, store_id

    def contact(self, phone: str) -> int:
        contact = Contact(store_id=self.store_id, phone=phone)
        self.session.add(contact)
        self.session.flush()
        return contact.id

    def order(self, when: str, total: int, *, contact=None, customer=None, email="",
              status="processing", paid=True, refunded=0, trashed=False) -> Order:
        """An order as the webhook leaves it: `purchased` by the commerce rule itself."""
        paid_gmt = at(when) if paid else None
        order = Order(store_id=self.store_id, wc_id=next(_wc_ids), status=status,
                      purchased=is_purchased(status, paid_gmt) and not trashed, currency="IRT",
                      total=total, refunded=refunded, contact_id=contact, customer_wc_id=customer,
                      email=email, created_gmt=at(when), paid_gmt=paid_gmt,
                      deleted_at=at(when) if trashed else None, items=[])
        self.session.add(order)
        self.session.flush()
        return order

    def answer(self, order: Order, rating: int, when: str) -> None:
        self.session.add(SurveyAnswer(store_id=self.store_id, order_id=order.id, rating=rating,
                                      answered_at=at(when)))
        self.session.flush()


def seed(session, store_id: int) -> None:
    s = Shop(session, store_id)
    a, b, e, f, g = (s.contact(f"+98912000000{n}") for n in range(1, 6))
    a1 = s.order("1405/07/05", 1_000_000, contact=a, customer=7)
    s.order("1405/07/20", 2_000_000, contact=a, customer=7)
    a3 = s.order("1405/09/10", 3_000_000, contact=a, customer=7)
    s.order("1405/07/10", 4_000_000, contact=b, refunded=1_000_000)
    s.order("1405/10/15", 500_000, contact=b, status="completed")
    s.order("1405/08/15", 9_000_000, contact=b, status="trash", trashed=True)
    c1 = s.order("1405/08/03", 1_500_000, customer=42, email="c@shop.example")
    s.order("1405/08/25", 1_500_000, customer=42, email="c@shop.example")
    s.order("1405/08/12", 2_500_000, email="D@Shop.Example")
    d2 = s.order("1405/09/20", 700_000, email="d@shop.example")
    s.order("1405/11/10", 400_000, email="d@shop.example")
    s.order("1405/06/19", 1_000_000, contact=e)
    s.order("1405/08/05", 2_000_000, contact=e)
    s.order("1405/09/05", 6_000_000, contact=f, status="refunded", refunded=6_000_000)
    s.order("1405/09/08", 900_000, contact=g, status="cancelled")
    g1 = s.order("1405/09/09", 800_000, contact=g)
    s.order("1405/09/12", 600_000, contact=g, status="pending", paid=False)
    s.order("1405/08/20", 300_000)
    s.answer(a1, 5, "1405/07/25")
    s.answer(c1, 3, "1405/08/28")
    s.answer(a3, 4, "1405/09/15")
    s.answer(g1, 1, "1405/09/16")
    s.answer(d2, 5, "1405/10/02")


def two_shops(factory, clock):
    """The scripted store, and another whose customer 42 must never merge with ours; the clock
    at NOW. Returns (store, other)."""
    from app.db import unit_of_work
    from tests.helpers import create_store

    with unit_of_work(factory) as session:
        store = create_store(session)
        other = create_store(session, name="قهوه‌خانه", url="https://coffee.example")
        seed(session, store.id)
        Shop(session, other.id).order("1405/08/10", 10_000_000, customer=42)
    clock.set(at(NOW))
    return store, other
