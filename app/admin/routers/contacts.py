"""Contacts: search, history, consent by hand, blacklist import."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from app.admin import contacts
from app.admin.schemas import (
    BlacklistReport,
    ContactDetail,
    ContactOut,
    PhoneIn,
)
from app.deps import NowDep, PathId, SessionDep, StoreDep
from app.errors import DomainError, api_errors
from app.pagination import Cursor, Limit, Page

router = APIRouter(prefix="/api/v1/contacts", tags=["admin: contacts"], responses=api_errors())

_CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/octet-stream",
              "application/vnd.ms-excel", "text/comma-separated-values")


async def csv_body(request: Request) -> bytes:
    """The uploaded file, sent as the request body itself (not a multipart form)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _CSV_TYPES:
        raise DomainError("send the file itself as the body with Content-Type: text/csv (not a "
                          "form upload)", code="unsupported_media_type", status_code=415)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > contacts.MAX_BLACKLIST_BYTES:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > contacts.MAX_BLACKLIST_BYTES:
            raise _too_large()
    return bytes(body)


def _too_large() -> DomainError:
    return DomainError(f"the file is larger than {contacts.MAX_BLACKLIST_BYTES // 2**20} MiB: "
                       "split it", code="payload_too_large", status_code=413)


@router.get("", response_model=Page[ContactOut],
            summary="Contacts, newest first; `phone` finds one by its number in any digit form")
def search_contacts(store: StoreDep, session: SessionDep,
                    phone: Annotated[str | None, Query(max_length=64, examples=["۰۹۱۲۱۲۳۴۵۶۷"])]
                    = None,
                    opted_out: bool | None = None, limit: Limit = 50,
                    cursor: Cursor = None) -> dict:
    found, next_cursor = contacts.search(session, store=store, phone=phone, opted_out=opted_out,
                                         limit=limit, cursor=cursor)
    return dict(items=[ContactOut.model_validate(c) for c in found], next_cursor=next_cursor)


@router.post("/opt-out", response_model=ContactOut,
             summary="Opt a phone out by hand, known or not (no SMS will ever reach it)")
def opt_out_phone(body: PhoneIn, store: StoreDep, session: SessionDep, now: NowDep) -> ContactOut:
    contact = contacts.opt_out_phone(session, store=store, phone=body.phone, now=now)
    return ContactOut.model_validate(contact)


@router.post("/blacklist", response_model=BlacklistReport, responses=api_errors(400, 413, 415),
             summary="Import a blacklist: a CSV (or one phone per line) sent as the body; every "
                     "phone is opted out",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "text/csv": {"schema": {"type": "string"},
                              "example": "phone\n09121234567\n+98 912 765 4321\n"},
                 "text/plain": {"schema": {"type": "string"},
                                "example": "۰۹۱۲۱۲۳۴۵۶۷\n09127654321\n"}}}})
def import_blacklist(store: StoreDep, session: SessionDep,
                     data: Annotated[bytes, Depends(csv_body)], now: NowDep) -> dict:
    report = contacts.import_blacklist(session, store=store, data=data, now=now)
    return report.__dict__


@router.get("/{contact_id}", response_model=ContactDetail, responses=api_errors(404),
            summary="A contact with its messages (clicks included), orders and consent events")
def get_contact(contact_id: PathId, store: StoreDep, session: SessionDep) -> dict:
    contact = contacts.get_contact(session, store=store, contact_id=contact_id)
    found = contacts.history(session, contact=contact)
    return ContactOut.model_validate(contact).model_dump() | dict(
        messages=found.messages, orders=found.orders, consent_events=found.consent_events)


@router.post("/{contact_id}/opt-out", response_model=ContactOut, responses=api_errors(404),
             summary="Opt the contact out by hand")
def opt_out(contact_id: PathId, store: StoreDep, session: SessionDep, now: NowDep) -> ContactOut:
    return ContactOut.model_validate(contacts.set_contact_consent(
        session, store=store, contact_id=contact_id, opted_in=False, now=now))


@router.post("/{contact_id}/opt-in", response_model=ContactOut, responses=api_errors(404),
             summary="Opt the contact back in by hand (only with the customer's consent)")
def opt_in(contact_id: PathId, store: StoreDep, session: SessionDep, now: NowDep) -> ContactOut:
    return ContactOut.model_validate(contacts.set_contact_consent(
        session, store=store, contact_id=contact_id, opted_in=True, now=now))
