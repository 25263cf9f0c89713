"""Contacts: find a phone in any digit form, see what bazgasht sent it, opt it out or in."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.admin import contacts
from app.dashboard.auth import FormDep, PanelDep, PanelNotFound, PostDep
from app.dashboard.forms import Form
from app.dashboard.views import FORM_REFUSED, page, redirect
from app.deps import NowDep, SessionDep
from app.errors import NotFound
from app.pagination import InvalidCursor

router = APIRouter(prefix="/panel/contacts", include_in_schema=False)

PAGE = 50


def _contact(session, current, contact_id: str):
    if not contact_id.isdigit() or len(contact_id) > 18:
        raise PanelNotFound()
    try:
        return contacts.get_contact(session, store=current.store, contact_id=int(contact_id))
    except NotFound:
        raise PanelNotFound() from None


@router.get("")
def contacts_page(request: Request, current: PanelDep, session: SessionDep) -> Response:
    params = request.query_params
    phone = (params.get("phone") or "").strip()
    problems, found, next_cursor = [], [], None
    opted_out = {"1": True, "0": False}.get(params.get("opted_out", ""))
    checks = Form({"phone": phone})
    e164 = checks.phone("phone") if phone else None
    problems = checks.problems
    if not problems:
        cursor = params.get("cursor") or None
        try:
            found, next_cursor = contacts.search(session, store=current.store, phone=e164,
                                                 opted_out=opted_out, limit=PAGE,
                                                 cursor=cursor if cursor and len(cursor) <= 64
                                                 else None)
        except InvalidCursor:
            found, next_cursor = [], None
    return page(request, "contacts.html", panel=current, nav="contacts", phone=phone,
                contacts=found, next_cursor=next_cursor, problems=problems,
                opted_out=params.get("opted_out", ""), searched=bool(phone),
                ok=params.get("ok"), e164=e164)


@router.post("/opt-out")
def opt_out_phone(request: Request, current: PostDep, session: SessionDep,
                  form: FormDep, now: NowDep) -> Response:
    """Opt a phone out, known or not (an unknown one is never texted from then on)."""
    checks = Form(form)
    phone = checks.phone("opt_out_phone")
    if phone is None:
        return page(request, "contacts.html", status_code=FORM_REFUSED, panel=current, nav="contacts",
                    phone="", contacts=[], next_cursor=None, searched=False, opted_out="",
                    ok=None, e164=None, problems=checks.problems,
                    opt_out_phone=checks.raw("opt_out_phone"))
    contact = contacts.opt_out_phone(session, store=current.store, phone=phone, now=now)
    return redirect(f"/panel/contacts/{contact.id}?ok=opted_out")


@router.get("/{contact_id}")
def contact_page(contact_id: str, request: Request, current: PanelDep,
                 session: SessionDep) -> Response:
    contact = _contact(session, current, contact_id)
    history = contacts.history(session, contact=contact)
    return page(request, "contact.html", panel=current, nav="contacts", contact=contact,
                history=history, ok=request.query_params.get("ok"))


@router.post("/{contact_id}/opt-out")
def opt_out(contact_id: str, current: PostDep, session: SessionDep, now: NowDep) -> Response:
    return _set_consent(session, current, contact_id, opted_in=False, now=now)


@router.post("/{contact_id}/opt-in")
def opt_in(contact_id: str, current: PostDep, session: SessionDep, now: NowDep) -> Response:
    return _set_consent(session, current, contact_id, opted_in=True, now=now)


def _set_consent(session, current, contact_id: str, *, opted_in: bool, now) -> Response:
    contact = _contact(session, current, contact_id)
    contacts.set_contact_consent(session, store=current.store, contact_id=contact.id,
                                 opted_in=opted_in, now=now)
    return redirect(f"/panel/contacts/{contact.id}?ok={'opted_in' if opted_in else 'opted_out'}")
