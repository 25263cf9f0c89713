"""People («افراد»): the store's members and their signed-in browsers. Owners add and remove
members and end any session; a member ends their own."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.dashboard import members, sessions
from app.dashboard.auth import COOKIE, COOKIE_PATH, FormDep, PanelDep, PanelNotFound, PostDep
from app.dashboard.devices import device
from app.dashboard.forms import Form, Problem
from app.dashboard.models import MEMBER, ROLES
from app.dashboard.views import FORM_REFUSED, page, redirect
from app.deps import NowDep, SessionDep
from app.errors import DomainError

router = APIRouter(prefix="/panel/people", include_in_schema=False)

_NOTICES = {"added", "removed", "ended"}
# Service codes worded on the page, next to the field they are about.
_FIELDS = {"invalid_phone": ("phone", "phone_invalid"), "member_exists": ("phone", "member_exists"),
           "name_required": ("name", "required"), "name_too_long": ("name", "too_long"),
           "name_invalid": ("name", "not_accepted"),
           "invalid_role": ("role", "not_accepted"), "last_owner": ("member", "last_owner"),
           "cannot_remove_self": ("member", "cannot_remove_self")}


def _page(request: Request, current, session, now, *, problems=(), values=None,
          ok: str | None = None, status_code: int = 200) -> Response:
    live = [(row, member, device(row.user_agent))
            for row, member in sessions.live_sessions(session, current.store.id, now=now)]
    return page(request, "people.html", panel=current, nav="people", status_code=status_code,
                members=members.list_members(session, current.store.id), sessions=live,
                problems=list(problems), values=values or {"role": MEMBER},
                ok=ok if ok in _NOTICES else None)


def _problem(exc: DomainError) -> Problem:
    field, code = _FIELDS.get(exc.code, ("", "not_accepted"))
    return Problem(field, code, {"max": members.MAX_NAME, "detail": exc.message})


def _owner(current) -> None:
    if not current.is_owner:
        raise PanelNotFound()  # a member has no such page


@router.get("")
def people_page(request: Request, current: PanelDep, session: SessionDep,
                now: NowDep) -> Response:
    return _page(request, current, session, now, ok=request.query_params.get("ok"))


@router.post("")
def add_member(request: Request, current: PostDep, session: SessionDep, form: FormDep,
               now: NowDep) -> Response:
    _owner(current)
    fields = Form(form)
    values = {"phone": fields.raw("phone")[:64], "name": fields.raw("name")[:members.MAX_NAME],
              "role": fields.raw("role") if fields.raw("role") in ROLES else MEMBER}
    try:
        members.add_member(session, store_id=current.store.id, phone=values["phone"],
                           name=values["name"], role=values["role"], now=now)
    except DomainError as exc:
        return _page(request, current, session, now, problems=[_problem(exc)], values=values,
                     status_code=FORM_REFUSED)
    return redirect("/panel/people?ok=added")


def _id(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise PanelNotFound()
    return int(value)


@router.post("/{member_id}/remove")
def remove_member(member_id: str, request: Request, current: PostDep, session: SessionDep,
                  now: NowDep) -> Response:
    _owner(current)
    try:
        members.remove_member(session, store_id=current.store.id, member_id=_id(member_id),
                              by=current.member)
    except members.MemberNotFound:
        raise PanelNotFound() from None
    except DomainError as exc:
        return _page(request, current, session, now, problems=[_problem(exc)],
                     status_code=FORM_REFUSED)
    return redirect("/panel/people?ok=removed")


@router.post("/sessions/end")
def end_session(request: Request, current: PostDep, session: SessionDep, form: FormDep,
                now: NowDep) -> Response:
    chosen = str(form.get("session") or "")
    whose = next((member for row, member in sessions.live_sessions(
        session, current.store.id, now=now) if row.id == chosen), None)
    if whose is None or not (current.is_owner or whose.id == current.member.id):
        raise PanelNotFound()
    sessions.end_session(session, store_id=current.store.id, id_=chosen, now=now)
    if chosen == current.session_id:
        response = redirect("/panel/login?reason=signed_out")
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
        return response
    return redirect("/panel/people?ok=ended")
