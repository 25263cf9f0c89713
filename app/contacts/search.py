"""Finding a store's contacts by what a merchant remembers of them: part of a phone number, typed
in any digits and any of its written forms (۰۹۱۲…, +98912…, 0098912…, the last four digits), or
part of a name, however its Arabic or Persian letters, spaces and half-spaces were typed.

Phones are stored in E.164 (+989121234567), so a typed number becomes the stored form's prefix
where its beginning says so (0…, +…, 00…), else a run of digits anywhere in it. Names are
compared on a key both sides share: Persian ی and ک for their Arabic look-alikes, no spaces,
half-spaces or tatweel, lower case.
"""

import re

from sqlalchemy import String, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from app.contacts.models import Contact
from app.contacts.phones import InvalidPhone, normalize_phone
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


class _NameKey(FunctionElement):
    """name_key in SQL: one translate() in PostgreSQL (a name search reads every contact of the
    store: one call a row, not thirteen), replace()s elsewhere."""

    type = String()
    inherit_cache = True


@compiles(_NameKey)
def _name_key_replaces(element, compiler, **kw) -> str:
    expr = func.lower(*element.clauses)
    for arabic, persian in _LOOKALIKES.items():
        expr = func.replace(expr, arabic, persian)
    for dropped in _DROPPED:
        expr = func.replace(expr, dropped, "")
    return compiler.process(expr, **kw)


@compiles(_NameKey, "postgresql")
def _name_key_translate(element, compiler, **kw) -> str:
    # translate() drops the characters of `from` past the end of `to`.
    source = "".join(_LOOKALIKES) + "".join(_DROPPED)
    return compiler.process(func.translate(func.lower(*element.clauses), source,
                                           "".join(_LOOKALIKES.values())), **kw)


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
    try:  # a whole number: the store's (store_id, phone) index finds it at once
        return Contact.phone == normalize_phone(typed).e164
    except InvalidPhone:
        pass
    if typed.startswith("+"):
        return Contact.phone.startswith(f"+{digits}")
    if digits.startswith("00"):
        return Contact.phone.startswith(f"+{digits[2:]}")
    if digits.startswith("0"):
        return Contact.phone.startswith(f"+98{digits[1:]}")
    return Contact.phone.contains(digits)


def name_condition(text: str) -> ColumnElement:
    """Contacts whose first and last name, read as one, contain what was typed."""
    key = name_key(text.strip())
    if not key:
        raise InvalidSearch("name: empty", code="search_too_short")
    if len(key) > MAX_QUERY:
        raise InvalidSearch(f"name: longer than {MAX_QUERY} characters", code="search_too_long")
    full = _NameKey(Contact.first_name + Contact.last_name)
    return full.like(f"%{_like_escape(key)}%", escape="\\")
