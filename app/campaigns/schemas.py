"""Requests and answers about a store's campaigns and their steps (the admin API's
`/api/v1/campaigns`), with the examples /docs shows, and the limits the panel's forms share."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from app.campaigns.checks import MAX_TEXT
from app.digits import latin_digits
from app.segments.schemas import Amount, WcId
from app.stores.schemas import NonBlank
from app.types import MAX_ID

KIND = Literal["abandoned_cart", "post_purchase_survey", "cross_sell", "win_back", "lost_order"]
TRIGGER = Literal["cart_abandoned", "order_lost", "order_completed", "no_purchase"]
MAX_CONDITION_IDS = 200
# A step's delay counts from the trigger; links live 90 days, so a later SMS makes no sense.
MAX_DELAY_MINUTES = 90 * 24 * 60
# How late a step's message may still go out: at least 15 minutes (a tick or two), at most 30 days.
MIN_SEND_WITHIN, MAX_SEND_WITHIN = 15, 30 * 24 * 60
_SEND_WITHIN = ("minutes after its due time the message may still go out; later it is skipped "
                "(reason too_late). Default (and null): the campaign kind's, by the step's delay "
                "(README «Send no later than»)")
# How long a text a request may carry. A step's text may be MAX_TEXT characters
# (app/campaigns/checks.py owns the rule): a longer one is refused by that rule, with its own
# code (template_too_long) and length, not by the request's parser.
MAX_TEMPLATE = 16 * MAX_TEXT
MAX_STEPS = 10
MAX_VARIANTS = 10
# A larger control group would withhold the campaign from too many customers.
MAX_CONTROL_PERCENT = 50


def _percent(value: Any) -> Any:
    """«۱۰», "10", "10%" or 10; a boolean is no number."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, str):
        return latin_digits(value).strip().removesuffix("%").removesuffix("٪").strip()
    return value


ControlPercent = Annotated[int, BeforeValidator(_percent), Field(
    ge=0, le=MAX_CONTROL_PERCENT,
    description="percent of new enrollments drawn into the control group: enrolled but never "
                "sent to, compared with the rest in the campaign report's `lift`; 0 = off "
                "(the default). Persian digits accepted")]


class Variant(BaseModel):
    """An A/B variant: each message of the step picks one by weight (seeded by the message id,
    so a retried send says the same thing)."""

    model_config = ConfigDict(extra="forbid")

    name: NonBlank = Field(min_length=1, max_length=40, examples=["A"])
    template: str = Field(min_length=1, max_length=MAX_TEMPLATE)
    weight: int = Field(ge=0, le=1000, examples=[50])


_STEP_EXAMPLE: dict[str, Any] = {
    "delay_minutes": 1440,
    "template": "{{ first_name }} عزیز، سبد خریدت در {{ store_name }} منتظرته. با کد "
                "{{ coupon_code }} تخفیف بگیر: {{ link }}",
    "coupon": {"mode": "fixed", "code": "off5"},
    "variants": [],
}


class StepCreate(BaseModel):
    """A step of a campaign. `coupon`: see README «Coupons»; `lookup`: the approved Kavenegar
    template for stores in lookup mode; `variants`: A/B texts (with variants, each message uses
    one variant's template instead of `template`)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_STEP_EXAMPLE]})

    delay_minutes: int = Field(ge=0, le=MAX_DELAY_MINUTES,
                               description="minutes after the trigger (not after the last step)")
    send_within_minutes: int | None = Field(None, ge=MIN_SEND_WITHIN, le=MAX_SEND_WITHIN,
                                            description=_SEND_WITHIN)
    template: str = Field(min_length=1, max_length=MAX_TEMPLATE)
    coupon: dict[str, Any] | None = None
    lookup: dict[str, Any] | None = None
    variants: list[Variant] = Field(default_factory=list, max_length=MAX_VARIANTS)


class StepPatch(BaseModel):
    """Only the fields sent change (null clears `coupon` or `lookup`, and sets
    `send_within_minutes` back to its default). A new delay or send_within_minutes applies to
    enrollments from now on; a new text to every message not sent yet."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"template": "{{ first_name }}، سبدت هنوز اینجاست: {{ link }}"},
        {"variants": [{"name": "A", "template": "سلام {{ first_name }}: {{ link }}", "weight": 50},
                      {"name": "B", "template": "{{ store_name }}: {{ link }}", "weight": 50}]}]})

    delay_minutes: int | None = Field(None, ge=0, le=MAX_DELAY_MINUTES)
    send_within_minutes: int | None = Field(None, ge=MIN_SEND_WITHIN, le=MAX_SEND_WITHIN,
                                            description=_SEND_WITHIN)
    template: str | None = Field(None, min_length=1, max_length=MAX_TEMPLATE)
    coupon: dict[str, Any] | None = None
    lookup: dict[str, Any] | None = None
    variants: list[Variant] | None = Field(None, max_length=MAX_VARIANTS)


class StepOut(BaseModel):
    # Read from the step's row: StepOut.model_validate(step). (No docstring: it would become
    # the schema's description in the OpenAPI document.)
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [
        {"id": 12, "position": 2, **_STEP_EXAMPLE, "send_within_minutes": 1440,
         "lookup": None}]})

    id: int
    position: int
    delay_minutes: int
    send_within_minutes: int
    template: str
    coupon: dict[str, Any] | None
    lookup: dict[str, Any] | None
    variants: list[Variant]


