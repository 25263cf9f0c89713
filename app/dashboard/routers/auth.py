"""Signing in with a phone and a one-time SMS code, picking the store, and signing out.

/panel/login asks for the phone → /panel/login/code asks for the code sent to it (the phone
rides in a signed cookie) → the session cookie, or first /panel/login/store when the phone is a
member of several stores. Join links (routers/join.py) hand over to the same code page.
"""

import math

from fastapi import BackgroundTasks, Request
from fastapi.responses import Response
from fastapi.routing import APIRouter

from app.dashboard import auth, codes, join, signin
from app.dashboard.auth import (
    COOKIE,
    COOKIE_PATH,
    LOGIN_COOKIE,
    PENDING_COOKIE,
    FormDep,
    KeyDep,
    PostDep,
)
from app.dashboard.forms import Form, Problem
from app.dashboard.models import PanelMember
from app.dashboard.sessions import end_session, open_session
from app.dashboard.views import FORM_REFUSED, page, redirect, text
from app.deps import NowDep, SessionDep
from app.digits import persian_digits
from app.messaging.gateway import ConsoleGateway
from app.ratelimit import client_ip
from app.stores.models import Store

router = APIRouter(prefix="/panel", include_in_schema=False)

LOGIN_PATH = "/panel/login"
CODE_PATH = "/panel/login/code"
PENDING_AGE = 15 * 60  # seconds the code page remembers the phone
CHOICE_AGE = 10 * 60  # seconds a proven phone may take to pick its store
_REASONS = {"expired", "invalid", "disabled", "signed_out", "ended"}


def secure(request: Request) -> bool:
    return (request.url.scheme == "https"
            or request.app.state.settings.public_url.startswith("https://"))


def safe_next(target: str | None) -> str:
    """Only a page of the panel itself (no open redirect through the sign-in forms)."""
    if (target and target.startswith("/panel") and not target.startswith("//")
            and "\\" not in target and not target.startswith(LOGIN_PATH)
            and not target.startswith("/panel/join")):
        return target
    return "/panel"


def sign_in_page(request: Request, template: str, *, status_code: int = 200,
                 **context) -> Response:
    """A page of the sign-in, with the forms' double-submit token (cookie and field)."""
    token = auth.login_token(request)
    response = page(request, template, status_code=status_code, login_token=token, **context)
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, path=COOKIE_PATH, httponly=True,
                        samesite="lax", secure=secure(request))
    return response


def _phone_page(request: Request, *, problems=(), reason=None, next_url=None, phone="",
                status_code=200) -> Response:
    return sign_in_page(request, "login.html", status_code=status_code,
                        problems=list(problems), reason=reason, next_url=safe_next(next_url),
                        phone=phone)


def too_many(field: str, wait: int) -> Problem:
    return Problem(field, "too_many_codes", {"minutes": persian_digits(math.ceil(wait / 60))})


def limited(response: Response, wait: int) -> Response:
    response.headers["Retry-After"] = str(wait)
    return response


def ask_and_send(request: Request, session, key: bytes, tasks: BackgroundTasks, *, phone: str,
                 now, join_id: str | None = None, name: str | None = None) -> signin.Asked:
    """Ask for a code and send it if it is due: after the code's row is committed, so that no
    transaction is open while the gateway is called, and after the answer has gone: a real
    gateway's round trip would otherwise make a member's phone answer measurably slower than a
    stranger's (who gets no SMS), telling anyone who times it whose phone has a panel. The
    console gateway writes a local row and nothing else: it is called at once, so a developer
    (or a test) finds the code as soon as the page answers."""
    asked = signin.ask_code(session, key, request.app.state.limiter, phone=phone,
                            ip=client_ip(request), now=now, join_id=join_id, name=name)
    if asked.issued is not None:
        session.commit()
        if asked.deliver:
            sms = text("login_code.txt", code=asked.issued.code)
            gateway = request.app.state.gateways.platform()
            if isinstance(gateway, ConsoleGateway):
                codes.send(gateway, asked.issued, sms)
            else:
                tasks.add_task(codes.send, gateway, asked.issued, sms)
    return asked


