"""The panel's forms for a campaign's conditions and exits: read into schemas.Conditions and
schemas.Exits (which, with app/campaigns/editing.py, have the last word), each problem next to
its field; and what the form shows beside them: the store's segments with their size now, and
the names of the products and categories a condition names by id."""

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.campaigns.schemas import MAX_CONDITION_IDS, Conditions, Exits
from app.commerce.names import category_names, product_names
from app.dashboard.forms import Form
from app.dashboard.segment_form import read_ids
from app.digits import latin_digits, persian_digits, persian_number
from app.segments import service as segments
from app.segments.schemas import MAX_AMOUNT
from app.stores.models import Store
from app.types import MAX_ID

IDS = ("products", "categories")
ORDERS = ("first", "repeat")
_WORDS = re.compile(r"[\s,،٬]+")


@dataclass(frozen=True)
class SegmentChoice:
    id: int
    name: str
    size: int  # reachable members now


@dataclass(frozen=True)
class Named:
    id: int
    name: str | None  # None: the store's products have not brought it


def segment_ids(session: Session, store: Store) -> set[int]:
    return {s.id for s in session.scalars(segments.segments_of_store(store.id))}


def segment_choices(session: Session, store: Store, now: datetime) -> list[SegmentChoice]:
    """The store's segments, newest first (as the segments page lists them), each with its size
    now: the merchant chooses knowing how many a condition lets in."""
    found = session.scalars(segments.segments_of_store(store.id)).all()
    return sorted((SegmentChoice(s.id, s.name, len(segments.members(
        session, store=store, definition=segments.definition_of(s), now=now))) for s in found),
        key=lambda c: -c.id)


def read_conditions(form: Form, segments_of_store: set[int]) -> Conditions | None:
    """The conditions the form describes (an empty field: no such condition), or None with the
    problems added to `form`."""
    data: dict = {}
    segment = latin_digits(form.raw("segment_id")).strip()
    if segment:
        if segment.isdigit() and int(segment) in segments_of_store:
            data["segment_id"] = int(segment)
        else:  # deleted meanwhile, or not this store's
            form.add("segment_id", "segment_unknown")
    for name in IDS:
        if found := read_ids(form, name, most=MAX_CONDITION_IDS):
            data[name] = found
    for name in ("total_min", "total_max"):
        value = form.integer(name, low=0, high=MAX_AMOUNT, required=False)
        if value is not None:
            data[name] = value
    if data.get("total_min", -1) > data.get("total_max", MAX_AMOUNT + 1):
        form.add("total_max", "min_over_max")
    if form.raw("order") in ORDERS:
        data["order"] = form.raw("order")
    return form.model(Conditions, data)


def read_exits(form: Form) -> Exits:
    return Exits(purchased=form.checked("purchased"), clicked=form.checked("clicked"))


def values_of(conditions: dict) -> dict[str, str]:
    """Saved conditions as the form shows them: Persian digits, «٬» between thousands."""
    given = Conditions.model_validate(conditions or {})
    values = {name: persian_digits("، ".join(map(str, getattr(given, name)))) for name in IDS}
    for name in ("total_min", "total_max"):
        value = getattr(given, name)
        values[name] = persian_number(value) if value is not None else ""
    values["segment_id"] = str(given.segment_id or "")
    values["order"] = given.order or ""
    return values


def _ids_in(text: str) -> list[int]:
    """The ids a field's text holds, leniently (a wrong word is the form's problem, not the
    names list's)."""
    words = [w for w in _WORDS.split(latin_digits(text)) if w.isdigit() and len(w) <= 12]
    return list(dict.fromkeys(int(w) for w in words if 1 <= int(w) <= MAX_ID))[
        :MAX_CONDITION_IDS]


def names_of(session: Session, store: Store, values: dict[str, str]) -> dict[str, list[Named]]:
    """Each id the products and categories fields hold, with its name where the store's
    products are known."""
    products, categories = _ids_in(values.get("products", "")), _ids_in(
        values.get("categories", ""))
    known = {"products": product_names(session, store.id, products),
             "categories": category_names(session, store.id, categories)}
    return {"products": [Named(i, known["products"].get(i)) for i in products],
            "categories": [Named(i, known["categories"].get(i)) for i in categories]}