class Conditions(BaseModel):
    """Who of the trigger's subjects (a cart or an order) enters the sequence: every condition
    given must hold, checked once when the trigger fires. Opted-out contacts never enter."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"segment_id": 4}, {"categories": [15], "total_min": 500000},
        {"order": "first"}]})

    segment_id: int | None = Field(None, ge=1, le=MAX_ID, description=(
        "the customer is in this segment of the store when the trigger fires"))
    products: list[WcId] = Field([], max_length=MAX_CONDITION_IDS, description=(
        "the order (or cart) holds any of these WooCommerce product ids (a variation's id "
        "counts too)"))
    categories: list[WcId] = Field([], max_length=MAX_CONDITION_IDS, description=(
        "the order (or cart) holds a product of any of these WooCommerce category ids"))
    total_min: Amount | None = Field(None, description=(
        "the order's (or cart's) total is at least this, in whole units of the store's "
        "currency (toman for IRT)"))
    total_max: Amount | None = Field(None, description="the total is at most this")
    order: Literal["first", "repeat"] | None = Field(None, description=(
        "first: the customer had no paid order before this one; repeat: they had"))

    @model_validator(mode="after")
    def _range(self):
        if (self.total_min is not None and self.total_max is not None
                and self.total_min > self.total_max):
            raise ValueError(f"total_min ({self.total_min}) is more than total_max "
                             f"({self.total_max}): nothing can match")
        return self


class Exits(BaseModel):
    """What ends an enrollment before its next message, beside what its trigger always ends on
    (a purchase ends a cart's or an unpaid order's reminders, a win-back)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"purchased": True}, {"clicked": True}]})

    purchased: bool = Field(False, description="the customer paid for any order since the "
                                               "trigger fired")
    clicked: bool = Field(False, description="the customer tapped the link of an earlier "
                                             "message of this sequence")


class CampaignCreate(BaseModel):
    """A new campaign. It starts paused unless `active` (which needs at most one active campaign
    of its kind per store, and at least one step)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"kind": "abandoned_cart", "name": "سبد رهاشده (پاییز)", "trigger_minutes": 60,
         "active": False, "steps": [_STEP_EXAMPLE]}]})

    kind: KIND
    name: NonBlank = Field(min_length=1, max_length=200)
    trigger_minutes: int | None = Field(
        None, ge=0, le=10**6,
        description="abandoned_cart: minutes of inactivity (10–10080); lost_order: minutes an "
                    "order stays unpaid before it counts as lost (10–2880); win_back: minutes "
                    "since the last purchase (1 day – 365 days); unused by the others. Default: "
                    "the kind's.")
    trigger: TRIGGER | None = Field(None, description=(
        "what starts the sequence; default (and the only choice for the built-in kinds): the "
        "kind's (README «Automations»)"))
    conditions: Conditions = Conditions()
    exits: Exits = Exits()
    active: bool = False
    control_percent: ControlPercent = 0
    steps: list[StepCreate] = Field(default_factory=list, max_length=MAX_STEPS)


class CampaignPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "سبد رهاشده", "trigger_minutes": 90}, {"control_percent": 10}]})

    name: NonBlank | None = Field(None, min_length=1, max_length=200)
    trigger_minutes: int | None = Field(None, ge=0, le=10**6)
    control_percent: ControlPercent | None = None
    conditions: Conditions | None = Field(None, description=(
        "replaces all the conditions; applies to subjects the trigger finds from now on"))
    exits: Exits | None = Field(None, description=(
        "replaces the exit conditions; applies to every message not sent yet"))


_CAMPAIGN_EXAMPLE: dict[str, Any] = {
    "id": 3, "kind": "abandoned_cart", "name": "سبد رهاشده", "active": True,
    "promotional": True, "trigger": "cart_abandoned", "trigger_minutes": 60,
    "conditions": {}, "exits": {}, "control_percent": 0,
    "created_at": "2026-11-20T08:00:00Z",
    "steps": [{"id": 12, "position": 1, **_STEP_EXAMPLE, "send_within_minutes": 1440,
               "lookup": None}]}


class CampaignOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CAMPAIGN_EXAMPLE]})

    id: int
    kind: str = Field(examples=["abandoned_cart"])
    name: str
    active: bool
    promotional: bool = Field(description="obeys the frequency cap and carries the opt-out line")
    trigger: str = Field(examples=["cart_abandoned"])
    trigger_minutes: int
    conditions: Conditions
    exits: Exits
    control_percent: int = Field(description="percent of new enrollments held out as control "
                                             "(0 = off)")
    created_at: datetime
    steps: list[StepOut]


class CampaignList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"items": [_CAMPAIGN_EXAMPLE]}]})

    items: list[CampaignOut]


class Deleted(BaseModel):
    """What a deletion did: pending messages are skipped with the reason, never sent."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"deleted": True, "skipped_messages": 14, "exited_enrollments": 9}]})

    deleted: bool = True
    skipped_messages: int
    exited_enrollments: int = 0
