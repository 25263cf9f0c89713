from datetime import datetime
from zoneinfo import available_timezones

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from app.commerce.money import CURRENCY_RIAL_FACTOR


class StoreCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"name": "چای‌خانه", "url": "https://shop.example", "currency": "IRT"}]})

    name: str = Field(min_length=1, max_length=200)
    url: AnyHttpUrl
    timezone: str = "Asia/Tehran"
    currency: str = "IRT"

    @field_validator("name")
    @classmethod
    def _strip_name(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("name must not be blank")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        if v not in available_timezones():
            raise ValueError(f"unknown timezone {v!r} (use an IANA name such as Asia/Tehran)")
        return v

    @field_validator("currency")
    @classmethod
    def _upper_currency(cls, v: str) -> str:
        v = v.strip().upper()
        if len(v) != 3 and v not in CURRENCY_RIAL_FACTOR:
            raise ValueError("currency must be a currency code such as IRT, IRR or USD")
        return v


class StoreOut(BaseModel):
    id: int
    name: str
    url: str
    timezone: str
    currency: str
    enabled: bool
    webhook_url: str
    created_at: datetime


class StoreCreated(StoreOut):
    """Returned once, at creation: the API key cannot be read back later."""

    api_key: str
    webhook_secret: str
