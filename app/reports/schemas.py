"""What the reports API answers. Amounts are integers in Rial; rates are fractions (0.125 = 12.5%),
null when there is nothing to divide by."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Range(BaseModel):
    from_: str = Field(alias="from", description="first day, store-local, ISO (inclusive)")
    to: str = Field(description="last day, store-local, ISO (inclusive)")
    from_jalali: str = Field(examples=["۱۴۰۵/۰۸/۱۰"])
    to_jalali: str = Field(examples=["۱۴۰۵/۰۹/۰۸"])
    timezone: str
    since: str = Field(description="the first day's local midnight (UTC instant)")
    until: str = Field(description="the midnight after the last day (UTC instant, excluded)")


class StoreRef(BaseModel):
    id: int
    name: str
    currency: str
    timezone: str


CostSource = Literal["gateway", "estimate", "gateway_and_estimate", "ledger"]


class Header(BaseModel):
    store: StoreRef
    range: Range
    amounts_in: Literal["rial"] = "rial"
    cost_source: CostSource = Field(description=(
        "ledger: every cost as charged (less refunds) on the prepaid ledger (pay as you go); "
        "gateway: as the SMS gateway reported it (messages.cost); estimate: SMS "
        "parts × price_per_part where the gateway reported none; messages with gateway "
        "status 13 or 14 are refunded by Kavenegar and cost 0"))
    price_per_part: int = Field(description="Rial per SMS part, for estimates")


class Figures(BaseModel):
    messages: int = Field(description="messages of the period: sent in it, or due in it and not sent")
    scheduled: int = Field(description="waiting to go out")
    sending: int
    held: int = Field(description="waiting for a coupon or for the store's gateway")
    skipped: int = Field(description="not sent, with a reason (opted out, nothing to recommend …)")
    too_late: int = Field(description="of the skipped, those past their step's send-no-later-than")
    sent: int = Field(description="accepted by the gateway (delivered and failed included)")
    delivered: int
    failed: int = Field(description="refused by the gateway, or reported undelivered")
    blocked: int = Field(description="undelivered: the receiver blocks advertising SMS (status 14)")
    delivery_rate: float | None
    parts: int = Field(description="SMS parts of the messages sent")
    cost: int = Field(description="Rial")
    cost_estimated_messages: int
    clicks: int = Field(description="messages whose link a person followed (bots excluded)")
    click_rate: float | None = Field(description="clicks / sent")
    orders: int = Field(description="orders credited to these messages")
    revenue: int = Field(description="Rial: the credited orders' totals less what their refunds "
                                     "gave back")
    revenue_taken_back: int = Field(description="Rial: credit taken back since — the whole "
                                                "revenue of orders cancelled, refunded or trashed "
                                                "after they were credited, and partial refunds")
    recovered_carts: int = Field(description="orders credited to abandoned-cart messages")
    cross_sell_purchases: int = Field(description="orders that bought the product recommended")
    conversion_rate: float | None = Field(description="orders / sent")
    return_on_spend: float | None = Field(description="revenue / cost")
    opt_outs: int = Field(description="contacts who opted out in the period (for a step: after "
                                      "its message, their last before opting out)")
    survey_answers: int = Field(description="answers given in the period")
    average_rating: float | None


# Figures(…, Identity): pydantic puts the last base's fields first, so ids lead each row.
class _Variant(BaseModel):
    name: str | None = Field(description="null: messages sent without a variant")


class VariantFigures(Figures, _Variant):
    pass


class _Step(BaseModel):
    id: int
    position: int
    delay_minutes: int
    deleted: bool = Field(description="deleted by the merchant: kept here for its history")


class StepFigures(Figures, _Step):
    variants: list[VariantFigures] = Field(description="empty when the step has no A/B variants")


class _Campaign(BaseModel):
    id: int
    kind: str
    name: str
    active: bool
    deleted: bool = Field(description="deleted by the merchant: kept here for its history")


class CampaignFigures(Figures, _Campaign):
    lost_orders: int | None = Field(description=(
        "lost_order campaigns: the lost orders of the period, those placed in it (and left "
        "unpaid at the payment page, or cancelled unpaid by WooCommerce) that the campaign "
        "enrolled; its `orders` and `revenue` are what its messages recovered (credited "
        "orders, not cancelled or refunded since). Null for the other kinds"))
    steps: list[StepFigures]


class _Broadcast(BaseModel):
    id: int = Field(description="the broadcast (/api/v1/broadcasts/{id})")
    name: str
    status: Literal["draft", "scheduled", "sending", "sent", "cancelled", "refused"]
    scheduled_at: datetime | None


class BroadcastFigures(Figures, _Broadcast):
    pass


class OptOuts(BaseModel):
    total: int
    by_source: dict[str, int] = Field(examples=[{"sms reply": 3}])
    after_a_message: int = Field(description="of them, those who had got a message before")


class Comment(BaseModel):
    answered_at: str
    answered_jalali: str
    rating: int
    comment: str
    order_number: str
    order_number_persian: str


class Surveys(BaseModel):
    answers: int
    average_rating: float | None
    ratings: dict[str, int] = Field(description="answers per rating, 1 to 5")
    latest_comments: list[Comment]


class Summary(Header):
    totals: Figures = Field(description=(
        "the store's: the message figures (messages … revenue) are the sum of the campaigns' "
        "and the broadcasts' rows; opt-outs and survey answers count every one of the period"))
    opt_outs: OptOuts
    surveys: Surveys
    campaigns: list[CampaignFigures]
    broadcasts: list[BroadcastFigures] = Field(description=(
        "each broadcast with messages in the period (or clicks and orders they brought), "
        "oldest first"))


class PreviousPeriod(BaseModel):
    range: Range = Field(description=(
        "the days right before the report's period, as many as it has (1-30 November: 2-31 "
        "October)"))
    campaign: CampaignFigures = Field(description=(
        "the campaign's totals, steps and variants in that period, counted as in `campaign`"))


class LiftGroup(BaseModel):
    contacts: int = Field(description="enrollments anchored in the period (intent to treat: "
                                      "whether or not their messages went out)")
    converted: int = Field(description="of them, those whose contact bought in the window")
    conversion_rate: float | None = Field(description="converted / contacts")
    orders: int = Field(description="their purchases in the window")
    revenue: int = Field(description="Rial: those orders' totals less what refunds gave back")
    revenue_per_contact: int | None = Field(description="Rial: revenue / contacts")


class Interval(BaseModel):
    estimate: float
    low: float = Field(description="the 95% interval's bounds")
    high: float


class RialInterval(BaseModel):
    estimate: int
    low: int
    high: int


class Lift(BaseModel):
    """The campaign against its control group: what the campaign's messages really added."""

    control_percent: int = Field(description="the campaign's control share now (0 = off)")
    window_days: float = Field(description="an enrollment's purchases count from its anchor "
                                           "this long: the last step's delay plus the store's "
                                           "attribution window")
    confidence: float = Field(examples=[0.95])
    treated: LiftGroup
    control: LiftGroup
    conversion_rate_difference: Interval | None = Field(description=(
        "treated's conversion rate less control's, with its 95% interval (unpooled Wald); "
        "null without enough data"))
    incremental_orders: Interval | None = Field(description=(
        "the difference × treated contacts: buyers the messages added"))
    incremental_revenue: RialInterval | None = Field(description=(
        "Rial: the difference in revenue per contact (Welch interval) × treated contacts"))
    verdict: Literal["no_control", "not_enough_data", "significant", "not_significant"] = Field(
        description="significant: the conversion interval excludes 0")
    message: str = Field(description="one plain Persian sentence for the merchant")


