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
    REORDER_DUE,
    REPLENISHMENT,
    SURVEY_ANSWERED,
    SURVEY_REWARD,
    THANK_YOU,
    TRIGGERS,
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
    # A thank-you with care tips the day after delivery. Not promotional (no opt-out line, no
    # frequency cap), like the survey: its text offers nothing (no code, no other product; its
    # link is the page of what they bought, for its care tips), it is service after a sale the
    # customer made. An offer would make it an ad, so its steps may carry no coupon
    # (editing.NO_OFFER_KINDS); an offer belongs in a promotional automation.
    Preset(THANK_YOU, "تشکر و نکات نگهداری", ORDER_COMPLETED, False, 0, [1 * DAY],
           default=False),
    # A personal discount code as thanks for answering the survey, at once: an offer, so
    # promotional (the frequency cap counts the survey SMS too: with the default 1 a day, it
    # goes out a day after that SMS).
    Preset(SURVEY_REWARD, "هدیهٔ پاسخ به نظرسنجی", SURVEY_ANSWERED, True, 0, [0],
           default=False, trigger_params={"rating_min": 1, "rating_max": 5}),
    # Three days before each customer's predicted reorder day of a product (replenish.py),
    # naming it and linking to its page.
    Preset(REPLENISHMENT, "یادآوری خرید دوباره", REORDER_DUE, True, 0, [0], default=False,
           trigger_params={"days_before": 3}),
]}
# The built-in kinds, which every store has: each keeps the trigger it was made for (its
# messages are about that subject: a cart's items, an unpaid order's payment link), and one of
# each runs at a time (two would text the same customer the same thing).
BUILT_IN = frozenset({ABANDONED_CART, POST_PURCHASE_SURVEY, CROSS_SELL, WIN_BACK, LOST_ORDER})
FIXED_TRIGGER = {kind: PRESETS[kind].trigger for kind in BUILT_IN}
# The triggers a store's own kinds may start on: any whose subject is an order (their messages
# carry an order's details); a replenishment names the due product only reorder_due finds.
ORDER_TRIGGERS = frozenset(TRIGGERS) - {CART_ABANDONED}
KIND_TRIGGERS = {THANK_YOU: ORDER_TRIGGERS, SURVEY_REWARD: ORDER_TRIGGERS,
                 REPLENISHMENT: frozenset({REORDER_DUE})}
# The lost order's second step: a single-use 5% code made for that customer (needs the store's
# WooCommerce REST keys; without them the message is held with the reason, nothing else is).
DEFAULT_LOST_ORDER_COUPON = {"mode": "personal", "discount_type": "percent", "amount": "5",
                             "expires_days": 3, "on_failure": "hold"}
# The abandoned cart's steps carry no coupon until the merchant chooses one. Never a fixed code
# by default: no store has it until its merchant makes it, and a code the store lacks is a
# "does not exist" at checkout. Nor a personal one: most stores start without REST keys, and the
# sequence's middle reminder would be held in every one of them.
# The survey reward: a single-use 10% code for a week, made for that customer (like the lost
# order's, it needs the store's REST keys; without them the message is held).
DEFAULT_SURVEY_REWARD_COUPON = {"mode": "personal", "discount_type": "percent", "amount": "10",
                                "expires_days": 7, "on_failure": "hold"}
DEFAULT_COUPONS = {(LOST_ORDER, 2): DEFAULT_LOST_ORDER_COUPON,
                   (SURVEY_REWARD, 1): DEFAULT_SURVEY_REWARD_COUPON}


def default_send_within(kind: str, delay_minutes: int) -> int:
    """How late a step of this kind may still go out, in minutes after its due time. A reminder
    about a cart or an unpaid order is worth sending for about as long as it waited (at least
    12 hours, at most 2 days: the 1-hour reminder within 12 hours, the 3-day one within 2
    days); a survey or a thank-you within 3 days; any other within a week."""
    if kind in (ABANDONED_CART, LOST_ORDER):
        return min(max(delay_minutes, 12 * HOUR), 2 * DAY)
    if kind in (POST_PURCHASE_SURVEY, THANK_YOU):
        return 3 * DAY
    return 7 * DAY


def preset_campaign(store_id: int, preset: Preset, *, active: bool | None = None,
                    name: str | None = None) -> Campaign:
    """The preset as a campaign of the store, not added to a session (the gallery's previews
    render it without writing a row)."""
    return Campaign(store_id=store_id, kind=preset.kind, name=name or preset.name,
                    active=preset.active if active is None else active,
                    promotional=preset.promotional, trigger=preset.trigger,
                    trigger_minutes=preset.trigger_minutes,
                    trigger_params=dict(preset.trigger_params),
                    conditions=dict(preset.conditions), exits=dict(preset.exits))


def preset_steps(preset: Preset) -> list[CampaignStep]:
    """The preset's steps with their texts and coupons, not added to a session (no campaign
    yet)."""
    return [CampaignStep(position=position, delay_minutes=delay, variants=[], lookup=None,
                         coupon=DEFAULT_COUPONS.get((preset.kind, position)),
                         send_within_minutes=default_send_within(preset.kind, delay),
                         template=default_template(f"{preset.kind}_{position}"))
            for position, delay in enumerate(preset.delays, start=1)]


def add_preset(session: Session, store_id: int, preset: Preset, *,
               active: bool | None = None, name: str | None = None) -> Campaign:
    """The preset as a campaign of the store, its steps written out."""
    campaign = preset_campaign(store_id, preset, active=active, name=name)
    session.add(campaign)
    session.flush()
    for step in preset_steps(preset):
        step.campaign_id = campaign.id
        session.add(step)
    session.flush()
    return campaign


def create_default_campaigns(session: Session, store_id: int) -> list[Campaign]:
    return [add_preset(session, store_id, preset) for preset in PRESETS.values()
            if preset.default]
