"""Requests and answers of the merchant admin API (`/api/v1`), with the examples /docs shows."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from app.campaigns.reasons import Reason
from app.campaigns.schemas import MAX_TEMPLATE
from app.messaging.providers import Choice
from app.stores.schemas import Currency, GatewayKey, NonBlank, OwnAccount, Timezone
from app.types import MAX_ID

MESSAGE_STATUS = Literal["scheduled", "sending", "sent", "delivered", "failed", "skipped", "held"]
# Answers say what the rows hold (a status or kind added later must not break a listing).
StatusOut = Annotated[str, Field(description="scheduled → sending → sent → delivered | failed, "
                                             "or skipped / held with a reason",
                                 examples=["delivered"])]


# -- store settings ---------------------------------------------------------------------------

class StoreSettings(BaseModel):
    """The store's settings. Secrets are never returned: only whether they are set."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 1, "name": "چای‌خانه", "url": "https://shop.example", "timezone": "Asia/Tehran",
        "currency": "IRT", "webhook_url": "https://bazgasht.example/webhooks/woocommerce/1",
        "api_key_prefix": "bz_Qm3xA", "created_at": "2026-11-20T08:00:00Z",
        "send_from_minute": 540, "send_until_minute": 1260, "send_weekdays": [0, 1, 2, 3, 4, 5, 6],
        "cap_per_day": 1, "cap_per_week": 3, "attribution_window_days": 5,
        "opt_out_text": "لغو۱۱", "sms_provider": "kavenegar", "sms_api_key_set": True,
        "sms_sender": "10004346",
        "kavenegar_receive_url": "https://bazgasht.example/hooks/kavenegar/1/Xq3…",
        "sms_template_mode": "sms", "sms_price_per_part": 1200, "woocommerce_api_set": True,
        "alert_phone": "+989121234567",
        "alert_webhook_url": "https://hooks.example/bazgasht", "sending_paused_reason": None}]})

    id: int
    name: str
    url: str
    timezone: str
    currency: str
    webhook_url: str
    api_key_prefix: str = Field(description="the first characters of the current API key")
    created_at: datetime
    send_from_minute: int = Field(description="SMS go out from this minute after local midnight…")
    send_until_minute: int = Field(description="…until this one (exclusive)")
    send_weekdays: list[int] = Field(description="0 = Monday … 6 = Sunday")
    cap_per_day: int = Field(description="promotional SMS per contact in 24 hours")
    cap_per_week: int = Field(description="promotional SMS per contact in 7 days")
    attribution_window_days: int
    opt_out_text: str = Field(description="the line promotional texts end with")
    sms_provider: Choice | Literal["platform"] = Field(
        description="platform: pay as you go through the platform's account (set by the "
                    "operator, with the price per part)")
    sms_api_key_set: bool
    sms_sender: str | None
    sms_fallback_provider: OwnAccount | None = Field(
        description="a second provider that carries the messages the first refuses for now "
                    "before doing anything (never one the first may have sent)")
    sms_fallback_api_key_set: bool
    sms_fallback_sender: str | None
    kavenegar_receive_url: str | None = Field(
        description="with Kavenegar: the line's real-time receive URL to paste into Kavenegar's "
                    "panel, so replies («11») arrive as they are sent; they are read every few "
                    "minutes anyway. Secret: it opts customers out and in")
    sms_template_mode: Literal["sms", "lookup"]
    sms_price_per_part: int = Field(description="Rial per SMS part, for estimates")
    woocommerce_api_set: bool
    alert_phone: str | None
    alert_webhook_url: str | None
    sending_paused_reason: str | None = Field(
        description="set while the gateway refuses the store (credit, key, line)")


# Settings a PATCH may set to null (clearing them); the others always have a value.
_CLEARABLE = {"sms_api_key", "sms_sender", "sms_fallback_provider", "sms_fallback_api_key",
              "sms_fallback_sender", "wc_consumer_key", "wc_consumer_secret",
              "alert_phone", "alert_webhook_url"}


