"""A tea shop's November 2026 (Tehran time), with every kind of message the engine leaves
behind, and a second shop whose history must never show in the first one's reports.

The hand count of this history is written out in test_summary.py.
"""

from dataclasses import dataclass

import pytest

from app.contacts.models import Contact
from app.db import unit_of_work
from tests.factories import set_step, store_settings
from tests.helpers import StoreCreds, create_store
from tests.reports.history import History

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
VARIANTS = [{"name": "A", "template": "سبد شما منتظر است {{ link }}", "weight": 50},
            {"name": "B", "template": "یادتان نرود {{ link }}", "weight": 50}]


@dataclass
class Seeded:
    store: StoreCreds
    other: StoreCreds
    ids: dict  # message name → id
    other_campaign_id: int
    campaign_ids: dict  # kind → id


def headers(store: StoreCreds) -> dict:
    return {"Authorization": f"Bearer {store.api_key}"}


def seed_november(session, store_id: int) -> dict:
    h = History(session, store_id)
    store_settings(session, store_id, sms_price_per_part=1500)
    set_step(session, store_id, "abandoned_cart", 1, variants=VARIANTS)
    ac, survey, cross = "abandoned_cart", "post_purchase_survey", "cross_sell"
    m = {}
    # Went out in November.
    m[1] = h.message(ac, 1, variant="A", status="delivered", sent="2026-11-01 00:10", parts=1,
                     contact=h.contact(first_name="=HYPERLINK(\"http://x\")"),
                     cost=1200, delivery_status=10, delivered="2026-11-01 00:11",
                     clicked="2026-11-01 09:00")
    m[2] = h.message(ac, 1, variant="B", status="delivered", sent="2026-11-02 10:00", parts=2,
                     delivery_status=10, clicked="2026-11-02 10:05", human_clicks=3)
    m[3] = h.message(ac, 1, variant="A", status="failed", sent="2026-11-03 10:00", parts=1,
                     cost=1300, delivery_status=14, reason="not_delivered", reason_detail="gateway status 14")
    m[4] = h.message(ac, 1, variant="B", status="sent", sent="2026-11-03 11:00", parts=1,
                     cost=1250, delivery_status=1, clicked="2026-11-03 12:00")
    m[5] = h.message(ac, 2, status="delivered", sent="2026-11-15 12:00", parts=3, cost=3600,
                     delivery_status=10)
    m[6] = h.message(survey, 1, status="delivered", sent="2026-11-10 12:00", parts=1,
                     delivery_status=10, clicked="2026-11-10 13:00")
    m[7] = h.message(survey, 1, status="delivered", sent="2026-11-20 12:00", parts=1, cost=1100,
                     delivery_status=10, clicked="2026-11-20 12:30")
    m[8] = h.message(cross, 1, status="delivered", sent="2026-11-25 12:00", parts=2, cost=2400,
                     delivery_status=10, clicked="2026-11-25 18:00")
    m[13] = h.message(cross, 1, status="sending", sent="2026-11-26 12:00", parts=1)
    m[14] = h.message(ac, 1, variant="B", status="delivered", sent="2026-11-30 23:59", parts=1,
                      cost=1200, delivery_status=10, bot_hits=3)
    # Due in November, not gone out.
    m[9] = h.message(ac, 1, variant="A", status="failed", due="2026-11-05 10:00", parts=1,
                     reason="gateway_refused", reason_detail="invalid receptor")
    m[10] = h.message(ac, 1, variant="A", status="skipped", due="2026-11-06 10:00",
                      reason="opted_out")
    m[11] = h.message(ac, 3, status="scheduled", due="2026-11-30 23:50")
    m[12] = h.message(ac, 2, status="held", due="2026-11-12 10:00", reason="coupon_not_ready")
    # Just outside November.
    m[15] = h.message(ac, 1, variant="A", status="delivered", sent="2026-10-31 23:59", parts=1,
                      cost=1200, delivery_status=10, clicked="2026-11-01 08:00")
    m[16] = h.message(ac, 1, variant="A", status="delivered", sent="2026-12-01 00:00", parts=1,
                      cost=1200, delivery_status=10, clicked="2026-12-01 08:00")
    m[17] = h.message(ac, 2, status="scheduled", due="2026-12-01 00:00")

    # Orders credited to them.
    h.order(m[1], revenue=5_000_000, at="2026-11-01 10:00", basis="cart_token", number="1401",
            first_name="=HYPERLINK(\"http://x\")")
    h.order(m[4], revenue=2_000_000, at="2026-11-03 13:00", basis="click", number="1402")
    h.order(m[4], revenue=900_000, at="2026-11-04 13:00", basis="click", removed=True,
            status="cancelled")
    h.order(m[5], revenue=1_500_000, at="2026-11-16 09:00", basis="coupon", number="1403")
    h.order(m[8], revenue=3_000_000, at="2026-11-26 09:00", basis="cross_sell", cross_sell=True,
            number="1404")
    h.order(m[15], revenue=7_000_000, at="2026-11-01 09:00", basis="click")

    # Survey answers: two through survey SMS, one without (typed-in link), one in October.
    h.answer(m[6], rating=5, comment="عالی بود", at="2026-11-11 09:00")
    h.answer(m[7], rating=2, comment="دیر رسید", at="2026-11-21 09:00")
    h.answer(None, rating=4, at="2026-11-15 09:00")
    h.answer(None, rating=1, comment="خیلی بد", at="2026-10-15 09:00")

    # Opt-outs: after a survey SMS; after an October reminder; by the merchant, never texted;
    # one in October.
    h.opt_out(session.get(Contact, m[7].contact_id), at="2026-11-22 09:00", source="sms reply")
    h.opt_out(session.get(Contact, m[15].contact_id), at="2026-11-08 09:00", source="sms reply")
    h.opt_out(h.contact(), at="2026-11-05 09:00", source="merchant")
    h.opt_out(h.contact(), at="2026-10-20 09:00", source="sms reply")
    return {n: message.id for n, message in m.items()}


def seed_other_store(session, store_id: int) -> None:
    """Another shop's November: it must never show in the first shop's reports."""
    h = History(session, store_id)
    sent = h.message("abandoned_cart", 1, status="delivered", sent="2026-11-10 10:00", parts=4,
                     cost=9999, delivery_status=10, clicked="2026-11-10 11:00")
    h.order(sent, revenue=99_000_000, at="2026-11-10 12:00", number="9001")
    h.answer(sent, rating=3, comment="از فروشگاه دیگر", at="2026-11-11 09:00")
    h.opt_out(h.contact(), at="2026-11-12 09:00", source="sms reply")


@pytest.fixture
def seeded(factory) -> Seeded:
    with unit_of_work(factory) as session:
        store = create_store(session)
        other = create_store(session, name="قهوه‌خانه", url="https://coffee.example")
        ids = seed_november(session, store.id)
        seed_other_store(session, other.id)
        h = History(session, store.id)
        other_campaign_id = History(session, other.id).campaigns["abandoned_cart"].id
        campaign_ids = {kind: c.id for kind, c in h.campaigns.items()}
    return Seeded(store, other, ids, other_campaign_id, campaign_ids)
