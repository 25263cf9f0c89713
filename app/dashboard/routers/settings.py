"""Settings: sending hours and days, caps, the attribution window, the SMS gateway (write-only
credentials and a connection check), WooCommerce keys, alerts, the webhook and the API key."""

from typing import get_args

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import object_session

from app import outbound
from app.admin import service
from app.admin.schemas import StoreSettingsPatch
from app.connection import service as connection
from app.dashboard import auth
from app.dashboard.auth import FormDep, PanelDep, PanelNotFound, PostDep
from app.dashboard.forms import Form, Problem, from_service, plain_number
from app.dashboard.views import FORM_REFUSED, page, redirect
from app.deps import NowDep, SessionDep, SettingsDep
from app.errors import DomainError
from app.ingest.service import connection_health
from app.messaging.deps import GatewaysDep
from app.messaging.gateway import GatewayError
from app.messaging.kavenegar_push import receive_url_for
from app.messaging.providers import PROVIDERS, Choice
from app.stores.plugin import connection_code
from app.stores.service import rotate_webhook_secret as rotate
from app.stores.service import webhook_url

CHOICES = get_args(Choice)

router = APIRouter(prefix="/panel/settings", include_in_schema=False)

# The Persian week starts on Saturday; the store keeps 0 = Monday … 6 = Sunday.
WEEK = (5, 6, 0, 1, 2, 3, 4)
SECTIONS = ("sending", "gateway", "woocommerce", "alerts")


def _values(store) -> dict:
    """What the forms show: the store's settings (secrets only as set / not set)."""
    return {"send_from": _clock(store.send_from_minute),
            "send_until": _clock(store.send_until_minute),
            "weekdays": list(store.send_weekdays or []), "cap_per_day": str(store.cap_per_day),
            "cap_per_week": str(store.cap_per_week),
            "attribution_window_days": str(store.attribution_window_days),
            "opt_out_text": store.opt_out_text, "sms_provider": store.sms_provider,
            "sms_sender": store.sms_sender or "",
            "sms_fallback_provider": store.sms_fallback_provider or "",
            "sms_fallback_sender": store.sms_fallback_sender or "",
            "alert_phone": store.alert_phone or "",
            "alert_webhook_url": store.alert_webhook_url or ""}


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _page(request, current, settings, *, values=None, problems=(), section=None,
          status_code=200, **extra) -> Response:
    store = current.store
    # The request's own session (the panel's dependency loaded the store through it).
    session = object_session(store)
    assert session is not None
    health = connection_health(session, store_id=store.id)
    return page(request, "settings.html", status_code=status_code, panel=current,
                nav="settings", values=values or _values(store), problems=list(problems),
                section=section, week=WEEK, webhook_url=webhook_url(settings.public_url, store.id),
                receive_url=receive_url_for(store, settings.public_url, auth.secret_key(request)),
                health=health, connection=connection.topic_results(session, store.id),
                connect=request.query_params.get("connect"),
                connect_success=request.query_params.get("success"),
                ok=request.query_params.get("ok"), providers=PROVIDERS,
                **({"show_secret": False, "new_key": None,
                                                       "credit": None, "rotated": False}
                                                      | extra))


@router.get("")
def settings_page(request: Request, current: PanelDep, settings: SettingsDep) -> Response:
    return _page(request, current, settings)


def _sending(checks: Form, form) -> dict:
    changes = {"send_from_minute": checks.time("send_from"),
               "send_until_minute": checks.time("send_until", allow_end_of_day=True)}
    if None not in changes.values() and changes["send_from_minute"] >= changes["send_until_minute"]:
        checks.add("send_until", "window_order")
    days = sorted({int(d) for d in checks.many("weekday") if d in "0123456" and len(d) == 1})
    if not days:
        checks.add("weekday", "weekdays_none")
    changes["send_weekdays"] = days
    changes["cap_per_day"] = checks.integer("cap_per_day", low=1, high=10)
    changes["cap_per_week"] = checks.integer("cap_per_week", low=1, high=50)
    if changes["cap_per_day"] and changes["cap_per_week"] \
            and changes["cap_per_week"] < changes["cap_per_day"]:
        checks.add("cap_per_week", "cap_order")
    changes["attribution_window_days"] = checks.integer("attribution_window_days", low=1,
                                                        high=90)
    changes["opt_out_text"] = checks.text("opt_out_text", required=True, max_length=40)
    return changes