class StoreSettingsPatch(BaseModel):
    """Only the fields sent change; null clears an optional one. Secrets are write-only."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"timezone": "Asia/Tehran", "send_from_minute": 600, "send_until_minute": 1320,
         "send_weekdays": [0, 1, 2, 3, 5, 6], "cap_per_day": 1, "cap_per_week": 2},
        {"sms_provider": "kavenegar", "sms_api_key": "<kavenegar api key>",
         "sms_sender": "10004346", "sms_template_mode": "sms"},
        {"wc_consumer_key": "ck_<40 hex>", "wc_consumer_secret": "cs_<40 hex>",
         "alert_phone": "۰۹۱۲ ۱۲۳ ۴۵۶۷", "alert_webhook_url": "https://hooks.example/bazgasht"}]})

    name: NonBlank | None = Field(None, min_length=1, max_length=200)
    url: AnyHttpUrl | None = None
    timezone: Timezone | None = None
    currency: Currency | None = None
    send_from_minute: int | None = Field(None, ge=0, le=1439)
    send_until_minute: int | None = Field(None, ge=1, le=1440)
    send_weekdays: list[Annotated[int, Field(ge=0, le=6)]] | None = Field(
        None, min_length=1, max_length=7)
    cap_per_day: int | None = Field(None, ge=1, le=10)
    cap_per_week: int | None = Field(None, ge=1, le=50)
    attribution_window_days: int | None = Field(None, ge=1, le=90)
    opt_out_text: NonBlank | None = Field(None, min_length=1, max_length=40)
    sms_provider: Choice | None = None
    sms_api_key: GatewayKey | None = Field(None, min_length=8, max_length=200)
    sms_sender: str | None = Field(None, pattern=r"^\+?[0-9]{4,19}$")  # the column holds 20
    sms_fallback_provider: OwnAccount | None = None
    sms_fallback_api_key: GatewayKey | None = Field(None, min_length=8, max_length=200)
    sms_fallback_sender: str | None = Field(None, pattern=r"^\+?[0-9]{4,19}$")
    sms_template_mode: Literal["sms", "lookup"] | None = None
    wc_consumer_key: SecretStr | None = Field(None, min_length=8, max_length=200)
    wc_consumer_secret: SecretStr | None = Field(None, min_length=8, max_length=200)
    alert_phone: str | None = Field(None, max_length=64)
    alert_webhook_url: AnyHttpUrl | None = None

    @model_validator(mode="after")
    def _required_stay_set(self):
        for name in sorted(self.model_fields_set - _CLEARABLE):
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null (leave it out to keep it)")
        return self

    @field_validator("send_weekdays")
    @classmethod
    def _weekdays(cls, v: list[int] | None) -> list[int] | None:
        return None if v is None else sorted(set(v))

    @field_validator("wc_consumer_key", "wc_consumer_secret")
    @classmethod
    def _woocommerce_shape(cls, v: SecretStr | None, info) -> SecretStr | None:
        if v is None:
            return None
        prefix = "ck_" if info.field_name == "wc_consumer_key" else "cs_"
        value = v.get_secret_value().strip()
        if not value.startswith(prefix) or not value[3:].isascii() or not value[3:].isalnum():
            # Never echo the value: a secret pasted into the wrong field is still a secret.
            raise ValueError(f"a WooCommerce {info.field_name.removeprefix('wc_')} starts with "
                             f"{prefix} followed by letters and digits")
        return SecretStr(value)

    @field_validator("url", "alert_webhook_url")
    @classmethod
    def _url_length(cls, v: AnyHttpUrl | None, info) -> AnyHttpUrl | None:
        if v is not None and len(str(v)) > 500:
            raise ValueError(f"{info.field_name} must be at most 500 characters")
        return v


class ApiKeyRotated(BaseModel):
    """The new key, shown this once; the old one stopped working."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"api_key": "bz_Qm3xA…", "api_key_prefix": "bz_Qm3xA"}]})

    api_key: str
    api_key_prefix: str


# -- preview and test send --------------------------------------------------------------------

