"""A lost order and the reminders it got, for the tests of what those reminders brought back.

The order comes in over the real webhook path (Shop.order); its lost-order enrollment and
messages are written row by row, as the lost-order trigger and the send path leave them, so these
tests hold attribution and reports to that shape, whatever builds it.
"""

from datetime import datetime, timedelta

from sqlalchemy import select

from app.campaigns.models import (
    LOST_ORDER,
    SCHEDULED,
    SENT,
    Campaign,
    CampaignStep,
    Enrollment,
    Message,
)
from app.commerce.models import Order
from app.db import unit_of_work
from tests.campaigns.shop import tehran


def lost_order(shop, wc_id: int, placed: datetime, *, sent: tuple[datetime, ...] = (),
               total="600000") -> list[int]:
    """Order `wc_id`, placed at `placed` and left unpaid at the bank's page, enrolled in the
    store's lost-order campaign: its steps' messages went out at `sent`, in order; the rest are
    still scheduled. Returns the messages' ids, step by step."""
    shop.order(wc_id, placed, status="pending", total=total)
    with unit_of_work(shop.factory) as session:
        order = session.scalars(select(Order).where(Order.store_id == shop.store.id,
                                                    Order.wc_id == wc_id)).one()
        campaign = session.scalars(select(Campaign).where(
            Campaign.store_id == shop.store.id, Campaign.kind == LOST_ORDER)).one()
        steps = session.scalars(select(CampaignStep).where(CampaignStep.campaign_id == campaign.id)
                                .order_by(CampaignStep.position)).all()
        assert len(sent) <= len(steps)
        enrollment = Enrollment(store_id=shop.store.id, campaign_id=campaign.id,
                                subject_type="order", subject_id=order.id,
                                contact_id=order.contact_id, anchor_at=placed)
        session.add(enrollment)
        session.flush()
        messages = [Message(store_id=shop.store.id, campaign_id=campaign.id,
                            enrollment_id=enrollment.id, step_id=step.id,
                            contact_id=order.contact_id,
                            due_at=placed + timedelta(minutes=step.delay_minutes),
                            status=SENT if i < len(sent) else SCHEDULED,
                            sent_at=sent[i] if i < len(sent) else None, parts=1)
                    for i, step in enumerate(steps)]
        session.add_all(messages)
        session.flush()
        return [m.id for m in messages]


# A tea shop's lost orders of November 2026 (Tehran time), for the reports and the panel. Totals
# are in toman as WooCommerce sends them (IRT); reports count Rial, ten times as much.
#
# | order | placed | reminders sent | then | credit |
# |---|---|---|---|---|
# | 801 | 11-10 10:00 | 1 (10:30) | paid 11:00, 1,200,000 | step 1, 12,000,000 Rial |
# | 802 | 11-11 10:00 | 1, 2 (11-12 10:00) | paid 11-12 12:00, 2,500,000 | step 2, 25,000,000 Rial |
# | 803 | 11-12 10:00 | 1 | paid 11:00, refunded 11-14 | removed |
# | 804 | 11-13 10:00 | 1, 2, 3 (11-16 10:00) | paid 11-16 12:00, cancelled 11-17 | removed |
# | 805 | 11-14 10:00 | 1 | never paid | — |
# | 806 | 11-15 10:00 | none | paid 10:10, before its first reminder | — |
# | 807 | 10-31 23:00 | 1 (23:30, October), 2 (11-01 23:00) | paid 11-02 09:00, 900,000 | step 2, 9,000,000 Rial |
#
# November's lost orders are the six placed in it (801-806); what its messages recovered is
# 801, 802 and 807: 46,000,000 Rial.

def _at(text: str) -> datetime:
    return tehran(text.replace(" ", "T"))


def _story(shop, wc_id: int, placed: str, sent: tuple[str, ...], then: tuple, total: str):
    lost_order(shop, wc_id, _at(placed), sent=tuple(_at(s) for s in sent), total=total)
    for status, at in then:
        shop.order(wc_id, _at(at), placed=_at(placed), status=status, total=total)


def november(shop) -> None:
    """The lost orders of the table above, each told in turn."""
    _story(shop, 801, "2026-11-10 10:00", ("2026-11-10 10:30",),
           (("processing", "2026-11-10 11:00"),), "1200000")
    _story(shop, 802, "2026-11-11 10:00", ("2026-11-11 10:30", "2026-11-12 10:00"),
           (("processing", "2026-11-12 12:00"),), "2500000")
    _story(shop, 803, "2026-11-12 10:00", ("2026-11-12 10:30",),
           (("processing", "2026-11-12 11:00"), ("refunded", "2026-11-14 10:00")), "700000")
    _story(shop, 804, "2026-11-13 10:00",
           ("2026-11-13 10:30", "2026-11-14 10:00", "2026-11-16 10:00"),
           (("processing", "2026-11-16 12:00"), ("cancelled", "2026-11-17 10:00")), "3000000")
    _story(shop, 805, "2026-11-14 10:00", ("2026-11-14 10:30",), (), "400000")
    _story(shop, 806, "2026-11-15 10:00", (), (("processing", "2026-11-15 10:10"),), "500000")
    _story(shop, 807, "2026-10-31 23:00", ("2026-10-31 23:30", "2026-11-01 23:00"),
           (("processing", "2026-11-02 09:00"),), "900000")