def _gateway(checks: Form, form, store) -> dict:
    provider = form.get("sms_provider")
    if provider not in CHOICES:
        checks.add("sms_provider", "required")
        return {}
    changes: dict = {"sms_provider": provider}
    api_key = checks.text("sms_api_key", max_length=200)
    if api_key is not None:
        if len(api_key) < 8:
            checks.add("sms_api_key", "too_short", min=8)
        changes["sms_api_key"] = api_key
    elif provider in PROVIDERS and (not store.sms_api_key or (
            store.sms_provider in PROVIDERS and store.sms_provider != provider)):
        checks.add("sms_api_key", "required")
    sender = checks.text("sms_sender", max_length=20)
    if sender is not None:
        sender = plain_number(sender)
        if not sender.lstrip("+").isdigit() or not 4 <= len(sender.lstrip("+")) <= 19:
            checks.add("sms_sender", "sender_invalid")
    changes["sms_sender"] = sender
    return changes | _second_gateway(checks, form, store, provider)


def _second_gateway(checks: Form, form, store, provider: str) -> dict:
    """The second provider, its key (kept when left empty) and line; none: removed."""
    second = form.get("sms_fallback_provider") or None
    if second is None:
        return {"sms_fallback_provider": None}
    if second not in PROVIDERS:
        checks.add("sms_fallback_provider", "required")
        return {}
    if second == provider:
        checks.add("sms_fallback_provider", "same_provider")
        return {}
    changes: dict = {"sms_fallback_provider": second}
    api_key = checks.text("sms_fallback_api_key", max_length=200)
    if api_key is not None:
        if len(api_key) < 8:
            checks.add("sms_fallback_api_key", "too_short", min=8)
        changes["sms_fallback_api_key"] = api_key
    elif not store.sms_fallback_api_key or store.sms_fallback_provider != second:
        checks.add("sms_fallback_api_key", "required")
    sender = checks.text("sms_fallback_sender", max_length=20)
    if sender is not None:
        sender = plain_number(sender)
        if not sender.lstrip("+").isdigit() or not 4 <= len(sender.lstrip("+")) <= 19:
            checks.add("sms_fallback_sender", "sender_invalid")
    changes["sms_fallback_sender"] = sender
    return changes


def _woocommerce(checks: Form, form) -> dict:
    if checks.checked("remove_keys"):
        return {"wc_consumer_key": None, "wc_consumer_secret": None}
    key = checks.text("wc_consumer_key", required=True, max_length=200)
    secret = checks.text("wc_consumer_secret", required=True, max_length=200)
    if key and not (key.startswith("ck_") and key[3:].isascii() and key[3:].isalnum()):
        checks.add("wc_consumer_key", "wc_key_shape")
    if secret and not (secret.startswith("cs_") and secret[3:].isascii()
                       and secret[3:].isalnum()):
        checks.add("wc_consumer_secret", "wc_secret_shape")
    return {"wc_consumer_key": key, "wc_consumer_secret": secret}


def _alerts(checks: Form, form) -> dict:
    changes = {"alert_phone": None, "alert_webhook_url": None}
    if checks.text("alert_phone"):
        changes["alert_phone"] = checks.phone("alert_phone")
    url = checks.text("alert_webhook_url", max_length=500)
    if url is not None:
        try:
            outbound.check_url(url, what="the alert webhook URL", https_only=True)
        except outbound.UrlRefused as exc:
            checks.add("alert_webhook_url", exc.code)
        changes["alert_webhook_url"] = url
    return changes


# The field a service error is about, by section (for where to show it).
_FIELD = {"sending": "send_until", "gateway": "sms_api_key", "woocommerce": "wc_consumer_key",
          "alerts": "alert_phone"}


@router.post("/connect")
def start_connect(request: Request, current: PostDep, session: SessionDep, settings: SettingsDep,
                  now: NowDep) -> Response:
    """One-click connect: off to the store's WooCommerce to approve bazgasht's keys; it comes
    back to ?connect=done (app/connection)."""
    try:
        url = connection.authorize_url(session, current.store, public_url=settings.public_url,
                                       now=now)
    except DomainError as exc:
        session.rollback()
        session.refresh(current.store)
        return _page(request, current, settings, problems=[from_service(exc, "connect")],
                     section="connect", status_code=FORM_REFUSED)
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