class PreviewRequest(BaseModel):
    """What to render: the step's saved text (or `variant`'s), or an unsaved `template`; for the
    built-in sample subject, or a real cart or order of this store (an order's message names
    the product its trigger would choose: product_bought's first match, reorder_due's product
    due soonest)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {}, {"variant": "B", "cart_id": 41},
        {"template": "{{ first_name }} جان، سفارش {{ order_number }} رسید؟ {{ link }}"}]})

    template: str | None = Field(None, min_length=1, max_length=MAX_TEMPLATE)
    variant: str | None = Field(None, min_length=1, max_length=40)
    cart_id: int | None = Field(None, ge=1, le=MAX_ID,
                                description="a cart of this store (abandoned_cart)")
    order_id: int | None = Field(None, ge=1, le=MAX_ID,
                                 description="an order of this store (other kinds)")

    @model_validator(mode="after")
    def _one_subject(self):
        if self.cart_id is not None and self.order_id is not None:
            raise ValueError("give cart_id or order_id, not both")
        if self.template is not None and self.variant is not None:
            raise ValueError("give template or variant, not both")
        return self


class DraftPreviewRequest(BaseModel):
    """A step that is not saved yet: its template (and coupon) as the editor holds them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"template": "{{ first_name }}، سبدت منتظرته: {{ link }}",
         "coupon": {"mode": "fixed", "code": "off5"}}]})

    template: str = Field(min_length=1, max_length=MAX_TEMPLATE)
    coupon: dict[str, Any] | None = None
    lookup: dict[str, Any] | None = None
    cart_id: int | None = Field(None, ge=1, le=MAX_ID)
    order_id: int | None = Field(None, ge=1, le=MAX_ID)

    @model_validator(mode="after")
    def _one_subject(self):
        if self.cart_id is not None and self.order_id is not None:
            raise ValueError("give cart_id or order_id, not both")
        return self


class LookupPreview(BaseModel):
    template: str
    tokens: dict[str, str]


class TextWarning(BaseModel):
    code: str = Field(description="no_link, many_parts, expiry_empty; coupon_missing (blocking)")
    message: str
    blocking: bool = Field(description="saving this text is refused (422 with the same code)")


class PreviewOut(BaseModel):
    """The SMS as it would go out now, with what it costs. The link is a sample of the real
    length (no link is made); `cost_estimate` = parts × the store's price per part (Rial)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "text": "سارا عزیز، سبد خریدت در چای‌خانه منتظرته: http://127.0.0.1:8000/SmpCart\nلغو۱۱",
        "characters": 72, "encoding": "ucs2", "parts": 2, "cost_estimate": 2400,
        "price_per_part": 1200, "subject": "sample", "variant": None, "opt_out_line": True,
        "lookup": None, "warnings": []}]})

    text: str
    characters: int
    encoding: Literal["gsm7", "ucs2"]
    parts: int
    cost_estimate: int = Field(description="Rial")
    price_per_part: int = Field(description="Rial")
    subject: str = Field(description='"sample", "cart 41", "order 7" or "contact 58"')
    variant: str | None
    opt_out_line: bool = Field(description="the store's opt-out line was added (promotional)")
    lookup: LookupPreview | None = Field(
        None, description="lookup mode: the approved template and its tokens, as sent")
    warnings: list[TextWarning] = Field(
        default_factory=list,
        description="what to know about the text before saving it: no link, more than 3 "
                    "parts, a coupon's expiry with a fixed code (saved all the same); a coupon "
                    "quoted by a step without one (blocking: refused when saved)")


class TestSendRequest(PreviewRequest):
    """Send the preview to this phone (any digit form) through the store's gateway. At most
    10 test SMS per store per hour."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"phone": "۰۹۱۲۱۲۳۴۵۶۷"}, {"phone": "+989121234567", "variant": "B"}]})

    phone: str = Field(min_length=1, max_length=64)


class TestSendOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 5, "phone": "+989121234567", "status": "sent", "gateway_id": "8792343",
        "text": "سارا عزیز، …", "parts": 2, "created_at": "2026-11-23T09:00:00Z"}]})

    id: int
    phone: str
    status: Literal["sent"]
    gateway_id: str | None
    text: str
    parts: int | None
    created_at: datetime


# -- contacts ---------------------------------------------------------------------------------

class ContactOut(BaseModel):
    # Read from the contact's row: ContactOut.model_validate(contact).
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "id": 9, "phone": "+989121234567", "first_name": "سارا", "last_name": "محمدی",
        "email": "", "opted_out": True, "opted_out_at": "2026-11-21T10:00:00Z",
        "opt_out_source": "merchant", "promo_blocked_at": None, "unverified_prefix": False,
        "created_at": "2026-11-01T10:00:00Z"}]})

    id: int
    phone: str
    first_name: str
    last_name: str
    email: str
    opted_out: bool
    opted_out_at: datetime | None
    opt_out_source: str | None
    promo_blocked_at: datetime | None = Field(
        description="the receiver blocks advertising lines: no promotional SMS")
    unverified_prefix: bool
    created_at: datetime


class PhoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"phone": "۰۹۱۲ ۱۲۳ ۴۵۶۷"}]})

    phone: str = Field(min_length=1, max_length=64)


class ContactMessage(BaseModel):
    id: int
    campaign_id: int
    campaign_kind: str
    campaign_name: str
    step_id: int
    step_position: int
    variant: str | None
    status: StatusOut
    reason: Reason | None = Field(description="why it is where it is: a stable code")
    reason_detail: str | None = Field(description="the particulars (a gateway's words, an "
                                                  "order's new status), when there are any")
    text: str | None
    due_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    human_clicks: int
    first_clicked_at: datetime | None


class _OrderFields(BaseModel):
    """What every answer about an order says of it."""

    id: int
    wc_id: int
    number: str
    status: str
    purchased: bool
    total: int | None = Field(description="Rial (or the minor unit of a foreign currency)")
    currency: str


class ContactOrder(_OrderFields):
    created_gmt: datetime | None
    attributed_message_id: int | None
    attribution_basis: str | None


class ConsentEvent(BaseModel):
    at: datetime
    action: Literal["opt_out", "opt_in"]
    source: str = Field(description='"sms reply", "merchant", "blacklist import", …')
    text: str | None = Field(None, description="the customer's reply, for replies")


class ContactDetail(ContactOut):
    """The contact with its history, newest first (each list at most 100 long)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 9, "phone": "+989121234567", "first_name": "سارا", "last_name": "محمدی",
        "email": "", "opted_out": False, "opted_out_at": None, "opt_out_source": None,
        "promo_blocked_at": None, "unverified_prefix": False, "created_at": "2026-11-01T10:00:00Z",
        "messages": [{"id": 301, "campaign_id": 3, "campaign_kind": "abandoned_cart",
                      "campaign_name": "سبد رهاشده", "step_id": 12, "step_position": 1,
                      "variant": None, "status": "delivered", "reason": None,
                      "reason_detail": None,
                      "text": "سارا عزیز، …", "due_at": "2026-11-21T09:00:00Z",
                      "sent_at": "2026-11-21T09:00:05Z", "delivered_at": "2026-11-21T09:01:00Z",
                      "human_clicks": 1, "first_clicked_at": "2026-11-21T09:30:00Z"}],
        "orders": [{"id": 77, "wc_id": 1234, "number": "1234", "status": "processing",
                    "purchased": True, "total": 6000000, "currency": "IRT",
                    "created_gmt": "2026-11-21T10:00:00Z", "attributed_message_id": 301,
                    "attribution_basis": "cart_token"}],
        "consent_events": []}]})

    messages: list[ContactMessage]
    orders: list[ContactOrder]
    consent_events: list[ConsentEvent]


class InvalidLine(BaseModel):
    line: int
    value: str
    reason: str


class BlacklistReport(BaseModel):
    """What an import did. Importing the same file again changes nothing."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "rows": 4, "imported": 2, "already_opted_out": 1, "duplicates": 0, "invalid_count": 1,
        "invalid": [{"line": 4, "value": "021-44556677", "reason": "not a mobile number"}]}]})

    rows: int = Field(description="rows with a value (a header and blank lines are not rows)")
    imported: int = Field(description="opted out by this import")
    already_opted_out: int
    duplicates: int = Field(description="rows repeating a phone of an earlier row")
    invalid_count: int
    invalid: list[InvalidLine] = Field(description="the first 1,000 invalid rows")


# -- replenishment (predicted reorder dates, app/campaigns/replenish.py) ----------------------

_REORDER_EXAMPLE: dict[str, Any] = {
    "contact_id": 9, "phone": "+989121234567", "name": "سارا محمدی", "product_id": 11,
    "product_name": "چای سبز", "purchases": 4, "last_purchase": "2026-11-10",
    "interval_days": 30, "source": "own", "predicted": "2026-12-10", "days_until": 4}