class CampaignReport(Header):
    campaign: CampaignFigures
    surveys: Surveys
    previous: PreviousPeriod = Field(description="the same figures for the previous period")
    lift: Lift


class DayTotals(BaseModel):
    sent: int
    delivered: int
    clicks: int
    orders: int
    revenue: int
    cost: int


class DayFigures(DayTotals):
    date: str = Field(examples=["2026-11-23"])
    jalali: str = Field(examples=["۱۴۰۵/۰۹/۰۲"])


class TimeSeries(Header):
    campaign_id: int | None
    days: list[DayFigures] = Field(description=(
        "every day of the period: the messages that went out that day, and the clicks, "
        "orders and revenue they brought (whenever those came)"))
    totals: DayTotals


class Verdict(BaseModel):
    leader: str | None = Field(description="the variant with the highest rate; null on a tie")
    verdict: Literal["significant", "not_significant", "not_enough_data"]
    significant: bool
    p_value: float | None = Field(description="two-sided; null without enough data")
    z: float | None
    alpha: float = Field(description="the threshold the p-value is held to")


class VariantArm(BaseModel):
    name: str
    sent: int
    clicks: int
    orders: int
    revenue: int
    click_rate: float | None
    conversion_rate: float | None


class AbStep(BaseModel):
    campaign_id: int
    campaign_kind: str
    campaign_name: str
    step_id: int
    position: int
    variants: list[VariantArm]
    clicks: Verdict
    orders: Verdict


