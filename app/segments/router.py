"""The admin API's segments (`/api/v1/segments`): the edge of app/segments/service.py."""

from fastapi import APIRouter

from app.contacts.phones import mask_phone
from app.deps import NowDep, SessionDep, StoreDep
from app.errors import api_errors
from app.pagination import Cursor, Limit, Page, decode_cursor, encode_cursor, page
from app.segments import service
from app.segments.deps import SegmentDep
from app.segments.models import Segment
from app.segments.schemas import (
    SAMPLE_SIZE,
    Deleted,
    MemberOut,
    PreviewOut,
    PreviewRequest,
    SegmentCreate,
    SegmentOut,
    SegmentPatch,
)
from app.segments.service import Member

router = APIRouter(prefix="/api/v1/segments", tags=["admin: segments"], responses=api_errors())


def member_out(member: Member, *, masked: bool) -> MemberOut:
    person, bought = member.person, member.purchases
    return MemberOut(contact_id=person.id, first_name=person.first_name,
                     last_name=person.last_name,
                     phone=mask_phone(person.phone) if masked else person.phone,
                     orders=bought.orders if bought else 0, spent=bought.spent if bought else 0,
                     last_order_at=bought.last_at if bought else None)


def segment_out(segment: Segment) -> SegmentOut:
    return SegmentOut(id=segment.id, name=segment.name,
                      definition=service.definition_of(segment),
                      created_at=segment.created_at, updated_at=segment.updated_at)


@router.post("/preview", response_model=PreviewOut,
             summary="How many contacts a definition holds now, and the first "
                     f"{SAMPLE_SIZE} (nothing is saved)")
def preview(body: PreviewRequest, store: StoreDep, session: SessionDep, now: NowDep) -> PreviewOut:
    found = service.preview(session, store=store, definition=body.definition, now=now)
    return PreviewOut(size=len(found),
                      sample=[member_out(m, masked=True) for m in found[:SAMPLE_SIZE]])


@router.get("", response_model=Page[SegmentOut], summary="The store's segments, newest first")
def list_segments(store: StoreDep, session: SessionDep, limit: Limit = 50,
                  cursor: Cursor = None) -> dict:
    rows, next_cursor = page(session, service.segments_of_store(store.id), Segment.id,
                             limit=limit, cursor=cursor)
    return dict(items=[segment_out(s) for (s,) in rows], next_cursor=next_cursor)


@router.post("", status_code=201, response_model=SegmentOut, responses=api_errors(409),
             summary="Save a segment (its name must be new in the store: else 409 "
                     "segment_name_taken)")
def create_segment(data: SegmentCreate, store: StoreDep, session: SessionDep,
                   now: NowDep) -> SegmentOut:
    return segment_out(service.create_segment(session, store=store, data=data, now=now))


@router.get("/{segment_id}", response_model=SegmentOut, responses=api_errors(404))
def get_segment(segment: SegmentDep) -> SegmentOut:
    return segment_out(segment)


@router.patch("/{segment_id}", response_model=SegmentOut, responses=api_errors(404, 409),
              summary="Rename it or replace its definition")
def update_segment(segment: SegmentDep, patch: SegmentPatch, store: StoreDep,
                   session: SessionDep, now: NowDep) -> SegmentOut:
    return segment_out(service.update_segment(session, store=store, segment=segment,
                                              patch=patch, now=now))


@router.delete("/{segment_id}", response_model=Deleted, responses=api_errors(404))
def delete_segment(segment: SegmentDep, session: SessionDep) -> dict:
    service.delete_segment(session, segment=segment)
    return dict(deleted=True)


@router.get("/{segment_id}/contacts", response_model=Page[MemberOut], responses=api_errors(404),
            summary="The contacts in the segment now, newest first, with full phones")
def segment_contacts(segment: SegmentDep, store: StoreDep, session: SessionDep, now: NowDep,
                     limit: Limit = 50, cursor: Cursor = None) -> dict:
    last_id = decode_cursor(cursor) if cursor is not None else None
    found = service.members(session, store=store, definition=service.definition_of(segment),
                            now=now)
    rows, more = service.after(found, last_id, limit)
    return dict(items=[member_out(m, masked=False) for m in rows],
                next_cursor=encode_cursor(rows[-1].person.id) if more else None)
