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