class AbTestMethod(BaseModel):
    method: str
    alpha: float
    min_sent_per_variant: int
    min_expected_per_variant: int


class AbTests(BaseModel):
    range: Range
    test: AbTestMethod
    steps: list[AbStep]


class RetentionFigures(BaseModel):
    orders: int = Field(description="purchases placed (orders that are a purchase now)")
    customers: int = Field(description="distinct customers who made them")
    new_customers: int = Field(description="customers whose first purchase ever was here")
    returning_customers: int = Field(description="customers who had bought before: customers − "
                                                 "new_customers")
    orders_without_customer: int = Field(description=(
        "purchases with no phone, WooCommerce customer or e-mail: in orders and revenue only"))
    revenue: int = Field(description="Rial: the purchases' totals less what refunds gave back")
    returning_revenue: int = Field(description="Rial: the revenue of returning customers")
    returning_revenue_share: float | None = Field(description="returning_revenue / revenue")
    average_order_value: int | None = Field(description="Rial: revenue / orders")
    paid_orders: int = Field(description="purchases plus fully refunded orders")
    refunded_orders: int = Field(description="paid orders refunded fully or partly")
    refund_rate: float | None = Field(description="refunded_orders / paid_orders")
    gross_revenue: int = Field(description="Rial: the paid orders' totals")
    refunded_amount: int = Field(description="Rial: what refunds gave back of them")
    refunded_share: float | None = Field(description="refunded_amount / gross_revenue")
    survey_answers: int = Field(description="survey answers given")
    average_rating: float | None
    satisfied_share: float | None = Field(description="answers rated 4 or 5 / survey_answers")


class RetentionMonth(RetentionFigures):
    from_: str = Field(alias="from", description="first day, store-local, ISO (cut to the period)")
    to: str = Field(description="last day, store-local, ISO (cut to the period)")
    from_jalali: str = Field(examples=["۱۴۰۵/۰۹/۰۱"])
    to_jalali: str = Field(examples=["۱۴۰۵/۰۹/۳۰"])
    label: str = Field(description="the Jalali month", examples=["آذر ۱۴۰۵"])


class LifetimeValue(BaseModel):
    months: int = Field(description="to the end of the n-th month after the cohort's month")
    revenue: int | None = Field(description="Rial: the cohort's revenue by then; null until "
                                            "that month has ended")
    per_customer: int | None = Field(description="Rial: revenue / the cohort's customers")


class Cohort(BaseModel):
    from_: str = Field(alias="from")
    to: str
    from_jalali: str
    to_jalali: str
    label: str = Field(examples=["آذر ۱۴۰۵"])
    customers: int = Field(description="customers whose first purchase was in this month")
    repeat_customers: int = Field(description="of them, those who bought again (up to now)")
    repeat_rate: float | None
    repeat_within_90_days: int | None = Field(description=(
        "of them, those whose second purchase came within 90 days of the first; null until "
        "90 days have passed since the month ended"))
    lifetime_value: list[LifetimeValue]


