"""A store's segments: who is in one now, and keeping their definitions."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.commerce.money import decimal_places
from app.errors import Conflict, DomainError, NotFound
from app.segments import conditions, facts
from app.segments.facts import Person, Purchases
from app.segments.models import Segment
from app.segments.schemas import Definition, SegmentCreate, SegmentPatch, plain
from app.stores.models import Store


class SegmentNameTaken(Conflict, code="segment_name_taken"):
    pass


@dataclass(frozen=True)
class Member:
    person: Person
    purchases: Purchases | None  # None: never bought


class InvalidDefinition(DomainError, status=422, code="invalid_request"):
    pass


AMOUNTS = ("spent_min", "spent_max", "average_min", "average_max")


def check_amounts(definition: Definition, currency: str) -> None:
    """An amount must be a whole number of what the store's orders are kept in (rial, or a
    foreign currency's cents): 2.5 toman is 25 rial, 2.55 toman is no amount an order has."""
    places = decimal_places(currency)
    for name in AMOUNTS:
        value = getattr(definition.purchases, name)
        if value is not None and (value * 10**places) % 1:
            allowed = (f"at most {places} decimals" if places
                       else "whole numbers")
            raise InvalidDefinition(f"definition.purchases.{name}: {plain(value)} is no "
                                    f"amount of {currency}; its amounts are {allowed}")


def preview(session: Session, *, store: Store, definition: Definition,
            now: datetime) -> list[Member]:
    """Who a definition not saved yet holds now."""
    check_amounts(definition, store.currency)
    return members(session, store=store, definition=definition, now=now)


def members(session: Session, *, store: Store, definition: Definition,
            now: datetime) -> list[Member]:
    """The contacts in the segment now, newest contact first (the order of its pages)."""
    buyers = facts.purchases(session, store.id)
    found = conditions.checks(session, store_id=store.id, currency=store.currency,
                              definition=definition, now=now, buyers=buyers)
    people = [p for p in facts.reachable(session, store.id) if all(ok(p) for ok in found)]
    people.sort(key=lambda p: p.id, reverse=True)
    return [Member(p, buyers.get(p.id)) for p in people]


def after(found: list[Member], last_id: int | None, limit: int) -> tuple[list[Member], bool]:
    """One page of `found` (newest first): those after contact `last_id`, and whether more
    follow."""
    rest = [m for m in found if last_id is None or m.person.id < last_id]
    return rest[:limit], len(rest) > limit


def definition_of(segment: Segment) -> Definition:
    return Definition.model_validate(segment.definition)


def _stored(definition: Definition) -> dict:
    return definition.model_dump(mode="json", exclude_defaults=True)


def segments_of_store(store_id: int) -> Select:
    return select(Segment).where(Segment.store_id == store_id)


def segment_of_store(session: Session, *, store_id: int, segment_id: int) -> Segment:
    """The store's segment, or NotFound: another store's is as unknown as a missing one."""
    segment = session.scalar(select(Segment).where(Segment.id == segment_id,
                                                   Segment.store_id == store_id))
    if segment is None:
        raise NotFound(f"no segment with id {segment_id}", code="segment_not_found")
    return segment


def create_segment(session: Session, *, store: Store, data: SegmentCreate,
                   now: datetime) -> Segment:
    check_amounts(data.definition, store.currency)
    store_id = store.id
    segment = Segment(store_id=store_id, name=data.name, definition=_stored(data.definition),
                      created_at=now, updated_at=now)
    with _unique_name(data.name):
        with session.begin_nested():
            session.add(segment)
    return segment


def update_segment(session: Session, *, store: Store, segment: Segment, patch: SegmentPatch,
                   now: datetime) -> Segment:
    if patch.definition is not None:
        check_amounts(patch.definition, store.currency)
    name = patch.name if patch.name is not None else segment.name
    # The changes are made inside the savepoint: begin_nested() flushes what is pending first,
    # and a taken name flushed outside it would end the whole transaction.
    with _unique_name(name):
        with session.begin_nested():
            segment.name = name
            if patch.definition is not None:
                segment.definition = _stored(patch.definition)
            segment.updated_at = now
    return segment


@contextmanager
def _unique_name(name: str) -> Iterator[None]:
    """The database's unique (store, name) is the rule; this says it as a 409."""
    try:
        yield
    except IntegrityError:
        raise SegmentNameTaken(f"the store has a segment named {name!r} already; choose "
                               "another name") from None


def delete_segment(session: Session, *, segment: Segment) -> None:
    """Refused while a campaign's conditions name it: the campaign would silently enrol no
    one (or everyone)."""
    using = facts.campaigns_using(session, segment.id, segment.store_id)
    if using:
        names = "، ".join(f"{cid} ({name})" for cid, name in using)
        raise Conflict(f"campaigns {names} enrol only this segment's customers: change their "
                       "conditions first", code="segment_in_use")
    session.delete(segment)
    session.flush()
