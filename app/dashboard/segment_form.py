"""The panel's segment form: its fields read into a Definition (app/segments/schemas.py, which
has the last word), each problem next to its field; and a saved definition back into the
form's values."""

import re
from decimal import Decimal

from app.commerce.money import decimal_places
from app.dashboard.forms import Form, plain_number
from app.digits import latin_digits, persian_digits
from app.segments.schemas import (
    MAX_AMOUNT,
    MAX_COUNT,
    MAX_DAYS,
    MAX_IDS,
    Definition,
    plain,
)
from app.segments.service import AMOUNTS
from app.types import MAX_ID

# Form field → (the definition's group, the lowest and highest value).
NUMBERS = {
    "orders_min": ("purchases", 0, MAX_COUNT), "orders_max": ("purchases", 0, MAX_COUNT),
    "spent_min": ("purchases", 0, MAX_AMOUNT), "spent_max": ("purchases", 0, MAX_AMOUNT),
    "average_min": ("purchases", 0, MAX_AMOUNT), "average_max": ("purchases", 0, MAX_AMOUNT),
    "last_order_within_days": ("purchases", 0, MAX_DAYS),
    "last_order_before_days": ("purchases", 0, MAX_DAYS),
    "clicked_within_days": ("engagement", 0, MAX_DAYS),
    "replied_within_days": ("engagement", 0, MAX_DAYS),
    "rating_min": ("engagement", 1, 5), "rating_max": ("engagement", 1, 5),
    "recency_min": ("rfm", 1, 5), "frequency_min": ("rfm", 1, 5), "monetary_min": ("rfm", 1, 5),
}
IDS = ("products", "categories")
BUYERS = ("first_time", "repeat")
_PAIRS = (("orders_min", "orders_max"), ("spent_min", "spent_max"),
          ("average_min", "average_max"), ("rating_min", "rating_max"))
_ID_SEPARATORS = re.compile(r"[\s,،٬]+")
_AMOUNT = re.compile(r"\d{1,14}(?:\.(\d{1,12}))?")


def _amount(form: Form, name: str, places: int) -> Decimal | None:
    """«۲٫۵» or "2.5" in the store's unit, with as many decimals as its currency has (none
    for a rial store: then as any whole number)."""
    if not places:
        whole = form.integer(name, low=0, high=MAX_AMOUNT, required=False)
        return None if whole is None else Decimal(whole)
    text = plain_number(form.raw(name)).strip().replace("٫", ".")
    if not text:
        return None
    match = _AMOUNT.fullmatch(text)
    if not match:
        form.add(name, "not_amount")
        return None
    if len(match[1] or "") > places:
        form.add(name, "amount_decimals", places=places)
        return None
    amount = Decimal(text)
    if amount > MAX_AMOUNT:
        form.add(name, "range", low=0, high=MAX_AMOUNT)
        return None
    return amount


def read_ids(form: Form, name: str, *, most: int = MAX_IDS) -> list[int]:
    """«۱۱، ۱۲» or "11 12" or "11,12": WooCommerce ids (a campaign's conditions take them
    too)."""
    words = [w for w in _ID_SEPARATORS.split(latin_digits(form.raw(name))) if w]
    if not all(w.isdigit() and 1 <= int(w) <= MAX_ID for w in words):
        form.add(name, "ids_invalid")
        return []
    if len(words) > most:
        form.add(name, "ids_too_many", max=most)
        return []
    return list(dict.fromkeys(int(w) for w in words))


def read_definition(form: Form, currency: str) -> Definition | None:
    """The definition the form describes, or None with the problems added to `form`. Amounts
    are in the store's unit (`currency`'s)."""
    data: dict[str, dict] = {"purchases": {}, "engagement": {}, "rfm": {}}
    places = decimal_places(currency)
    for name, (group, low, high) in NUMBERS.items():
        value = (_amount(form, name, places) if name in AMOUNTS
                 else form.integer(name, low=low, high=high, required=False))
        if value is not None:
            data[group][name] = value
    for name in IDS:
        if found := read_ids(form, name):
            data["purchases"][name] = found
    if form.raw("buyer") in BUYERS:
        data["purchases"]["buyer"] = form.raw("buyer")
    for least, most in _PAIRS:
        group = NUMBERS[least][0]
        if data[group].get(least, -1) > data[group].get(most, MAX_AMOUNT + 1):
            form.add(most, "min_over_max")
    return form.model(Definition, data)


def values_of(definition: Definition) -> dict[str, str]:
    """A saved definition as the form shows it (Persian digits)."""
    values: dict[str, str] = {}
    for name, (group, _, _) in NUMBERS.items():
        value = getattr(getattr(definition, group), name)
        if isinstance(value, Decimal):
            values[name] = persian_digits(plain(value)).replace(".", "٫")
        elif value is not None:
            values[name] = persian_digits(value)
    for name in IDS:
        values[name] = persian_digits("، ".join(map(str, getattr(definition.purchases, name))))
    values["buyer"] = definition.purchases.buyer or ""
    return values
