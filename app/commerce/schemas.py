"""The shapes of the WooCommerce resources bazgasht mirrors, as webhooks deliver them.

Lenient where WooCommerce is loose (null or empty strings, numbers as strings), strict where a
wrong value would corrupt the mirror (ids, statuses, the cart token).
"""

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
)


def _utc(value: Any) -> Any:
    """WooCommerce `*_gmt` fields are UTC without a zone; empty means unknown."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed
    return value


# A shop's dates, far from datetime's own limits: windows and delays added to them must not
# overflow (year 1 or 9999 would, and an offset at either end cannot even become UTC).
_EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)


def _plausible(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        value = value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("date out of range") from None
    if not _EARLIEST <= value < _LATEST:
        raise ValueError(f"date out of range: {value.isoformat()}")
    return value


def _not_bool(value: Any) -> Any:
    # JSON true is no number, but pydantic reads it as 1: an id would name another resource.
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return value


def _text(value: Any) -> Any:
    return "" if value is None else value


def _clean(value: str) -> str:
    # PostgreSQL text cannot hold NUL; nothing a person typed contains one.
    return value.replace("\x00", "").strip()


# A string field WooCommerce may send as null (TEXT), cut to what its column holds (cut(n)):
# `Annotated[str, TEXT, cut(200)]`.
TEXT = BeforeValidator(_text)


def cut(max_length: int) -> AfterValidator:
    return AfterValidator(lambda v: _clean(v)[:max_length])


UTC = Annotated[datetime | None, BeforeValidator(_utc), AfterValidator(_plausible)]
WcId = Annotated[int, BeforeValidator(_not_bool), Field(gt=0, lt=2**63)]
Amount = Annotated[str | int | float | None, BeforeValidator(_not_bool)]


def _sign(value: Any) -> int:
    """-1, 0 or 1 for an amount WooCommerce sends (a number, or a number as text); ValueError
    for anything else. Empty means none (0)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {str(value)[:40]!r}") from None
    if not number.is_finite():
        raise ValueError("not a finite amount")
    return (number > 0) - (number < 0)


def _not_negative(value: Any) -> Any:
    if _sign(value) < 0:
        raise ValueError("an amount cannot be negative")
    return value


def _not_positive(value: Any) -> Any:
    if _sign(value) > 0:
        raise ValueError("a refund's total is negative or zero")
    return value


# A price or total: never negative (a refund is not written as a negative price).
Price = Annotated[Amount, AfterValidator(_not_negative)]
# A refund's total as the order lists it: zero or negative.
RefundTotal = Annotated[Amount, AfterValidator(_not_positive)]
# Items bought: whole or decimal (weights), within what a cart can hold.
Quantity = Annotated[float, Field(ge=0, le=100_000)]


def _text_only(value: Any) -> Any:
    # A code, never a number: coercion would make 7 a status "7" and NaN a currency "nan".
    if not isinstance(value, str):
        raise ValueError("must be text")
    return value


# WooCommerce's slug (processing, on-hold, a plugin's own): never a number, never free text.
Status = Annotated[str, BeforeValidator(_text_only),
                   Field(max_length=64, pattern=r"^[a-z][a-z0-9_-]*$")]
# ISO 4217 or the Iranian units WooCommerce plugins add (IRT, IRHR, IRHT): without one the
# amounts cannot be read (cents or toman?).
Currency = Annotated[str, BeforeValidator(_text_only), Field(pattern=r"^[A-Za-z]{3,4}$")]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, allow_inf_nan=False)


class Address(_Lenient):
    first_name: Annotated[str, TEXT, cut(200)] = ""
    last_name: Annotated[str, TEXT, cut(200)] = ""
    email: Annotated[str, TEXT, cut(320)] = ""
    phone: Annotated[str, TEXT, cut(64)] = ""


class Meta(_Lenient):
    key: Annotated[str, TEXT, cut(255)] = ""
    value: Any = None


