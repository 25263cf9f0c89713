"""A segment's definition and the admin API's requests and answers about segments
(`/api/v1/segments`), with the limits the panel's form shares."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from app.digits import latin_digits
from app.reports.schemas import Header
from app.stores.schemas import NonBlank
from app.types import MAX_ID

MAX_DAYS = 36_500
MAX_COUNT = 10**6
# Units of the store's currency (toman for an IRT store): far above any customer's spend.
MAX_AMOUNT = 10**13
# The most any currency allows (IRHT: a rial is 0.0001 of it); each store's own limit is
# app/commerce/money.decimal_places, checked by app/segments/service.check_amounts.
MAX_DECIMALS = 4
MAX_IDS = 200
SAMPLE_SIZE = 20
# Thousands separators people type between digits: «۱۲۰٬۰۰۰», "120,000", "120 000".
_SEPARATORS = str.maketrans("", "", ",٬_ \u200c\u00a0")


def _number(value: Any) -> Any:
    """«۱۲۰٬۰۰۰», "١٢", "12" or 12 (Persian, Arabic-Indic or Latin digits; «٫» or "." before
    decimals); a boolean is no number."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, str):
        return latin_digits(value).translate(_SEPARATORS).replace("٫", ".")
    return value


def plain(amount: Decimal) -> str:
    """An amount as people write it: 2.5, 1000 (never 2.50 or 1E+3)."""
    return format(amount.normalize(), "f")


def _json_amount(amount: Decimal) -> int | float:
    # A JSON number, as before amounts could have decimals: 300, 2.5 (never "2.5").
    return int(amount) if amount == amount.to_integral_value() else float(plain(amount))


Count = Annotated[int, BeforeValidator(_number), Field(ge=0, le=MAX_COUNT,
                                                      description="paid orders")]
Amount = Annotated[Decimal, BeforeValidator(_number), Field(
    ge=0, le=MAX_AMOUNT, decimal_places=MAX_DECIMALS,
    description="units of the store's currency (toman for IRT), net of refunds; decimals as "
                "far as the currency has them (IRR none, IRT 1, IRHR 3, IRHT 4, others 2)"),
    PlainSerializer(_json_amount, return_type=int | float, when_used="json")]
Days = Annotated[int, BeforeValidator(_number), Field(
    ge=0, le=MAX_DAYS, description="days before now (24-hour days)")]
Rating = Annotated[int, BeforeValidator(_number), Field(
    ge=1, le=5, description="a survey rating, 1 to 5")]
Score = Annotated[int, BeforeValidator(_number), Field(
    ge=1, le=5,
    description="an RFM score, 1 (lowest fifth of the store's buyers) to 5 (highest)")]
WcId = Annotated[int, BeforeValidator(_number), Field(ge=1, le=MAX_ID)]


def _ordered(model: BaseModel, *pairs: tuple[str, str]) -> None:
    for low, high in pairs:
        a, b = getattr(model, low), getattr(model, high)
        if a is not None and b is not None and a > b:
            a, b = (plain(v) if isinstance(v, Decimal) else v for v in (a, b))
            raise ValueError(f"{low} ({a}) is more than {high} ({b}): no one can be in it")


class Purchases(BaseModel):
    """Conditions on the contact's paid orders (WooCommerce orders that are paid now; refunds
    are taken off what they spent)."""

    model_config = ConfigDict(extra="forbid")

    orders_min: Count | None = None
    orders_max: Count | None = None
    spent_min: Amount | None = None
    spent_max: Amount | None = None
    average_min: Amount | None = Field(None, description="average order value, at least")
    average_max: Amount | None = Field(None, description="average order value, at most")
    last_order_within_days: Days | None = Field(
        None, description="ordered within the last N days")
    last_order_before_days: Days | None = Field(
        None, description="last ordered more than N days ago (and ordered at all)")
    products: list[WcId] = Field([], max_length=MAX_IDS, description=(
        "bought any of these WooCommerce product ids (a variation's id counts too)"))
    categories: list[WcId] = Field([], max_length=MAX_IDS, description=(
        "bought a product of any of these WooCommerce category ids"))
    buyer: Literal["first_time", "repeat"] | None = Field(
        None, description="first_time: exactly one paid order; repeat: two or more")

    @model_validator(mode="after")
    def _ranges(self):
        _ordered(self, ("orders_min", "orders_max"), ("spent_min", "spent_max"),
                 ("average_min", "average_max"))
        return self


class Engagement(BaseModel):
    """Conditions on what the contact did with the store's SMS."""

    model_config = ConfigDict(extra="forbid")

    clicked_within_days: Days | None = Field(
        None, description="tapped a link of an SMS within the last N days (bots not counted)")
    replied_within_days: Days | None = Field(
        None, description="sent the store's line any SMS within the last N days")
    rating_min: Rating | None = Field(None, description="their latest survey answer, at least")
    rating_max: Rating | None = Field(None, description="their latest survey answer, at most")

    @model_validator(mode="after")
    def _ranges(self):
        _ordered(self, ("rating_min", "rating_max"))
        return self


class Rfm(BaseModel):
    """Minimum RFM scores (README «Segments» says how they are computed)."""

    model_config = ConfigDict(extra="forbid")

    recency_min: Score | None = None
    frequency_min: Score | None = None
    monetary_min: Score | None = None


class Definition(BaseModel):
    """Who is in a segment: every condition given must hold (AND). Opted-out and promo-blocked
    contacts, and any without a valid mobile, are never in a segment."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"purchases": {"orders_min": 2, "last_order_before_days": 60},
         "engagement": {"rating_min": 4}},
        {"purchases": {"categories": [15]}, "rfm": {"monetary_min": 4}}]})

    purchases: Purchases = Purchases()
    engagement: Engagement = Engagement()
    rfm: Rfm = Rfm()


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: Definition


class SegmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "مشتریان وفادار", "definition": {"purchases": {"orders_min": 3}}}]})

    name: NonBlank = Field(min_length=1, max_length=200)
    definition: Definition = Definition()


class SegmentPatch(BaseModel):
    """Rename it, or replace its whole definition."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "خریداران چای"}, {"definition": {"purchases": {"products": [11]}}}]})

    name: NonBlank | None = Field(None, min_length=1, max_length=200)
    definition: Definition | None = None


class SegmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    definition: Definition
    created_at: datetime
    updated_at: datetime


class MemberOut(BaseModel):
    """A contact in the segment, with what they bought."""

    contact_id: int
    first_name: str
    last_name: str
    phone: str = Field(description="E.164 (masked in a preview: +989*****6789)")
    orders: int = Field(description="paid orders")
    spent: int = Field(description="what the paid orders came to, net of refunds: rial (or "
                                   "the minor unit of a foreign currency)")
    last_order_at: datetime | None


class PreviewOut(BaseModel):
    size: int = Field(description="how many contacts are in it now")
    sample: list[MemberOut] = Field(description=f"the first {SAMPLE_SIZE}, newest contacts "
                                                "first, phones masked")


class Deleted(BaseModel):
    deleted: bool


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
