import unicodedata
from datetime import datetime
from typing import Annotated, Literal, get_args
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.commerce.money import CURRENCY_RIAL_FACTOR

# -- fields every schema of a store or a campaign checks the same way ---------------------------

def _not_blank(value: str, info: ValidationInfo) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{info.field_name} must not be blank")
    # A NUL or another control character is no name (and PostgreSQL refuses NUL in text);
    # format characters stay: ZWNJ is Persian.
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise ValueError(f"{info.field_name} must not contain control characters")
    return value


def _known_timezone(value: str) -> str:
    if value not in available_timezones():
        raise ValueError(f"unknown timezone {value!r} (use an IANA name such as Asia/Tehran)")
    return value


def _currency_code(value: str) -> str:
    value = value.strip().upper()
    if value not in CURRENCY_RIAL_FACTOR and not (len(value) == 3 and value.isascii()
                                                  and value.isalpha()):
        raise ValueError("currency must be a currency code such as IRT, IRR or USD")
    return value


def _gateway_key(value: SecretStr) -> SecretStr:
    # Providers carry the key in a URL path or a header: only visible ASCII survives both.
    secret = value.get_secret_value()
    if not (secret.isascii() and secret.isprintable()) or any(c.isspace() for c in secret):
        raise ValueError("the API key must be the provider's key as issued: visible ASCII "
                         "letters, digits and symbols, no spaces")
    return value


NonBlank = Annotated[str, AfterValidator(_not_blank)]  # stripped, and not empty after it
GatewayKey = Annotated[SecretStr, AfterValidator(_gateway_key)]  # an SMS provider's API key
Timezone = Annotated[str, AfterValidator(_known_timezone)]  # an IANA name
Currency = Annotated[str, AfterValidator(_currency_code)]  # IRT, IRR, IRHT, IRHR or ISO 4217

class StoreCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"name": "چای‌خانه", "url": "https://shop.example", "currency": "IRT"}]})

    name: NonBlank = Field(min_length=1, max_length=200)
    url: AnyHttpUrl
    timezone: Timezone = "Asia/Tehran"
    currency: Currency = "IRT"
    owner_phone: str | None = Field(None, max_length=64, description=(
        "the mobile of the store's first panel owner (any digits: 0912…, +98912…, ۰۹۱۲…): "
        "they sign in to /panel with it and a code sent by SMS"))
    owner_name: str | None = Field(None, max_length=100,
                                   description="the owner's name on the panel's people page")


# What a merchant may choose as the store's SMS gateway: the console, or the store's own account
# at a provider (app/messaging/providers.py makes each; a test holds the two lists equal).
# "platform" (pay as you go through our account) is set by the operator only.
SmsChoice = Literal["console", "kavenegar", "smsir", "ippanel", "ghasedak", "melipayamak"]
# A second provider (sms_fallback_provider) is always the store's own account somewhere.
OWN_ACCOUNT = tuple(name for name in get_args(SmsChoice) if name != "console")
OwnAccount = Literal["kavenegar", "smsir", "ippanel", "ghasedak", "melipayamak"]


class SmsGatewaySettings(BaseModel):
    """The store's SMS gateway. The API key is write-only: it is never returned."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"provider": "kavenegar", "api_key": "<kavenegar api key>",
                      "sender": "10004346"}]})

    provider: SmsChoice | Literal["platform"] = Field(
        description="console: record only; kavenegar, smsir, …: the store's own account at "
                    "that provider (api_key); platform: the platform's account, paid per part "
                    "from the prepaid balance")
    api_key: GatewayKey | None = Field(None, min_length=8, max_length=200)
    price_per_part: int | None = Field(None, ge=0, le=10**7,
                                       description="Rial per SMS part (pay as you go)")
    sender: str | None = Field(None, pattern=r"^\+?[0-9]{4,19}$")
    opt_out_text: str | None = Field(None, min_length=1, max_length=40)

    @model_validator(mode="after")
    def _an_account_needs_a_key(self):
        if self.provider in OWN_ACCOUNT and self.api_key is None:
            raise ValueError(f"api_key is required for provider {self.provider}")
        return self


class WooCommerceApiKeys(BaseModel):
    """The store's WooCommerce REST API keys (read/write), for personal coupons. Write-only:
    never returned. WooCommerce → Settings → Advanced → REST API → Add key."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"consumer_key": "ck_<40 hex>", "consumer_secret": "cs_<40 hex>"}]})

    consumer_key: SecretStr = Field(min_length=8, max_length=200)
    consumer_secret: SecretStr = Field(min_length=8, max_length=200)

    @field_validator("consumer_key", "consumer_secret")
    @classmethod
    def _woocommerce_shape(cls, v: SecretStr, info) -> SecretStr:
        prefix = "ck_" if info.field_name == "consumer_key" else "cs_"
        value = v.get_secret_value().strip()
        if not value.startswith(prefix) or not value[3:].isalnum():
            # Never echo the value: a secret pasted into the wrong field is still a secret.
            raise ValueError(f"a WooCommerce {info.field_name} starts with {prefix} followed by "
                             "letters and digits")
        return SecretStr(value)


class StoreOut(BaseModel):
    id: int
    name: str
    url: str
    timezone: str
    currency: str
    enabled: bool
    webhook_url: str
    created_at: datetime
    sms_provider: str = "console"
    sms_sender: str | None = None
    sms_api_key_set: bool = False
    woocommerce_api_set: bool = False
    sending_paused_reason: str | None = None


class StoreCreated(StoreOut):
    """Returned once, at creation: the API key cannot be read back later."""

    api_key: str
    webhook_secret: str
    plugin_connection_code: str = Field(description="paste into the companion plugin's settings")


class WebhookSecretRotated(BaseModel):
    """The new webhook secret; the previous one still verifies until `previous_valid_until`."""

    webhook_secret: str = Field(description="set it on every WooCommerce webhook of the store "
                                            "(one-click connected stores: bazgasht does it)")
    previous_valid_until: datetime
    plugin_connection_code: str = Field(description="paste into the companion plugin's settings")
