"""Presets: automations ready to use, each a trigger with its settings and steps written in
Persian, modelled on what converts. A kind names its preset; every new store starts with the
presets marked `default`, and a merchant adds the others from the panel or the API."""

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.campaigns.models import (
    ABANDONED_CART,
    CART_ABANDONED,
    CROSS_SELL,
    LOST_ORDER,
    NO_PURCHASE,
    ORDER_COMPLETED,
    ORDER_LOST,
    POST_PURCHASE_SURVEY,
    WIN_BACK,
    Campaign,
    CampaignStep,
)
from app.messaging.render import default_template

HOUR = 60
DAY = 24 * HOUR


@dataclass(frozen=True)
class Preset:
    kind: str
    name: str
    trigger: str
    promotional: bool
    trigger_minutes: int
    delays: list[int]  # each step's delay, minutes from the trigger
    default: bool = True  # a new store has it
    active: bool = True  # and it starts running (or paused)
    trigger_params: dict = field(default_factory=dict)
    conditions: dict = field(default_factory=dict)
    exits: dict = field(default_factory=dict)


PRESETS = {p.kind: p for p in [
    Preset(ABANDONED_CART, "سبد رهاشده", CART_ABANDONED, True, 60, [1 * HOUR, 1 * DAY, 3 * DAY]),
    Preset(POST_PURCHASE_SURVEY, "نظرسنجی پس از خرید", ORDER_COMPLETED, False, 0, [3 * DAY]),
    Preset(CROSS_SELL, "پیشنهاد محصول مکمل", ORDER_COMPLETED, True, 0, [7 * DAY]),
    Preset(WIN_BACK, "بازگرداندن مشتری", NO_PURCHASE, True, 60 * DAY, [0], active=False),
    # Unpaid at the bank's page for 30 minutes: pay now, then a personal discount, a last call.
    Preset(LOST_ORDER, "سفارش پرداخت‌نشده", ORDER_LOST, True, 30, [30, 1 * DAY, 3 * DAY]),
]}
# The built-in kinds: each keeps the trigger it was made for (its messages are about that
# subject: a cart's items, an unpaid order's payment link).
FIXED_TRIGGER = {kind: preset.trigger for kind, preset in PRESETS.items()}
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


def add_preset(session: Session, store_id: int, preset: Preset, *,
               active: bool | None = None, name: str | None = None) -> Campaign:
    """The preset as a campaign of the store, its steps written out."""
    campaign = Campaign(store_id=store_id, kind=preset.kind, name=name or preset.name,
                        active=preset.active if active is None else active,
                        promotional=preset.promotional, trigger=preset.trigger,
                        trigger_minutes=preset.trigger_minutes,
                        trigger_params=dict(preset.trigger_params),
                        conditions=dict(preset.conditions), exits=dict(preset.exits))
    session.add(campaign)
    session.flush()
    for position, delay in enumerate(preset.delays, start=1):
        session.add(CampaignStep(campaign_id=campaign.id, position=position,
                                 delay_minutes=delay, variants=[],
                                 coupon=DEFAULT_COUPONS.get((preset.kind, position)),
                                 send_within_minutes=default_send_within(preset.kind, delay),
                                 template=default_template(f"{preset.kind}_{position}")))
    session.flush()
    return campaign


def create_default_campaigns(session: Session, store_id: int) -> list[Campaign]:
    return [add_preset(session, store_id, preset) for preset in PRESETS.values()
            if preset.default]