@router.post("/{section}")
def save(section: str, request: Request, current: PostDep, session: SessionDep,
         settings: SettingsDep, form: FormDep, now: NowDep) -> Response:
    if section not in SECTIONS:
        raise auth.PanelNotFound()
    store = current.store
    checks = Form(form)
    if section == "sending":
        changes = _sending(checks, form)
    elif section == "gateway":
        changes = _gateway(checks, form, store)
    elif section == "woocommerce":
        changes = _woocommerce(checks, form)
    else:
        changes = _alerts(checks, form)
    if checks.ok:
        try:
            patch = StoreSettingsPatch(**changes)
            service.update_settings(session, store=store, patch=patch, now=now)
        except ValidationError as exc:
            for err in exc.errors()[:3]:
                name = str(err["loc"][0]) if err.get("loc") else _FIELD[section]
                checks.problems.append(Problem(name, "not_accepted", {"detail": err["msg"]}))
        except DomainError as exc:
            checks.problems.append(from_service(exc, _FIELD[section]))
    if not checks.ok:
        session.rollback()
        session.refresh(store)
        values = _values(store) | {k: checks.raw(k) for k in (
            "send_from", "send_until", "cap_per_day", "cap_per_week", "attribution_window_days",
            "opt_out_text", "sms_sender", "sms_fallback_sender", "alert_phone",
            "alert_webhook_url") if k in form}
        if section == "sending":
            values["weekdays"] = [int(d) for d in checks.many("weekday")
                                  if d in "0123456" and len(d) == 1]
        if section == "gateway" and form.get("sms_provider") in CHOICES:
            values["sms_provider"] = form.get("sms_provider")
        if section == "gateway" and form.get("sms_fallback_provider") in PROVIDERS:
            values["sms_fallback_provider"] = form.get("sms_fallback_provider")
        return _page(request, current, settings, values=values, problems=checks.problems,
                     section=section, status_code=FORM_REFUSED)
    return redirect(f"/panel/settings?ok={section}#{section}")


@router.post("/gateway/check")
def check_gateway(request: Request, current: PostDep, session: SessionDep,
                  settings: SettingsDep, gateways: GatewaysDep) -> Response:
    """Ask the store's gateway for its remaining credit: proves the key and the connection (the
    second provider's too, when the store named one)."""
    store = current.store
    gateway, second = gateways.for_store(store), gateways.fallback_for(store)
    # No transaction stays open (SQLite's would hold the write lock) while the gateway answers.
    session.commit()
    credit = _credit(gateway) | {"provider": store.sms_provider}
    if second:
        credit["second"] = _credit(second[1]) | {"label": PROVIDERS[second[0]].label}
    return _page(request, current, settings, section="gateway", credit=credit)


def _credit(gateway) -> dict:
    try:
        return {"ok": True, "rial": gateway.credit()}
    except GatewayError as exc:
        return {"ok": False, "detail": str(exc), "kind": exc.kind.value}


@router.post("/webhook/show")
def show_webhook_secret(request: Request, current: PostDep, settings: SettingsDep) -> Response:
    """The webhook secret and the plugin's connection code (which carries it), only when asked
    for: neither is in the settings page's source otherwise."""
    code = connection_code(current.store, webhook_url(settings.public_url, current.store.id))
    return _page(request, current, settings, section="webhook", show_secret=True,
                 connection_code=code)


@router.post("/webhook/rotate")
def rotate_webhook_secret(request: Request, current: PostDep, session: SessionDep,
                          settings: SettingsDep, now: NowDep) -> Response:
    """A new webhook secret, shown with the plugin's new connection code; the previous one
    keeps verifying deliveries for a day (app/stores/service.py)."""
    rotate(session, store=current.store, now=now)
    code = connection_code(current.store, webhook_url(settings.public_url, current.store.id))
    return _page(request, current, settings, section="webhook", show_secret=True,
                 connection_code=code, rotated=True)


@router.post("/api-key/rotate")
def rotate_api_key(request: Request, current: PostDep, session: SessionDep,
                   settings: SettingsDep) -> Response:
    """A new API key, shown this once; API clients with the old key stop working (panel
    sessions are the members' own and go on). An owner's act: it cuts off every integration
    at once (a member sees no such button, and the address answers them as unknown)."""
    if not current.is_owner:
        raise PanelNotFound()
    api_key = service.rotate_api_key(session, store=current.store)
    return _page(request, current, settings, section="api_key", new_key=api_key)