def to_code_page(request: Request, key: bytes, asked: signin.Asked, *, phone: str, now,
                 next_url: str, join_token: str | None = None,
                 name: str | None = None) -> Response:
    response = redirect(CODE_PATH + (f"?wait={asked.wait}" if asked.wait else ""))
    pending = auth.sign(key, "pending", {"p": phone, "n": next_url, "j": join_token,
                                         "name": name}, now=now)
    response.set_cookie(PENDING_COOKIE, pending, max_age=PENDING_AGE, path=LOGIN_PATH,
                        httponly=True, samesite="lax", secure=secure(request))
    return response


@router.get("/login")
def login_form(request: Request, key: KeyDep, session: SessionDep, now: NowDep,
               reason: str | None = None, next: str | None = None) -> Response:
    try:
        auth.read_panel(session, key, request.cookies.get(COOKIE), now=now)
    except auth.LoginRequired:
        return _phone_page(request, reason=reason if reason in _REASONS else None,
                           next_url=next)
    return redirect(safe_next(next))


@router.post("/login")
def ask_for_code(request: Request, key: KeyDep, session: SessionDep, form: FormDep,
                 now: NowDep, tasks: BackgroundTasks) -> Response:
    fields = Form(form)
    next_url = safe_next(fields.raw("next"))
    if not auth.login_csrf_ok(request, fields.raw("csrf")):
        return _phone_page(request, problems=[Problem("phone", "login_expired")],
                           next_url=next_url, status_code=403)
    phone = fields.phone("phone")
    if phone is None:
        return _phone_page(request, problems=fields.problems, next_url=next_url,
                           phone=fields.raw("phone")[:64], status_code=FORM_REFUSED)
    asked = ask_and_send(request, session, key, tasks, phone=phone, now=now)
    if asked.limited:
        return limited(_phone_page(request, problems=[too_many("phone", asked.limited)],
                                   next_url=next_url, phone=fields.raw("phone")[:64],
                                   status_code=429), asked.limited)
    return to_code_page(request, key, asked, phone=phone, now=now, next_url=next_url)


def _pending(request: Request, key: bytes, now) -> dict | None:
    return auth.unsign(key, "pending", request.cookies.get(PENDING_COOKIE), now=now,
                       max_age=PENDING_AGE)


def _code_page(request: Request, pending: dict, *, problems=(), wait: int | None = None,
               status_code: int = 200) -> Response:
    return sign_in_page(request, "login_code.html", status_code=status_code,
                        problems=list(problems), phone=pending["p"], wait=wait,
                        joining=bool(pending.get("j")))


@router.get("/login/code")
def code_form(request: Request, key: KeyDep, now: NowDep, wait: str | None = None) -> Response:
    pending = _pending(request, key, now)
    if pending is None:
        return redirect(LOGIN_PATH)
    seconds = int(wait) if wait and wait.isdigit() and len(wait) <= 3 else None
    return _code_page(request, pending, wait=seconds)


def _pending_post(request: Request, key: bytes, now, csrf: str) -> dict | Response:
    """The sign-in a POST on the code page goes on with, or where to send the browser instead:
    back to the phone form when there is none, the code page with a 403 when the form's token
    is stale."""
    pending = _pending(request, key, now)
    if pending is None:
        return redirect(LOGIN_PATH)
    if not auth.login_csrf_ok(request, csrf):
        return _code_page(request, pending, problems=[Problem("code", "login_expired")],
                          status_code=403)
    return pending


