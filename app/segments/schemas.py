"""A segment's definition and the admin API's requests and answers about segments
(`/api/v1/segments`), with the limits the panel's form shares."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from app.digits import typed_number
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



def plain(amount: Decimal) -> str:
    """An amount as people write it: 2.5, 1000 (never 2.50 or 1E+3)."""
    return format(amount.normalize(), "f")


def _json_amount(amount: Decimal) -> int | float:
    # A JSON number, as before amounts could have decimals: 300, 2.5 (never "2.5").
    return int(amount) if amount == amount.to_integral_value() else float(plain(amount))


Count = Annotated[int, BeforeValidator(typed_number), Field(ge=0, le=MAX_COUNT,
                                                      description="paid orders")]
Amount = Annotated[Decimal, BeforeValidator(typed_number), Field(
    ge=0, le=MAX_AMOUNT, decimal_places=MAX_DECIMALS,
    description="units of the store's currency (toman for IRT), net of refunds; decimals as "
                "far as the currency has them (IRR none, IRT 1, IRHR 3, IRHT 4, others 2)"),
    PlainSerializer(_json_amount, return_type=int | float, when_used="json")]
Days = Annotated[int, BeforeValidator(typed_number), Field(
    ge=0, le=MAX_DAYS, description="days before now (24-hour days)")]
Rating = Annotated[int, BeforeValidator(typed_number), Field(
    ge=1, le=5, description="a survey rating, 1 to 5")]
Score = Annotated[int, BeforeValidator(typed_number), Field(
    ge=1, le=5,
    description="an RFM score, 1 (lowest fifth of the store's buyers) to 5 (highest)")]
WcId = Annotated[int, BeforeValidator(typed_number), Field(ge=1, le=MAX_ID)]


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
