"""Normalize the phone numbers customers type at checkout into E.164 mobile numbers.

Iranian customers write the same number in many ways (0912…, 912…, +98912…, 0098912…,
98912…), often with Persian or Arabic-Indic digits, separators and invisible direction
marks pasted from RTL text. `normalize_phone` folds all of that into `+989XXXXXXXXX`
and rejects anything that cannot receive an SMS (landlines, garbage).

Operators start using new 09… prefixes before `phonenumbers` learns them, so an
Iranian 10-digit national number starting with 9 that the library does not call mobile
is kept with `unverified_prefix=True`; the SMS gateway's answer is the final word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult

from app.digits import latin_digits

__all__ = ["InvalidPhone", "Phone", "normalize_phone"]


@dataclass(frozen=True)
class Phone:
    e164: str
    unverified_prefix: bool = False


class InvalidPhone(ValueError):
    """Raised with a short English `reason` a merchant's developer can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Direction marks and joiners ride along when numbers are copied from RTL text;
# the rest are separators people use to group digits.
_DROPPED = (
    "\u200b\u200c\u200d\u200e\u200f\u061c\ufeff"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    "\u00a0\u2007\u2009\u202f \t\r\n"
    "-.()/\u2010\u2011\u2012\u2013\u2014\u2212"
)
_DROP = str.maketrans("", "", _DROPPED)
_SHAPE = re.compile(r"\+?[0-9]+")
# Longer raw input is not a typed phone number; the bound also keeps cache keys small.
_MAX_RAW_LENGTH = 64
# "00" + 15 E.164 digits is the longest dialable form.
_MAX_DIGITS = 17
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_IRAN_CODE = 98
_IRAN_MOBILE_NSN = re.compile(r"9[0-9]{9}")

# Input reaching the parser is already digits with an optional leading +, so the
# library calling it "not a number" only means there are too few digits.
_PARSE_REASONS = {
    NumberParseException.NOT_A_NUMBER: "too short",
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_LENGTH_REASONS = {
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
}


def normalize_phone(raw: str | None, *, region: str = "IR") -> Phone:
    """Return the E.164 mobile number in `raw`, or raise `InvalidPhone`.

    `region` is only used for numbers written without +/00; explicit international
    numbers are accepted when they are valid mobiles of their own country.
    """
    if raw is None:
        raise InvalidPhone("empty")
    if not isinstance(raw, str):
        raise InvalidPhone("not a phone number")
    if len(raw) > _MAX_RAW_LENGTH:
        raise InvalidPhone("too long")
    cleaned = latin_digits(raw).translate(_DROP)
    if not cleaned:
        raise InvalidPhone("empty")
    if not _SHAPE.fullmatch(cleaned):
        raise InvalidPhone("not a phone number")
    if len(cleaned.lstrip("+")) > _MAX_DIGITS:
        raise InvalidPhone("too long")
    result = _normalize_cleaned(cleaned, region)
    if isinstance(result, str):
        raise InvalidPhone(result)
    return result


# Rejections are cached too (as their reason) so repeated garbage stays cheap.
@lru_cache(maxsize=4096)
def _normalize_cleaned(cleaned: str, region: str) -> Phone | str:
    try:
        number = phonenumbers.parse(cleaned, region)
    except NumberParseException as exc:
        return _PARSE_REASONS.get(exc.error_type, "not a phone number")

    valid = phonenumbers.is_valid_number(number)
    if valid and phonenumbers.number_type(number) in _MOBILE_TYPES:
        return Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))

    # Iranian landlines never start with 9, so a 9… national number is a mobile-network
    # line even when the library does not know the prefix (or files it as fixed
    # wireless, as it does for parts of 094x).
    national = str(number.national_number)
    if number.country_code == _IRAN_CODE and _IRAN_MOBILE_NSN.fullmatch(national):
        return Phone(f"+{_IRAN_CODE}{national}", unverified_prefix=True)

    if valid:
        return "not a mobile number"
    length = phonenumbers.is_possible_number_for_type_with_reason(number, PhoneNumberType.MOBILE)
    return _LENGTH_REASONS.get(length, "not a valid number")


_IRAN_MOBILE_E164 = re.compile(r"\+989[0-9]{9}")


def is_mobile_e164(phone: str) -> bool:
    """Whether a stored phone is a mobile in E.164, as normalize_phone would write it. An
    Iranian 9… number always is (see _normalize_cleaned): the regex answers for those without
    the library's parse (about 50 µs, too much for every contact of a store at once)."""
    if _IRAN_MOBILE_E164.fullmatch(phone):
        return True
    try:
        return normalize_phone(phone).e164 == phone
    except InvalidPhone:
        return False


def mask_phone(phone: str | None) -> str:
    """+989123456789 → +989*****6789 (a phone shown where the whole number is not needed)."""
    if not phone:
        return ""
    keep_head = 4 if phone.startswith("+98") else min(3, len(phone))
    hidden = max(len(phone) - keep_head - 4, 0)
    return phone[:keep_head] + "*" * hidden + phone[keep_head + hidden:]
