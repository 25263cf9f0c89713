"""The store API's members endpoints (`/api/v1/store/members`, the store's API key): how an
integrating developer or the platform adds the first owner of a store's panel, or anyone after.

Here beside the rules they call (app/dashboard/members.py), not in app/admin/routers: the
dashboard imports app/admin, so app/admin cannot import the dashboard back.
"""

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from app.dashboard import members
from app.deps import NowDep, PathId, SessionDep, StoreDep
from app.errors import api_errors

router = APIRouter(prefix="/api/v1/store/members", tags=["admin: store"],
                   responses=api_errors())


class MemberIn(BaseModel):
    """A person who may sign in to the store's panel with this phone and a code sent by SMS."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"phone": "09121234567", "name": "سارا", "role": "member"}]})

    phone: str = Field(max_length=64, description="a mobile number, any digits: 0912…, "
                                                  "+98912…, 0098912…, ۰۹۱۲…")
    name: str = Field(max_length=100)
    role: Literal["owner", "member"] = Field("member", description="owners add and remove "
                                                                   "people on the panel")


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "id": 3, "phone": "+989121234567", "name": "سارا", "role": "member",
        "created_at": "2026-12-01T09:00:00Z", "last_signed_in_at": None}]})

    id: int
    phone: str = Field(description="E.164")
    name: str
    role: Literal["owner", "member"]
    created_at: datetime
    last_signed_in_at: datetime | None


class MembersOut(BaseModel):
    items: list[MemberOut]


@router.get("", response_model=MembersOut, summary="The panel's members")
def list_members(store: StoreDep, session: SessionDep) -> dict:
    return {"items": members.list_members(session, store.id)}


@router.post("", status_code=201, response_model=MemberOut, responses=api_errors(409),
             summary="Add a panel member (409 member_exists; 422 invalid_phone)")
def add_member(body: MemberIn, store: StoreDep, session: SessionDep, now: NowDep):
    return members.add_member(session, store_id=store.id, phone=body.phone, name=body.name,
                              role=body.role, now=now)


@router.delete("/{member_id}", status_code=204, responses=api_errors(404, 409),
               summary="Remove a panel member: their sessions end at once (409 last_owner)")
def remove_member(member_id: PathId, store: StoreDep, session: SessionDep) -> Response:
    members.remove_member(session, store_id=store.id, member_id=member_id)
    return Response(status_code=204)
