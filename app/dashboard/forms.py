"""Reading the panel's forms: Persian, Arabic-Indic or Latin digits, and problems as codes.

A problem is (field, code, params); templates/dashboard/_labels.html says it in Persian, next to
the field it is about. Services check again (and have the last word): their errors are turned
into problems by `from_service`.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from app.campaigns.checks import TextRefused
from app.contacts.phones import InvalidPhone, normalize_phone
from app.digits import latin_digits
from app.errors import DomainError

# Thousands separators, spaces and the direction marks copying from RTL text brings along.
_SEPARATORS = dict.fromkeys(map(ord, "٬,\u200c\u200f\u200e "))
_TIME = re.compile(r"(\d{1,2})(?::(\d{2}))?")


def plain_number(text: str) -> str:
    """A number as typed in a form: Latin digits, without separators."""
    return latin_digits(text).translate(_SEPARATORS)


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    field: str
    code: str
    params: dict = field(default_factory=dict)


class Form:
    """One submitted form: values read by type, problems collected on the way."""

    def __init__(self, data: Mapping):
        self.data = data
        self.problems: list[Problem] = []

    def add(self, field_name: str, code: str, **params) -> None:
        self.problems.append(Problem(field_name, code, params))

    @property
    def ok(self) -> bool:
        return not self.problems

    def model(self, model: type[M], data: dict) -> M | None:
        """What the form read, as the service's model; None (problems said) if anything was
        wrong. The model's own refusal should never come (the form checks first): it is shown,
        not raised."""
        if not self.ok:
            return None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            self.add("", "not_accepted", detail=str(exc.errors()[0].get("msg")))
            return None

    def raw(self, name: str) -> str:
        value = self.data.get(name)
        return value if isinstance(value, str) else ""

    def text(self, name: str, *, required: bool = False, max_length: int | None = None,
             strip: bool = True) -> str | None:
        value = self.raw(name)
        value = value.strip() if strip else value
        if not value:
            if required:
                self.add(name, "required")
            return None
        if max_length is not None and len(value) > max_length:
            self.add(name, "too_long", max=max_length)
            return None
        return value

    def integer(self, name: str, *, low: int, high: int, required: bool = True) -> int | None:
        text = plain_number(self.raw(name)).strip()
        if not text:
            if required:
                self.add(name, "required")
            return None
        # Digits only, and not so many that reading them costs anything; a long number is "out
        # of range" (the range says what fits), not "not a number".
        if not re.fullmatch(r"-?\d{1,40}", text):
            self.add(name, "not_integer")
            return None
        value = int(text)
        if not low <= value <= high:
            self.add(name, "range", low=low, high=high)
            return None
        return value

    def time(self, name: str, *, allow_end_of_day: bool = False) -> int | None:
        """«۰۹:۳۰», «9», «21:00» → minutes after midnight (24:00 only as an end)."""
        text = plain_number(self.raw(name)).strip().replace("٫", ":").replace(".", ":")
        if not text:
            self.add(name, "required")
            return None
        match = _TIME.fullmatch(text)
        hours, minutes = (int(match[1]), int(match[2] or 0)) if match else (99, 99)
        total = hours * 60 + minutes
        if minutes > 59 or total > (1440 if allow_end_of_day else 1439):
            self.add(name, "time_invalid")
            return None
        return total

    def phone(self, name: str) -> str | None:
        value = self.text(name, required=True, max_length=64)
        if value is None:
            return None
        try:
            return normalize_phone(value).e164
        except InvalidPhone:
            self.add(name, "phone_invalid")
            return None

    def checked(self, name: str) -> bool:
        return self.raw(name) in ("on", "1", "true")

    def many(self, name: str) -> list[str]:
        getlist = getattr(self.data, "getlist", None)
        return [v for v in (getlist(name) if getlist else []) if isinstance(v, str)]


# Service error codes the panel words itself; anything else shows as "not accepted" with the
# service's own (technical) reason.
_SERVICE_CODES = {
    "invalid_sending_window": "window_order",
    "url_invalid": "url_invalid",
    "url_not_https": "url_not_https",
    "url_not_public": "url_not_public",
    "url_has_credentials": "url_has_credentials",
    "url_has_query": "url_has_query",
    "invalid_phone": "phone_invalid",
    "kind_already_active": "kind_already_active",
    "campaign_has_no_steps": "campaign_has_no_steps",
    "last_step_of_active_campaign": "last_step_of_active_campaign",
    "too_many_steps": "too_many_steps",
    "phone_opted_out": "phone_opted_out",
    "segment_name_taken": "segment_name_taken",
    "rate_limited": "rate_limited",
    "sms_gateway_refused": "gateway_refused",
    "sms_gateway_unavailable": "gateway_unavailable",
    "lookup_missing": "lookup_missing",
    "invalid_template": "template_invalid",
    "template_too_heavy": "template_too_heavy",
    "invalid_variants": "variants_invalid",
    "invalid_coupon": "coupon_invalid",
    "coupon_not_in_store": "coupon_not_in_store",
    "invalid_lookup": "lookup_invalid",
}


def from_service(exc: DomainError, field_name: str = "") -> Problem:
    if isinstance(exc, TextRefused):  # a step's text: its reason in Persian, no English detail
        return Problem(field_name, exc.problem.kind, exc.problem.params)
    code = _SERVICE_CODES.get(exc.code, "not_accepted")
    return Problem(field_name, code, {"detail": exc.message})
