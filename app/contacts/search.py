"""Finding a store's contacts by what a merchant remembers of them: part of a phone number, typed
in any digits and any of its written forms (۰۹۱۲…, +98912…, 0098912…, the last four digits), or
part of a name, however its Arabic or Persian letters, spaces and half-spaces were typed.

Phones are stored in E.164 (+989121234567), so a typed number becomes the stored form's prefix
where its beginning says so (0…, +…, 00…), else a run of digits anywhere in it. Names are
compared on a key both sides share: Persian ی and ک for their Arabic look-alikes, no spaces,
half-spaces or tatweel, lower case.
"""

import re

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement

from app.contacts.models import Contact
from app.digits import latin_digits
from app.errors import DomainError

MIN_PHONE_DIGITS = 4
MAX_QUERY = 60
# Separators people type or paste inside a number.
_PHONE_TEXT = re.compile(r"\+?[\d\s\-().\u200c\u200e\u200f]+")
_NOT_DIGIT = re.compile(r"\D")
# Arabic letters that look like Persian ones, and what a name key leaves out.
_LOOKALIKES = {"ي": "ی", "ى": "ی", "ك": "ک", "ە": "ه", "ۀ": "ه", "ة": "ه"}
_DROPPED = (" ", "\u200c", "\u200d", "\u200f", "\u200e", "ـ", "\u00a0")


class InvalidSearch(DomainError, status=422, code="invalid_search"):
    """`code`: search_too_short (a phone needs four digits) or search_too_long."""


def looks_like_phone(text: str) -> bool:
    return bool(_PHONE_TEXT.fullmatch(latin_digits(text.strip())))


def name_key(text: str) -> str:
    """«علي  رضائي‌پور» and «علی رضائی پور» → the same key."""
    text = text.lower()
    for arabic, persian in _LOOKALIKES.items():
        text = text.replace(arabic, persian)
    for dropped in _DROPPED:
        text = text.replace(dropped, "")
    return text


def _sql_key(column) -> ColumnElement:
    """name_key in SQL (replace() and lower(): the same in PostgreSQL and SQLite)."""
    expr = func.lower(column)
    for arabic, persian in _LOOKALIKES.items():
        expr = func.replace(expr, arabic, persian)
    for dropped in _DROPPED:
        expr = func.replace(expr, dropped, "")
    return expr


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def phone_condition(text: str) -> ColumnElement:
    """Contacts whose phone matches what was typed (see the module's words)."""
    typed = latin_digits(text.strip())
    digits = _NOT_DIGIT.sub("", typed)
    if len(digits) < MIN_PHONE_DIGITS:
        raise InvalidSearch(f"phone: {text!r} has fewer than {MIN_PHONE_DIGITS} digits",
                            code="search_too_short")
    if len(digits) > 15:
        raise InvalidSearch(f"phone: {text!r} is longer than a phone number",
                            code="search_too_long")
    if typed.startswith("+"):
        return Contact.phone.startswith(f"+{digits}")
    if digits.startswith("00"):
        return Contact.phone.startswith(f"+{digits[2:]}")
    if digits.startswith("0"):
        return Contact.phone.startswith(f"+98{digits[1:]}")
    if digits.startswith("9") and len(digits) == 10:  # 9121234567: a whole number without 0
        return Contact.phone == f"+98{digits}"
    return Contact.phone.contains(digits)


def name_condition(text: str) -> ColumnElement:
    """Contacts whose first and last name, read as one, contain what was typed."""
    key = name_key(text.strip())
    if not key:
        raise InvalidSearch("name: empty", code="search_too_short")
    if len(key) > MAX_QUERY:
        raise InvalidSearch(f"name: longer than {MAX_QUERY} characters", code="search_too_long")
    full = _sql_key(Contact.first_name + Contact.last_name)
    return full.like(f"%{_like_escape(key)}%", escape="\\")
