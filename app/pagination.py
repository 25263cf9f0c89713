"""Cursor pagination: newest first by id, `id < cursor` for the next page. Never OFFSET, which
reads and throws away every row before the page, and skips or repeats rows arriving meanwhile."""

import base64
import binascii
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select
from sqlalchemy.orm import Session

from app.errors import DomainError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_PREFIX = "v1:"


class InvalidCursor(DomainError, status=422, code="invalid_cursor"):
    pass


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id the previous page ended at. The cursor is opaque to clients: it may change shape."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith(_PREFIX):
            raise ValueError
        last_id = int(raw[len(_PREFIX):])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("cursor: not a cursor this API gave (pass next_cursor back as it "
                            "is)") from None
    if not 1 <= last_id <= 2**63 - 1:
        raise InvalidCursor("cursor: not a cursor this API gave")
    return last_id


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")]
Cursor = Annotated[str | None, Query(max_length=64, description="next_cursor of the previous page")]


def page(session: Session, query: Select, id_column, *, limit: int,
         cursor: str | None) -> tuple[list, str | None]:
    """One page of `query` (rows whose first entity carries `id_column`) and the next cursor."""
    if cursor is not None:
        query = query.where(id_column < decode_cursor(cursor))
    rows = list(session.execute(query.order_by(id_column.desc()).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1][0].id) if more else None


# -- the answer's shape ------------------------------------------------------------------------

T = TypeVar("T")


def _example_of(model: type[BaseModel]) -> dict:
    extra = model.model_config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    return examples[0] if isinstance(examples, list) and isinstance(examples[0], dict) else {}


def _page_example(schema: dict, model: type[BaseModel]) -> None:
    args = getattr(model, "__pydantic_generic_metadata__", {}).get("args") or ()
    if args:
        schema["examples"] = [{"items": [_example_of(args[0])], "next_cursor": "djE6MTIz"}]


class Page(BaseModel, Generic[T]):
    """Newest first (by id). Pass `next_cursor` back as `cursor` for the next page (null: no
    more)."""

    model_config = ConfigDict(json_schema_extra=_page_example)

    items: list[T]
    next_cursor: str | None = Field(None, examples=["djE6MTIz"])