class RepeatWithin90Days(BaseModel):
    cohorts: list[str] = Field(description="the cohorts counted (first day, ISO): those whose "
                                           "month ended 90 days ago or more")
    customers: int
    repeat_customers: int
    rate: float | None


class RepeatPurchase(BaseModel):
    customers: int = Field(description="customers whose first purchase was in the period")
    repeat_customers: int = Field(description="of them, those who bought again (up to now)")
    rate: float | None
    within_90_days: RepeatWithin90Days


class SecondOrder(BaseModel):
    customers: int = Field(description="customers whose second purchase was in the period")
    median_days: float | None = Field(description="days from their first purchase to it")
    average_days: float | None


class Retention(BaseModel):
    store: StoreRef
    range: Range
    amounts_in: Literal["rial"] = "rial"
    months: list[RetentionMonth] = Field(description="each Jalali month of the period, cut to it")
    totals: RetentionFigures = Field(description=(
        "the whole period: new and returning relative to the period's first day"))
    repeat_purchase: RepeatPurchase
    second_order: SecondOrder
    cohorts: list[Cohort] = Field(description="one per month of the period: its new customers")


# -- a segment's report (app/reports/segments.py) ----------------------------------------------

class ReportRef(BaseModel):
    id: int
    name: str


class ReportMessages(BaseModel):
    """The campaign reports' figures (README «Reports»), for the messages the members got in the
    period, from any campaign."""

    sent: int = Field(description="accepted by the gateway (delivered and failed included)")
    delivered: int
    delivery_rate: float | None = Field(description="delivered / sent")
    failed: int = Field(description="refused by the gateway after it went out, or undelivered")
    blocked: int = Field(description="undelivered: the receiver blocks advertising SMS")
    parts: int = Field(description="SMS parts")
    cost: int = Field(description="Rial")
    cost_estimated_messages: int = Field(description="messages whose cost is parts × price")
    clicks: int = Field(description="messages whose link a person followed (bots excluded)")
    click_rate: float | None = Field(description="clicks / sent")
    orders: int = Field(description="orders credited to these messages (not taken back since)")
    revenue: int = Field(description="Rial: those orders less what refunds gave back")
    revenue_taken_back: int = Field(description="Rial: credit taken back since")
    conversion_rate: float | None = Field(description="orders / sent")
    return_on_spend: float | None = Field(description="revenue / cost")


class ReportPurchases(BaseModel):
    """Every purchase the members placed in the period, whatever brought it (a purchase as in
    the retention report: paid now, not trashed; its revenue less refunds)."""

    customers: int = Field(description="members with at least one purchase in the period")
    orders: int
    revenue: int = Field(description="Rial")
    average_order: int | None = Field(description="Rial: revenue / orders; null without orders")


class SegmentReport(Header):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "store": {"id": 1, "name": "چای‌خانه", "currency": "IRT", "timezone": "Asia/Tehran"},
        "range": {"from": "2026-11-01", "to": "2026-11-30", "from_jalali": "۱۴۰۵/۰۸/۱۰",
                  "to_jalali": "۱۴۰۵/۰۹/۰۹", "timezone": "Asia/Tehran",
                  "since": "2026-10-31T20:30:00+00:00", "until": "2026-11-30T20:30:00+00:00"},
        "amounts_in": "rial", "cost_source": "gateway", "price_per_part": 1200,
        "segment": {"id": 7, "name": "مشتریان وفادار"}, "size": 412, "messaged": 130,
        "messages": {"sent": 180, "delivered": 171, "delivery_rate": 0.95, "failed": 9,
                     "blocked": 2, "parts": 360, "cost": 432000,
                     "cost_estimated_messages": 0, "clicks": 41, "click_rate": 0.2278,
                     "orders": 12, "revenue": 96000000, "revenue_taken_back": 0,
                     "conversion_rate": 0.0667, "return_on_spend": 222.22},
        "purchases": {"customers": 58, "orders": 71, "revenue": 640000000,
                      "average_order": 9014084}}]})

    segment: ReportRef
    size: int = Field(description="how many contacts are in the segment now")
    messaged: int = Field(description="of them, those who got a message in the period")
    messages: ReportMessages
    purchases: ReportPurchases
