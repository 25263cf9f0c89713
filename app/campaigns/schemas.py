"""Requests and answers about a store's campaigns and their steps (the admin API's
`/api/v1/campaigns`), with the examples /docs shows, and the limits the panel's forms share."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from app.campaigns.checks import MAX_TEXT
from app.digits import latin_digits
from app.segments.schemas import Amount, Rating, WcId
from app.stores.schemas import NonBlank
from app.types import MAX_ID

KIND = Literal["abandoned_cart", "post_purchase_survey", "cross_sell", "win_back", "lost_order",
               "thank_you", "survey_reward", "replenishment"]
TRIGGER = Literal["cart_abandoned", "order_lost", "order_completed", "no_purchase",
                  "order_status", "product_bought", "survey_answered", "reorder_due"]
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


def _slug(value: Any) -> Any:
    """A WooCommerce status as the REST API names it: «wc-shipped» (how plugins register it)
    is «shipped»; any case, any digits."""
    if isinstance(value, str):
        value = latin_digits(value).strip().lower()
        return value.removeprefix("wc-")
    return value


def _whole(value: Any) -> Any:
    """«۳», "3" or 3; a boolean is no number."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return latin_digits(value).strip() if isinstance(value, str) else value


# Order.status is 64 characters; WooCommerce's slugs are lower-case letters, digits, - and _.
StatusSlug = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$"),
    BeforeValidator(_slug),
    Field(examples=["shipped"], description=(
        "a WooCommerce order status as its REST API names it (processing, completed, on-hold, "
        "or a custom one such as shipped; a «wc-» prefix is dropped)"))]
MAX_DAYS_BEFORE = 30  # a reminder a month early is no longer about running out
DaysBefore = Annotated[int, BeforeValidator(_whole), Field(
    ge=0, le=MAX_DAYS_BEFORE, description="days before the predicted reorder day (0–30)")]


class NoParams(BaseModel):
    """A trigger whose only setting is trigger_minutes (or none)."""

    model_config = ConfigDict(extra="forbid")


class OrderStatusParams(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"status": "shipped"}]})

    status: StatusSlug


class ProductBoughtParams(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"products": [11]}, {"categories": [15, 16]}]})

    products: list[WcId] = Field([], max_length=MAX_CONDITION_IDS, description=(
        "the paid order holds any of these WooCommerce product ids (a variation's id counts)"))
    categories: list[WcId] = Field([], max_length=MAX_CONDITION_IDS, description=(
        "or a product of any of these category ids"))

    @model_validator(mode="after")
    def _something(self):
        if not self.products and not self.categories:
            raise ValueError("give at least one product or category id")
        return self


class SurveyAnsweredParams(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"rating_min": 4, "rating_max": 5}]})

    rating_min: Rating = 1
    rating_max: Rating = 5

    @model_validator(mode="after")
    def _range(self):
        if self.rating_min > self.rating_max:
            raise ValueError(f"rating_min ({self.rating_min}) is more than rating_max "
                             f"({self.rating_max}): no answer can match")
        return self


class ReorderDueParams(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"days_before": 3}]})

    days_before: DaysBefore = 3


# Each trigger's own settings (Campaign.trigger_params), stored as validated, defaults written out.
TRIGGER_PARAMS: dict[str, type[BaseModel]] = {
    "cart_abandoned": NoParams, "order_lost": NoParams, "order_completed": NoParams,
    "no_purchase": NoParams, "order_status": OrderStatusParams,
    "product_bought": ProductBoughtParams, "survey_answered": SurveyAnsweredParams,
    "reorder_due": ReorderDueParams}