class ReplenishmentOut(BaseModel):
    """A customer's predicted reorder of a product."""

    model_config = ConfigDict(json_schema_extra={"examples": [_REORDER_EXAMPLE]})

    contact_id: int
    phone: str
    name: str
    product_id: int = Field(description="the WooCommerce product id (its variations are one "
                                        "product)")
    product_name: str
    purchases: int = Field(description="store-local days the customer bought it (same-day "
                                       "orders are one purchase)")
    last_purchase: date = Field(description="store-local day")
    interval_days: int = Field(description="the median gap between the customer's purchases "
                                           "(own), or the store's median for the product over "
                                           "customers who rebought it (store_median)")
    source: Literal["own", "store_median"]
    predicted: date = Field(description="last_purchase + interval_days")
    days_until: int = Field(description="days from the store's today to `predicted`; negative "
                                        "when overdue (never by more than interval_days)")


class ReplenishmentPage(BaseModel):
    """Soonest first. Pass `next_cursor` back as `cursor` for the next page (null: no more)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [_REORDER_EXAMPLE],
        "next_cursor": "djE6MjAyNi0xMi0xMDo5OjEx"}]})

    items: list[ReplenishmentOut]
    next_cursor: str | None = Field(None, examples=["djE6MjAyNi0xMi0xMDo5OjEx"])


# -- carts, orders, messages ------------------------------------------------------------------

class CartOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 41, "token": "c7a1e0f4b2d94e0b", "status": "open", "contact_id": 9,
        "first_name": "سارا", "last_name": "محمدی", "phone_error": None,
        "items": [{"product_id": 11, "name": "چای سبز", "quantity": 2}], "total": 5500000,
        "currency": "IRT", "cart_url": "https://shop.example/cart/",
        "modified_gmt": "2026-11-21T08:00:00Z", "converted_at": None, "order_id": None,
        "created_at": "2026-11-21T08:00:01Z"}]})

    id: int
    token: str
    status: Literal["open", "converted"]
    contact_id: int | None
    first_name: str
    last_name: str
    phone_error: str | None
    items: list[dict[str, Any]]
    total: int | None = Field(description="Rial (or the minor unit of a foreign currency)")
    currency: str
    cart_url: str
    modified_gmt: datetime | None = Field(description="the shopper's last activity")
    converted_at: datetime | None
    order_id: int | None
    created_at: datetime


class Attribution(BaseModel):
    message_id: int
    campaign_id: int
    step_id: int
    variant: str | None
    basis: str
    revenue: int = Field(description="Rial")


class OrderOut(_OrderFields):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 77, "wc_id": 1234, "number": "1234", "status": "processing", "purchased": True,
        "total": 6000000, "currency": "IRT", "contact_id": 9, "first_name": "سارا",
        "last_name": "محمدی", "items": [{"product_id": 11, "name": "چای سبز", "quantity": 2}],
        "coupon_codes": ["off5"], "created_gmt": "2026-11-21T10:00:00Z",
        "paid_gmt": "2026-11-21T10:01:00Z", "completed_gmt": None, "deleted_at": None,
        "attribution": {"message_id": 301, "campaign_id": 3, "step_id": 12, "variant": None,
                        "basis": "cart_token", "revenue": 6000000}}]})

    contact_id: int | None
    first_name: str
    last_name: str
    items: list[dict[str, Any]]
    coupon_codes: list[str]
    created_gmt: datetime | None
    paid_gmt: datetime | None
    completed_gmt: datetime | None
    deleted_at: datetime | None
    attribution: Attribution | None


class MessageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 301, "campaign_id": 3, "step_id": 12, "enrollment_id": 88, "contact_id": 9,
        "status": "skipped", "reason": "opted_out", "reason_detail": None, "variant": None, "text": None,
        "due_at": "2026-11-21T09:00:00Z", "sent_at": None, "delivered_at": None, "parts": None,
        "cost": None, "human_clicks": 0, "created_at": "2026-11-21T08:00:05Z"}]})

    id: int
    campaign_id: int
    step_id: int
    enrollment_id: int
    contact_id: int
    status: StatusOut
    reason: Reason | None = Field(description="why it is where it is: a stable code")
    reason_detail: str | None = Field(description="the particulars (a gateway's words, an "
                                                  "order's new status), when there are any")
    variant: str | None
    text: str | None
    due_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    parts: int | None
    cost: int | None = Field(description="Rial, as the gateway charged it")
    human_clicks: int
    created_at: datetime