@router.post("/login/resend")
def resend(request: Request, key: KeyDep, session: SessionDep, form: FormDep,
           now: NowDep, tasks: BackgroundTasks) -> Response:
    pending = _pending_post(request, key, now, str(form.get("csrf") or ""))
    if isinstance(pending, Response):
        return pending
    join_id = None
    if pending.get("j"):
        found = join.find(session, pending["j"], now=now)
        if found is None:
            return redirect(join.link_path(pending["j"]))  # shows that the link is over
        join_id = found[0].id
    asked = ask_and_send(request, session, key, tasks, phone=pending["p"], now=now,
                         join_id=join_id,
                         name=pending.get("name"))
    if asked.limited:
        return limited(_code_page(request, pending, problems=[too_many("code", asked.limited)],
                                  status_code=429), asked.limited)
    return to_code_page(request, key, asked, phone=pending["p"], now=now, next_url=pending["n"],
                        join_token=pending.get("j"), name=pending.get("name"))


@router.post("/login/code")
def check_code(request: Request, key: KeyDep, session: SessionDep, form: FormDep,
               now: NowDep) -> Response:
    fields = Form(form)
    pending = _pending_post(request, key, now, fields.raw("csrf"))
    if isinstance(pending, Response):
        return pending
    if not fields.raw("code").strip():
        return _code_page(request, pending, problems=[Problem("code", "required")],
                          status_code=FORM_REFUSED)
    try:
        found = signin.members_of_code(session, key, phone=pending["p"],
                                       typed=fields.raw("code")[:40], now=now)
    except codes.CodeRefused as exc:
        left = {"left": persian_digits(exc.left)}
        return _code_page(request, pending, problems=[Problem("code", f"code_{exc.reason}",
                                                              left)],
                          status_code=FORM_REFUSED)
    except signin.JoinLinkUsed:
        return _code_page(request, pending, problems=[Problem("code", "join_used")],
                          status_code=FORM_REFUSED)
    if not found:
        return _code_page(request, pending, problems=[Problem("code", "not_a_member")],
                          status_code=FORM_REFUSED)
    if len(found) == 1:
        return _signed_in(request, session, found[0][0], next_url=pending["n"], now=now)
    ticket = auth.sign(key, "choice", {"p": pending["p"]}, now=now)
    return sign_in_page(request, "login_store.html", choices=found, ticket=ticket,
                        next_url=safe_next(pending["n"]))


@router.post("/login/store")
def choose_store(request: Request, key: KeyDep, session: SessionDep, form: FormDep,
                 now: NowDep) -> Response:
    fields = Form(form)
    proven = auth.unsign(key, "choice", fields.raw("ticket"), now=now, max_age=CHOICE_AGE)
    chosen = fields.raw("member")
    if (not auth.login_csrf_ok(request, fields.raw("csrf")) or proven is None
            or not chosen.isdigit() or len(chosen) > 18):
        return _phone_page(request, problems=[Problem("phone", "login_expired")],
                           status_code=403)
    member = session.get(PanelMember, int(chosen))
    store = session.get(Store, member.store_id) if member is not None else None
    if member is None or store is None or member.phone != proven["p"] or not store.enabled:
        return _phone_page(request, problems=[Problem("phone", "login_expired")],
                           status_code=403)
    return _signed_in(request, session, member, next_url=fields.raw("next"), now=now)


def _signed_in(request: Request, session, member: PanelMember, *, next_url: str,
               now) -> Response:
    token = open_session(session, member, user_agent=request.headers.get("user-agent", ""),
                         now=now)
    response = redirect(safe_next(next_url))
    response.set_cookie(COOKIE, token, max_age=auth.MAX_AGE, path=COOKIE_PATH, httponly=True,
                        samesite="lax", secure=secure(request))
    response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
    response.delete_cookie(PENDING_COOKIE, path=LOGIN_PATH)
    return response


@router.post("/logout")
def logout(current: PostDep, session: SessionDep, now: NowDep) -> Response:
    end_session(session, store_id=current.store.id, id_=current.session_id, now=now)
    response = redirect("/panel/login?reason=signed_out")
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response