class LineItem(_Lenient):
    id: int | None = None
    name: Annotated[str, TEXT, cut(500)] = ""
    product_id: int = Field(0, ge=0, lt=2**63)
    variation_id: int = Field(0, ge=0, lt=2**63)
    quantity: Quantity = 0
    sku: Annotated[str, TEXT, cut(100)] = ""
    price: Price = None
    total: Price = None


class CouponLine(_Lenient):
    code: Annotated[str, TEXT, cut(100)] = ""


class Refund(_Lenient):
    """One of the order's refunds as the order shows it: its total is negative."""
    total: RefundTotal = None


class WooOrder(_Lenient):
    id: WcId
    status: Status
    number: Annotated[str, TEXT, cut(40)] = ""
    currency: Currency
    total: Price = None
    customer_id: int | None = Field(None, ge=0, lt=2**63)
    billing: Address = Address()
    shipping: Address = Address()
    meta_data: list[Meta] = []
    line_items: list[LineItem] = []
    coupon_lines: Annotated[list[CouponLine], BeforeValidator(lambda v: v or [])] = []
    refunds: Annotated[list[Refund], BeforeValidator(lambda v: v or [])] = []
    date_created_gmt: UTC = None
    date_modified_gmt: UTC = None
    date_paid_gmt: UTC = None
    date_completed_gmt: UTC = None
    # The order's "pay for order" page (REST v3), and how it was made (checkout, store-api,
    # admin, rest-api): WooCommerce cancels only its own checkouts' unpaid orders on a timer.
    payment_url: Annotated[str, TEXT, cut(2000)] = ""
    created_via: Annotated[str, TEXT, cut(40)] = ""

    def meta(self, key: str) -> Any:
        return next((m.value for m in self.meta_data if m.key == key), None)


class Category(_Lenient):
    id: int
    name: Annotated[str, TEXT, cut(200)] = ""


class Image(_Lenient):
    src: Annotated[str, TEXT, cut(2000)] = ""


class WooProduct(_Lenient):
    id: WcId
    name: Annotated[str, TEXT, cut(500)] = ""
    permalink: Annotated[str, TEXT, cut(2000)] = ""
    type: Annotated[str, TEXT, cut(40)] = ""
    status: Annotated[str, TEXT, cut(40)] = ""
    price: Price = None
    regular_price: Price = None
    sale_price: Price = None
    stock_status: Annotated[str, TEXT, cut(40)] = ""
    stock_quantity: int | None = Field(None, gt=-(2**63), lt=2**63)
    cross_sell_ids: list[WcId] = []
    upsell_ids: list[WcId] = []
    categories: list[Category] = []
    images: list[Image] = []
    date_modified_gmt: UTC = None


class Deleted(_Lenient):
    """A trashed resource: WooCommerce sends only its id."""

    id: WcId


class CartItem(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    product_id: WcId
    variation_id: int = Field(0, ge=0, lt=2**63)
    name: Annotated[str, TEXT, cut(500)] = ""
    quantity: Annotated[float, Field(gt=0, le=100_000)]
    price: Price = None
    total: Price = None


class CartPayload(BaseModel):
    """Body of the companion plugin's `bazgasht_cart.updated` topic (documented in the README)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    token: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    phone: Annotated[str, TEXT, cut(64)] | None = None
    first_name: Annotated[str, TEXT, cut(200)] = ""
    last_name: Annotated[str, TEXT, cut(200)] = ""
    email: Annotated[str, TEXT, cut(320)] = ""
    items: list[CartItem] = []
    total: Price = None
    currency: Currency
    restore_url: Annotated[str, TEXT, cut(2000)] = ""
    cart_url: Annotated[str, TEXT, cut(2000)] = ""
    # False: the shopper unticked the SMS consent box (the plugin then sends no personal data).
    consent: StrictBool = True
    date_modified_gmt: UTC

    @field_validator("date_modified_gmt")
    @classmethod
    def _required(cls, v: datetime | None) -> datetime:
        if v is None:
            raise ValueError("date_modified_gmt is required")
        return v
