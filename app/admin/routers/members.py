"""The people who may sign in to the store's panel (app/dashboard/members.py owns the rules):
how an integrating developer or the platform adds the first owner, or anyone after."""

from fastapi import APIRouter, Response

from app.admin.schemas import MemberIn, MemberOut, MembersOut
from app.dashboard import members
from app.deps import NowDep, PathId, SessionDep, StoreDep
from app.errors import api_errors

router = APIRouter(prefix="/api/v1/store/members", tags=["admin: store"],
                   responses=api_errors())


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