class InvalidTriggerParams(ValueError):
    """The params do not fit the trigger: each problem names its field."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def trigger_params(trigger: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    """The trigger's params as stored, or InvalidTriggerParams."""
    try:
        params = TRIGGER_PARAMS[trigger].model_validate(raw or {})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in ("trigger_params", *error["loc"]))
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = f"not a setting of the {trigger} trigger"
            problems.append(f"{where}: {message}")
        raise InvalidTriggerParams(problems) from None
    return params.model_dump(mode="json")


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
    trigger_params: dict[str, Any] | None = Field(None, description=(
        "the trigger's own settings (README «Automations»): order_status {status}, "
        "product_bought {products, categories}, survey_answered {rating_min, rating_max}, "
        "reorder_due {days_before}; the other triggers take none. Default: the preset's"))
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
    trigger_params: dict[str, Any] | None = Field(None, description=(
        "replaces the trigger's settings (checked against its trigger); applies to subjects "
        "the trigger finds from now on"))
    conditions: Conditions | None = Field(None, description=(
        "replaces all the conditions; applies to subjects the trigger finds from now on"))
    exits: Exits | None = Field(None, description=(
        "replaces the exit conditions; applies to every message not sent yet"))


_CAMPAIGN_EXAMPLE: dict[str, Any] = {
    "id": 3, "kind": "abandoned_cart", "name": "سبد رهاشده", "active": True,
    "promotional": True, "trigger": "cart_abandoned", "trigger_minutes": 60,
    "trigger_params": {}, "conditions": {}, "exits": {}, "control_percent": 0,
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
    trigger_params: dict[str, Any] = Field(examples=[{"days_before": 3}])
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


MAX_AUDIENCE_DAYS = 365


class AudienceRequest(BaseModel):
    """Which conditions and trigger params to try (left out: the saved ones), over how many
    days back."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {}, {"days": 60, "conditions": {"order": "repeat", "total_min": 500000}},
        {"trigger_params": {"days_before": 5}}]})

    days: Annotated[int, BeforeValidator(_whole), Field(
        ge=1, le=MAX_AUDIENCE_DAYS, description=(
            "the trigger's subjects of this many days back (1–365, Persian digits accepted); "
            "reorder_due takes who is due now instead"))] = 30
    conditions: Conditions | None = Field(None, description=(
        "conditions to try in place of the saved ones (checked as saving checks them)"))
    trigger_params: dict[str, Any] | None = Field(None, description=(
        "the trigger's settings to try in place of the saved ones"))


class AudienceEntry(BaseModel):
    subject_type: Literal["order", "cart"]
    subject_id: int
    contact_id: int
    phone: str = Field(description="masked: +989*****6789")
    name: str
    at: datetime = Field(description="when its trigger fired (reorder_due: the day its "
                                     "reminder is due)")
    order_number: str | None
    total: int = Field(description="the order's (or cart's) total: rial (or the minor unit of "
                                   "a foreign currency)")
    product_wc_id: int | None = Field(description="the product its messages would name, "
                                                  "where the trigger chooses one")
    product_name: str | None


class AudienceOut(BaseModel):
    """Who the campaign would have taken: of the subjects its trigger found (`looked_at`),
    those its conditions let in (`passing`), the newest first. Read with things as they are
    now; nothing is written, nobody is enrolled."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "trigger": "order_completed", "days": 30, "since": "2026-11-01T08:00:00Z",
        "looked_at": 212, "passing": 37, "capped": False, "cap": 5000, "first": [{
            "subject_type": "order", "subject_id": 881, "contact_id": 58,
            "phone": "+989*****6789", "name": "سارا رضایی", "at": "2026-11-30T10:12:00Z",
            "order_number": "1043", "total": 6000000, "product_wc_id": None,
            "product_name": None}]}]})

    trigger: str
    days: int | None = Field(description="null for reorder_due: who is due now")
    since: datetime | None
    looked_at: int = Field(description="the trigger's subjects looked at (at most `cap`)")
    passing: int = Field(description="of those, the ones the conditions let in")
    capped: bool = Field(description="there were more than `cap`: the newest `cap` were "
                                     "looked at")
    cap: int
    first: list[AudienceEntry] = Field(description="the first 10 that pass, newest first")
