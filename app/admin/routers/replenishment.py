"""Predicted reorder dates (app/campaigns/replenish.py), read-only."""

import base64
import binascii
from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BeforeValidator

from app.admin.schemas import ReplenishmentOut, ReplenishmentPage
from app.campaigns import replenish
from app.clock import local_today
from app.deps import NowDep, SessionDep, StoreDep
from app.digits import latin_digits
from app.errors import api_errors
from app.pagination import Cursor, InvalidCursor, Limit

router = APIRouter(prefix="/api/v1/replenishment", tags=["admin: replenishment"],
                   responses=api_errors())

MAX_DAYS = 90
_PREFIX = "v1:"


def _any_digits(value):
    return latin_digits(value).strip() if isinstance(value, str) else value


DueWithinDays = Annotated[int, BeforeValidator(_any_digits), Query(
    ge=0, le=MAX_DAYS, description=f"from the store's today through this many days ahead, "
                                   f"0–{MAX_DAYS}, in any digits (۷ or 7)")]


def encode_cursor(key: tuple[date, int, int]) -> str:
    raw = f"{_PREFIX}{key[0].isoformat()}:{key[1]}:{key[2]}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[date, int, int]:
    """The listing key the previous page ended at (opaque to clients)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith(_PREFIX):
            raise ValueError
        day, contact_id, product_id = raw[len(_PREFIX):].split(":")
        return date.fromisoformat(day), int(contact_id), int(product_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("cursor: not a cursor this API gave (pass next_cursor back as it "
                            "is)") from None


@router.get("", response_model=ReplenishmentPage,
            summary="Customers whose predicted reorder of a product falls within the next N "
                    "days (or is overdue by less than their interval), soonest first")
def due(store: StoreDep, session: SessionDep, now: NowDep, due_within_days: DueWithinDays = 7,
        limit: Limit = 50, cursor: Cursor = None) -> dict:
    after = decode_cursor(cursor) if cursor is not None else None
    found = replenish.due_within(session, store=store, now=now, days=due_within_days)
    if after is not None:
        found = [p for p in found if p.key > after]
    today = local_today(store.timezone, now)
    items = [ReplenishmentOut.model_validate(asdict(p) | {
        "days_until": (p.predicted - today).days}) for p in found[:limit]]
    more = len(found) > limit
    return dict(items=items, next_cursor=encode_cursor(found[limit - 1].key) if more else None)
