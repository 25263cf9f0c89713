"""The shapes of the WooCommerce resources bazgasht mirrors, as webhooks deliver them.

Lenient where WooCommerce is loose (null or empty strings, numbers as strings), strict where a
wrong value would corrupt the mirror (ids, statuses, the cart token).
"""

from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator


def _utc(value: Any) -> Any:
    """WooCommerce `*_gmt` fields are UTC without a zone; empty means unknown."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed
    return value


def _text(value: Any) -> Any:
    return "" if value is None else value


UTC = Annotated[datetime | None, BeforeValidator(_utc)]
Text = Annotated[str, BeforeValidator(_text)]
Amount = str | int | float | None


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class Address(_Lenient):
    first_name: Text = ""
    last_name: Text = ""
    email: Text = ""
    phone: Text = ""


class Meta(_Lenient):
    key: Text = ""
    value: Any = None


class LineItem(_Lenient):
    id: int | None = None
    name: Text = ""
    product_id: int = 0
    variation_id: int = 0
    quantity: float = 0
    sku: Text = ""
    price: Amount = None
    total: Amount = None


class WooOrder(_Lenient):
    id: int = Field(gt=0)
    status: str = Field(min_length=1, max_length=64)
    number: Text = ""
    currency: Text = ""
    total: Amount = None
    customer_id: int | None = None
    billing: Address = Address()
    shipping: Address = Address()
    meta_data: list[Meta] = []
    line_items: list[LineItem] = []
    date_created_gmt: UTC = None
    date_modified_gmt: UTC = None
    date_paid_gmt: UTC = None
    date_completed_gmt: UTC = None

    def meta(self, key: str) -> Any:
        return next((m.value for m in self.meta_data if m.key == key), None)


class Category(_Lenient):
    id: int
    name: Text = ""


class Image(_Lenient):
    src: Text = ""


class WooProduct(_Lenient):
    id: int = Field(gt=0)
    name: Text = ""
    permalink: Text = ""
    type: Text = ""
    status: Text = ""
    price: Amount = None
    regular_price: Amount = None
    sale_price: Amount = None
    stock_status: Text = ""
    stock_quantity: int | None = None
    cross_sell_ids: list[int] = []
    upsell_ids: list[int] = []
    categories: list[Category] = []
    images: list[Image] = []
    date_modified_gmt: UTC = None


class Deleted(_Lenient):
    """A trashed resource: WooCommerce sends only its id."""

    id: int = Field(gt=0)


class CartItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    product_id: int = Field(gt=0)
    variation_id: int = 0
    name: str = ""
    quantity: float = Field(gt=0)
    price: Amount = None
    total: Amount = None


class CartPayload(BaseModel):
    """Body of the companion plugin's `bazgasht_cart.updated` topic (documented in the README)."""

    model_config = ConfigDict(extra="ignore")

    token: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    phone: str | None = None
    first_name: Text = ""
    last_name: Text = ""
    email: Text = ""
    items: list[CartItem] = []
    total: Amount = None
    currency: str = Field(min_length=3, max_length=8)
    restore_url: Text = ""
    cart_url: Text = ""
    date_modified_gmt: UTC

    @field_validator("date_modified_gmt")
    @classmethod
    def _required(cls, v: datetime | None) -> datetime:
        if v is None:
            raise ValueError("date_modified_gmt is required")
        return v
