"""A tea shop's last ten days (Tehran time), counted by hand for the home page:

| message | campaign, step | status | sent | parts | cost (Rial) | clicked | order (Rial) |
|---|---|---|---|---|---|---|---|
| cart_1 | abandoned cart 1 | delivered | 2 days ago 10:00 | 1 | 1,200 | yes | 5,000,000 |
| cart_2 | abandoned cart 2 | delivered | 5 days ago 10:00 | 2 | 2,400 | no | — |
| survey | survey 1 | delivered | 3 days ago 12:00 | 1 | 1,100 | yes | — (answered 2 ★) |
| cross | cross-sell 1 | delivered | 1 day ago 18:00 | 2 | 2,400 | yes | 3,000,000 |
| upcoming | abandoned cart 1 | scheduled, due tomorrow 11:00 | | | | | |
| held | abandoned cart 2 | held «coupon: …», due 1 day ago | | | | | |
| skipped | abandoned cart 1 | skipped «opted out», due 1 day ago | | | | | |

Totals in the default period (the last 30 days): 4 sent, 6 parts, 7,100 Rial (710 toman),
3 clicks (75%), 2 orders, 8,000,000 Rial (800,000 toman) revenue, return on spend 1,126.8,
1 opt-out (by the merchant, 4 days ago), 1 survey answer.

A second shop has one big sale the first must never see.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignStep
from app.contacts.models import Contact
from tests.factories import store_settings
from tests.helpers import StoreCreds, create_store
from tests.reports.history import History

TEHRAN = ZoneInfo("Asia/Tehran")
OPTED_OUT_PHONE = "+989350000999"
CUSTOMER_PHONE = "+989351112233"


@dataclass
class Seeded:
    store: StoreCreds
    other: StoreCreds
    ids: dict  # name → message id
    campaign_ids: dict  # kind → id
    contact_id: int  # the customer of cart_1 (named, never opted out)
    other_campaign_id: int


def day(days_ago: int, at: str) -> str:
    """Local wall-clock text, `days_ago` days before today in Tehran."""
    return f"{(datetime.now(TEHRAN) - timedelta(days=days_ago)).date()} {at}"


def seed_store(session: Session) -> Seeded:
    store = create_store(session)
    other = create_store(session, name="قهوه‌خانه", url="https://coffee.example")
    store_settings(session, store.id, sms_price_per_part=1200)
    h = History(session, store.id)
    customer = Contact(store_id=store.id, phone=CUSTOMER_PHONE, first_name="سارا",
                       last_name="محمدی")
    session.add(customer)
    session.flush()
    ac, survey, cross = "abandoned_cart", "post_purchase_survey", "cross_sell"
    m = {}
    m["cart_1"] = h.message(ac, 1, status="delivered", sent=day(2, "10:00"), parts=1, cost=1200,
                            delivery_status=10, clicked=day(2, "10:30"), contact=customer,
                            text="سارا عزیز، سبد خریدت در چای‌خانه منتظرته")
    m["cart_2"] = h.message(ac, 2, status="delivered", sent=day(5, "10:00"), parts=2, cost=2400,
                            delivery_status=10)
    m["survey"] = h.message(survey, 1, status="delivered", sent=day(3, "12:00"), parts=1,
                            cost=1100, delivery_status=10, clicked=day(3, "13:00"))
    m["cross"] = h.message(cross, 1, status="delivered", sent=day(1, "18:00"), parts=2,
                           cost=2400, delivery_status=10, clicked=day(1, "19:00"))
    m["upcoming"] = h.message(ac, 1, status="scheduled", due=day(-1, "11:00"))
    m["held"] = h.message(ac, 2, status="held", due=day(1, "09:00"),
                          reason="coupon_failed",
                          reason_detail="the store did not answer")
    m["skipped"] = h.message(ac, 1, status="skipped", due=day(1, "09:30"), reason="opted_out")
    h.order(m["cart_1"], revenue=5_000_000, at=day(2, "11:00"), basis="cart_token",
            number="1401")
    h.order(m["cross"], revenue=3_000_000, at=day(1, "20:00"), basis="cross_sell",
            cross_sell=True, number="1402")
    h.answer(m["survey"], rating=2, comment="بسته دیر رسید", at=day(3, "14:00"))
    opted = Contact(store_id=store.id, phone=OPTED_OUT_PHONE, first_name="رضا")
    session.add(opted)
    session.flush()
    h.opt_out(opted, at=day(4, "09:00"), source="merchant")

    o = History(session, other.id)
    sale = o.message(ac, 1, status="delivered", sent=day(2, "10:00"), parts=4, cost=9999,
                     delivery_status=10, clicked=day(2, "11:00"))
    o.order(sale, revenue=99_000_000, at=day(2, "12:00"), number="9001")
    return Seeded(store=store, other=other, ids={k: v.id for k, v in m.items()},
                  campaign_ids={kind: c.id for kind, c in h.campaigns.items()},
                  contact_id=customer.id, other_campaign_id=o.campaigns[ac].id)


# -- a campaign's page: ten days of an A/B test against the ten days before ----------------------

CAMPAIGN_PERIOD = {"from": "۱۴۰۴/۰۶/۲۰", "to": "۱۴۰۴/۰۶/۲۹"}  # 11-20 September 2025
CAMPAIGN_PERIOD_ISO = {"from": "2025-09-11", "to": "2025-09-20"}
AB_VARIANTS = [{"name": "A", "template": "سبد شما منتظر است {{ link }}", "weight": 50},
               {"name": "B", "template": "یادتان نرود {{ link }}", "weight": 50}]


def seed_campaign_history(session: Session, store_id: int) -> dict:
    """The abandoned-cart campaign's 11-20 September 2025 and the ten days before (Tehran),
    far from the relative days above, counted by hand for its page (amounts in Rial):

    | msg | step, variant | when | status | cost | clicked | order |
    |---|---|---|---|---|---|---|
    | c1 | 1 A | 09-12 | delivered | 100,000 | yes | 4,000,000 |
    | c2 | 1 B | 09-13 | delivered, 2 parts | 100,000 | no | — |
    | c3 | 1 B | 09-14 | delivered | 50,000 | yes | 2,000,000; and 500,000 cancelled (taken back) |
    | c4 | 2 | 09-15 | delivered | 50,000 | no | — |
    | c5 | 2 | due 09-15 | held «coupon_failed» | | | |
    | c6 | 1 A | due 09-16 | skipped «opted_out» | | | |
    | p1 | 1 A | 09-02 | delivered | 100,000 | yes | 1,000,000 |
    | p2 | 1 B | 09-03 | delivered | 100,000 | no | — |
    | p3 | 2 | 09-04 | delivered | 50,000 | yes | — |

    The period: 4 sent and delivered, 2 clicks (50%), 2 orders (50%), 600,000 toman revenue,
    30,000 toman cost (20×), 50,000 toman taken back; held 1, skipped 1. The ten days before: 3
    sent, 2 clicks, 1 order, 100,000 toman, 25,000 toman (4×).
    """
    step = session.scalars(select(CampaignStep).join(Campaign).where(
        Campaign.store_id == store_id, Campaign.kind == "abandoned_cart",
        CampaignStep.position == 1)).one()
    step.variants = AB_VARIANTS
    session.flush()
    h = History(session, store_id)
    ac = "abandoned_cart"
    m = {}
    m["c1"] = h.message(ac, 1, variant="A", status="delivered", sent="2025-09-12 10:00", parts=1,
                        cost=100_000, clicked="2025-09-12 10:30")
    m["c2"] = h.message(ac, 1, variant="B", status="delivered", sent="2025-09-13 10:00", parts=2,
                        cost=100_000)
    m["c3"] = h.message(ac, 1, variant="B", status="delivered", sent="2025-09-14 10:00", parts=1,
                        cost=50_000, clicked="2025-09-14 11:00")
    m["c4"] = h.message(ac, 2, status="delivered", sent="2025-09-15 10:00", parts=1, cost=50_000)
    m["c5"] = h.message(ac, 2, status="held", due="2025-09-15 12:00", reason="coupon_failed")
    m["c6"] = h.message(ac, 1, variant="A", status="skipped", due="2025-09-16 12:00",
                        reason="opted_out")
    m["p1"] = h.message(ac, 1, variant="A", status="delivered", sent="2025-09-02 10:00", parts=1,
                        cost=100_000, clicked="2025-09-02 10:30")
    m["p2"] = h.message(ac, 1, variant="B", status="delivered", sent="2025-09-03 10:00", parts=1,
                        cost=100_000)
    m["p3"] = h.message(ac, 2, status="delivered", sent="2025-09-04 10:00", parts=1,
                        cost=50_000, clicked="2025-09-04 11:00")
    h.order(m["c1"], revenue=4_000_000, at="2025-09-12 11:00", number="2001")
    h.order(m["c3"], revenue=2_000_000, at="2025-09-14 12:00", number="2002")
    h.order(m["c3"], revenue=500_000, at="2025-09-14 13:00", number="2003", removed=True,
            status="cancelled")
    h.order(m["p1"], revenue=1_000_000, at="2025-09-02 11:00", number="1999")
    return {name: message.id for name, message in m.items()}
