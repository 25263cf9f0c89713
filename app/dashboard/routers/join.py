"""A join link (/panel/join/<token>): a phone and a name, a code sent to that phone, and the
phone becomes an owner of the link's store (app/dashboard/join.py)."""

from fastapi import BackgroundTasks, Request
from fastapi.responses import Response
from fastapi.routing import APIRouter

from app.dashboard import auth, join
from app.dashboard.auth import FormDep, KeyDep
from app.dashboard.forms import Form, Problem
from app.dashboard.members import MAX_NAME
from app.dashboard.routers.auth import (
    ask_and_send,
    limited,
    sign_in_page,
    to_code_page,
    too_many,
)
from app.dashboard.views import FORM_REFUSED
from app.deps import NowDep, SessionDep

router = APIRouter(prefix="/panel", include_in_schema=False)


def _join_page(request: Request, token: str, store, *, problems=(), values=None,
               status_code: int = 200) -> Response:
    return sign_in_page(request, "join.html", status_code=status_code, token=token,
                        joining_store=store, problems=list(problems), values=values or {})


@router.get("/join/{token}")
def join_form(token: str, request: Request, session: SessionDep, now: NowDep) -> Response:
    found = join.find(session, token, now=now)
    return _join_page(request, token, found[1] if found else None,
                      status_code=200 if found else 404)


@router.post("/join/{token}")
def join_ask_code(token: str, request: Request, key: KeyDep, session: SessionDep,
                  form: FormDep, now: NowDep, tasks: BackgroundTasks) -> Response:
    found = join.find(session, token, now=now)
    if found is None:
        return _join_page(request, token, None, status_code=404)
    link, store = found
    fields = Form(form)
    values = {"phone": fields.raw("phone")[:64], "name": fields.raw("name")[:MAX_NAME]}
    if not auth.login_csrf_ok(request, fields.raw("csrf")):
        return _join_page(request, token, store, problems=[Problem("phone", "login_expired")],
                          values=values, status_code=403)
    phone = fields.phone("phone")
    name = fields.text("name", required=True, max_length=MAX_NAME)
    if phone is None or name is None:
        return _join_page(request, token, store, problems=fields.problems, values=values,
                          status_code=FORM_REFUSED)
    asked = ask_and_send(request, session, key, tasks, phone=phone, now=now, join_id=link.id,
                         name=name)
    if asked.limited:
        return limited(_join_page(request, token, store, values=values, status_code=429,
                                  problems=[too_many("phone", asked.limited)]), asked.limited)
    return to_code_page(request, key, asked, phone=phone, now=now, next_url="/panel",
                        join_token=token, name=name)
