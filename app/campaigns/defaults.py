"""The campaigns every new store starts with, modelled on what converts."""

from sqlalchemy.orm import Session

from app.campaigns.models import (
    ABANDONED_CART,
    CROSS_SELL,
    LOST_ORDER,
    POST_PURCHASE_SURVEY,
    WIN_BACK,
    Campaign,
    CampaignStep,
)
from app.messaging.render import default_template

HOUR = 60
DAY = 24 * HOUR

# kind, name, active, promotional, trigger minutes, step delays (minutes from the anchor)
DEFAULT_CAMPAIGNS = [
    (ABANDONED_CART, "سبد رهاشده", True, True, 60, [1 * HOUR, 1 * DAY, 3 * DAY]),
    (POST_PURCHASE_SURVEY, "نظرسنجی پس از خرید", True, False, 0, [3 * DAY]),
    (CROSS_SELL, "پیشنهاد محصول مکمل", True, True, 0, [7 * DAY]),
    (WIN_BACK, "بازگرداندن مشتری", False, True, 60 * DAY, [0]),
    # Unpaid at the bank's page for 30 minutes: pay now, then a personal discount, a last call.
    (LOST_ORDER, "سفارش پرداخت‌نشده", True, True, 30, [30, 1 * DAY, 3 * DAY]),
]
# The lost order's second step: a single-use 5% code made for that customer (needs the store's
# WooCommerce REST keys; without them the message is held with the reason, nothing else is).
DEFAULT_LOST_ORDER_COUPON = {"mode": "personal", "discount_type": "percent", "amount": "5",
                             "expires_days": 3, "on_failure": "hold"}
# The abandoned cart's steps carry no coupon until the merchant chooses one. Never a fixed code
# by default: no store has it until its merchant makes it, and a code the store lacks is a
# "does not exist" at checkout. Nor a personal one: most stores start without REST keys, and the
# sequence's middle reminder would be held in every one of them.
DEFAULT_COUPONS = {(LOST_ORDER, 2): DEFAULT_LOST_ORDER_COUPON}


def default_send_within(kind: str, delay_minutes: int) -> int:
    """How late a step of this kind may still go out, in minutes after its due time. A reminder
    about a cart or an unpaid order is worth sending for about as long as it waited (at least
    12 hours, at most 2 days: the 1-hour reminder within 12 hours, the 3-day one within 2
    days); a survey within 3 days; a cross-sell or win-back message within a week."""
    if kind in (ABANDONED_CART, LOST_ORDER):
        return min(max(delay_minutes, 12 * HOUR), 2 * DAY)
    if kind == POST_PURCHASE_SURVEY:
        return 3 * DAY
    return 7 * DAY


def create_default_campaigns(session: Session, store_id: int) -> list[Campaign]:
    campaigns = []
    for kind, name, active, promotional, trigger_minutes, delays in DEFAULT_CAMPAIGNS:
        campaign = Campaign(store_id=store_id, kind=kind, name=name, active=active,
                            promotional=promotional, trigger_minutes=trigger_minutes)
        session.add(campaign)
        session.flush()
        for position, delay in enumerate(delays, start=1):
            coupon = DEFAULT_COUPONS.get((kind, position))
            session.add(CampaignStep(campaign_id=campaign.id, position=position,
                                     delay_minutes=delay, coupon=coupon, variants=[],
                                     send_within_minutes=default_send_within(kind, delay),
                                     template=default_template(f"{kind}_{position}")))
        campaigns.append(campaign)
    session.flush()
    return campaigns
