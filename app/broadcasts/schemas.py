"""Requests and answers of the broadcasts API (`/api/v1/broadcasts`), with the limits the panel's
form shares."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from app.campaigns.schemas import MAX_TEMPLATE, ControlPercent
from app.digits import latin_digits, typed_number
from app.reports.schemas import Lift, Range
from app.stores.schemas import NonBlank
from app.types import MAX_ID

# How late a broadcast's SMS may still go out after its time (quiet hours, the frequency cap):
# at least an hour, at most three days; a day unless the merchant says otherwise.
MIN_SEND_WITHIN, MAX_SEND_WITHIN, DEFAULT_SEND_WITHIN = 60, 3 * 24 * 60, 24 * 60
# A budget far above any store's broadcast (Rial).
MAX_COST = 10**13
# Scheduled at most this far ahead (links live 90 days).
MAX_DAYS_AHEAD = 90


def _typed_time(value: Any) -> Any:
    """An ISO 8601 time typed in any digits («۲۰۲۶-۱۲-۰۵T۱۰:۰۰»)."""
    return latin_digits(value).strip() if isinstance(value, str) else value


Rial = Annotated[int, BeforeValidator(typed_number), Field(
    ge=1, le=MAX_COST, description="Rial; Persian or Latin digits, thousands separators allowed")]
When = Annotated[datetime, BeforeValidator(_typed_time), Field(
    description="ISO 8601 (any digits); without a zone it is the store's local time")]
SendWithin = Annotated[int, BeforeValidator(typed_number), Field(
    ge=MIN_SEND_WITHIN, le=MAX_SEND_WITHIN,
    description="minutes after its time an SMS may still go out (quiet hours, the frequency "
                "cap); later it is skipped (too_late). 60–4320, default 1440")]
SegmentId = Annotated[int, BeforeValidator(typed_number), Field(ge=1, le=MAX_ID)]

_EXAMPLE: dict[str, Any] = {
    "name": "حراج یلدا", "segment_id": 3,
    "template": "{{ first_name or \"مشتری\" }} عزیز، حراج یلدای {{ store_name }} شروع شد: "
                "{{ link }}",
    "scheduled_at": "2026-12-20T10:00:00+03:30", "max_cost": "۵۰۰٬۰۰۰"}


class BroadcastCreate(BaseModel):
    """A new broadcast (a draft until scheduled). The text is a Jinja template with the
    variables first_name, last_name, store_name, link (the store's home page, tracked), today,
    and coupon_code / coupon_expires when `coupon` is set (README «Coupons»)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    name: NonBlank = Field(min_length=1, max_length=200)
    segment_id: SegmentId
    template: str = Field(min_length=1, max_length=MAX_TEMPLATE)
    coupon: dict[str, Any] | None = None
    lookup: dict[str, Any] | None = None
    send_within_minutes: SendWithin = DEFAULT_SEND_WITHIN
    scheduled_at: When | None = None
    max_cost: Rial | None = None
    control_percent: ControlPercent = 0


class BroadcastPatch(BaseModel):
    """A draft's fields to change (only those sent; null clears coupon, lookup, scheduled_at
    and max_cost)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"max_cost": "1,000,000"}, {"scheduled_at": "2026-12-21T09:30:00"},
        {"control_percent": "۱۰"}]})

    name: NonBlank | None = Field(None, min_length=1, max_length=200)
    segment_id: SegmentId | None = None
    template: str | None = Field(None, min_length=1, max_length=MAX_TEMPLATE)
    coupon: dict[str, Any] | None = None
    lookup: dict[str, Any] | None = None
    send_within_minutes: SendWithin | None = None
    scheduled_at: When | None = None
    max_cost: Rial | None = None
    control_percent: ControlPercent | None = None


class ScheduleRequest(BaseModel):
    """When to send it (default: the time the draft has, else now)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"scheduled_at": "2026-12-20T10:00:00+03:30"}, {}]})

    scheduled_at: When | None = None


class TestSendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"phone": "۰۹۱۲۱۲۳۴۵۶۷"}]})

    phone: str = Field(min_length=1, max_length=64)


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"contact_id": 58}, {}]})

    contact_id: Annotated[int, BeforeValidator(typed_number), Field(ge=1, le=MAX_ID)] | None = (
        Field(None, description="a contact of the store in the broadcast's segment now (the "
                                "segment's members list their contact_id); left out: the "
                                "sample customer"))


class EstimateOut(BaseModel):
    """What sending it now would cost: recipients × parts × price per part (Rial), against the
    money there is (`available`: the platform balance, or the gateway's credit; null when the
    gateway tells none) and the broadcast's own budget."""

    recipients: int
    parts: int = Field(description="of the SMS for the sample customer, opt-out line included")
    price_per_part: int
    cost: int = Field(description="Rial")
    available: int | None = Field(description="Rial; null: unknown (the console gateway)")
    max_cost: int | None
    affordable: bool
    within_budget: bool
    text: str = Field(description="the SMS for the sample customer")
    estimated_at: datetime


class ReportOut(BaseModel):
    """What its SMS did: counted from its messages, whenever their clicks and orders came."""

    messages: int
    scheduled: int
    held: int
    skipped: int
    sent: int
    delivered: int
    failed: int
    clicks: int
    orders: int
    revenue: int = Field(description="Rial, orders credited to its SMS, net of refunds")
    cost: int = Field(description="Rial")
    range: Range = Field(description=(
        "the store-local days its figures count: from the day before its time to the day "
        "after the later of now and 4 days after it"))
    lift: Lift = Field(description=(
        "its recipients against its control group (`control_percent`), counted as a "
        "campaign's lift: from its time until the store's attribution window after it"))


class BroadcastOut(BaseModel):
    id: int
    name: str
    status: Literal["draft", "scheduled", "sending", "sent", "cancelled", "refused"]
    segment_id: int | None
    definition: dict | None = Field(description="the segment's definition as it was at start")
    template: str
    coupon: dict[str, Any] | None
    lookup: dict[str, Any] | None
    send_within_minutes: int
    scheduled_at: datetime | None
    max_cost: int | None
    control_percent: int = Field(description=(
        "percent of the segment's members held out as a control group: enrolled, never sent "
        "to, compared with the rest in the report's `lift`; 0 = off"))
    estimated_recipients: int | None
    estimated_parts: int | None
    estimated_cost: int | None
    estimated_at: datetime | None
    refused_reason: str | None
    refused_detail: str | None
    recipients: int | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    report: ReportOut | None = Field(None, description="once it started")


class BroadcastList(BaseModel):
    items: list[BroadcastOut]
    next_cursor: str | None


class CancelOut(BaseModel):
    status: Literal["cancelled"]
    skipped_messages: int


class Deleted(BaseModel):
    deleted: bool
