"""Broadcasts («ارسال گروهی»): one SMS to a segment. The list with each one's status and
figures; a draft's form (name, segment with its size now, the text in the chip editor, a Jalali
date and time, a budget in the store's unit) with its cost estimate, a test SMS and
«زمان‌بندی»; a started one's report, and «لغو»."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.admin import preview
from app.broadcasts import previews, service
from app.broadcasts.models import DRAFT, REFUSED, SCHEDULED, SENDING, Broadcast
from app.broadcasts.schemas import (
    DEFAULT_SEND_WITHIN,
    MAX_COST,
    MAX_SEND_WITHIN,
    MIN_SEND_WITHIN,
    BroadcastCreate,
    BroadcastPatch,
)
from app.campaigns.checks import MAX_TEXT
from app.campaigns.content import variables_for
from app.campaigns.models import BROADCAST, Campaign
from app.campaigns.schemas import MAX_CONTROL_PERCENT, MAX_TEMPLATE
from app.dashboard.auth import FormDep, PanelDep, PanelNotFound, PostDep
from app.dashboard.chips import segments_of
from app.dashboard.forms import Form, from_service
from app.dashboard.views import FORM_REFUSED, page, redirect
from app.deps import NowDep, SessionDep
from app.digits import persian_digits
from app.errors import DomainError, NotFound
from app.messaging.deps import GatewaysDep
from app.messaging.gateway import GatewayError
from app.messaging.persian import unit
from app.reports.period import InvalidPeriod, parse_day
from app.segments import service as segments
from app.segments.models import Segment

router = APIRouter(prefix="/panel/broadcasts", include_in_schema=False)

_NOTICES = {"saved", "scheduled", "cancelled", "draft_deleted", "test_sent"}
MAX_NAME = 200
SHOWN = 50


def _broadcast(session, current, broadcast_id: str) -> Broadcast:
    if not broadcast_id.isdigit() or len(broadcast_id) > 18:
        raise PanelNotFound()
    try:
        return service.broadcast_of_store(session, store_id=current.store.id,
                                          broadcast_id=int(broadcast_id))
    except NotFound:
        raise PanelNotFound() from None


def _segments(session, current, now) -> list[tuple[Segment, int]]:
    """The store's segments with their size now, for the select."""
    found = session.scalars(segments.segments_of_store(current.store.id)
                            .order_by(Segment.id.desc())).all()
    return [(s, len(segments.members(session, store=current.store,
                                     definition=segments.definition_of(s), now=now)))
            for s in found]


@router.get("")
def broadcasts_page(request: Request, current: PanelDep, session: SessionDep,
                    now: NowDep) -> Response:
    rows = session.scalars(service.broadcasts_of_store(current.store.id)
                           .order_by(Broadcast.id.desc()).limit(SHOWN)).all()
    reports = {b.id: service.report(session, store=current.store, broadcast=b, now=now)
               for b in rows}
    ok = request.query_params.get("ok")
    return page(request, "broadcasts.html", panel=current, nav="broadcasts", broadcasts=rows,
                reports=reports, ok=ok if ok in _NOTICES else None)


def _values_of(session, store, broadcast: Broadcast) -> dict:
    step = service.step_of(session, broadcast)
    control_percent = session.get_one(Campaign, broadcast.campaign_id).control_percent
    zone = ZoneInfo(store.timezone)
    at = broadcast.scheduled_at.astimezone(zone) if broadcast.scheduled_at else None
    factor = unit(store.currency)[1]
    return {"name": broadcast.name, "segment_id": str(broadcast.segment_id or ""),
            "template": step.template,
            "date": persian_digits(_jalali(at)) if at else "",
            "time": persian_digits(at.strftime("%H:%M")) if at else "",
            "within_hours": persian_digits(step.send_within_minutes // 60),
            "budget": persian_digits(broadcast.max_cost // factor) if broadcast.max_cost else "",
            "control_percent": persian_digits(control_percent)}


def _jalali(at: datetime) -> str:
    import jdatetime

    return jdatetime.date.fromgregorian(date=at.date()).strftime("%Y/%m/%d")


def _form_page(request, current, session, now, *, broadcast=None, values, problems=(),
               estimate=None, ok=None, status_code=200) -> Response:
    step = service.step_of(session, broadcast) if broadcast else None
    report = (service.report(session, store=current.store, broadcast=broadcast, now=now)
              if broadcast else None)
    editable = broadcast is None or broadcast.status in (DRAFT, REFUSED)
    return page(request, "broadcast.html", panel=current, nav="broadcasts", broadcast=broadcast,
                step=step, values=values, problems=list(problems), estimate=estimate,
                report=report, segments=_segments(session, current, now),
                chips=segments_of(values.get("template") or ""),
                variables=variables_for(BROADCAST), max_text=MAX_TEXT,
                unit=unit(current.store.currency)[0], ok=ok, max_control=MAX_CONTROL_PERCENT,
                editable=editable, member_texts=_member_texts(session, current, broadcast, now)
                if broadcast is not None and editable else [],
                cancellable=broadcast is not None and broadcast.status in (SCHEDULED, SENDING),
                status_code=status_code)


def _member_texts(session, current, broadcast: Broadcast, now) -> list[previews.MemberText]:
    """The saved text as the segment's first members would read it, beside the estimate."""
    try:
        return previews.first_members(session, store=current.store, broadcast=broadcast,
                                      now=now)
    except DomainError:  # a text that no longer renders: the estimate and test SMS say why
        return []


@router.get("/new")
def new_broadcast(request: Request, current: PanelDep, session: SessionDep,
                  now: NowDep) -> Response:
    return _form_page(request, current, session, now,
                      values={"within_hours": persian_digits(DEFAULT_SEND_WITHIN // 60)})


@router.get("/{broadcast_id}")
def broadcast_page(broadcast_id: str, request: Request, current: PanelDep, session: SessionDep,
                   now: NowDep) -> Response:
    broadcast = _broadcast(session, current, broadcast_id)
    ok = request.query_params.get("ok")
    return _form_page(request, current, session, now, broadcast=broadcast,
                      values=_values_of(session, current.store, broadcast),
                      ok=ok if ok in _NOTICES else None)


def _read(fields: Form, store) -> dict:
    """The form's fields as the API's (the service has the last word)."""
    data: dict = {"name": fields.text("name", required=True, max_length=MAX_NAME),
                  "template": fields.text("template", required=True, strip=False,
                                          max_length=MAX_TEMPLATE)}
    segment_id = fields.integer("segment_id", low=1, high=2**63 - 1)
    data["segment_id"] = segment_id
    hours = fields.integer("within_hours", low=MIN_SEND_WITHIN // 60, high=MAX_SEND_WITHIN // 60)
    data["send_within_minutes"] = hours * 60 if hours is not None else None
    factor = unit(store.currency)[1]
    budget = fields.integer("budget", low=1, high=MAX_COST // factor, required=False)
    data["max_cost"] = budget * factor if budget is not None else None
    # An empty field is no control group, as on a campaign's page.
    control = fields.integer("control_percent", low=0, high=MAX_CONTROL_PERCENT, required=False)
    data["control_percent"] = control or 0
    data["scheduled_at"] = None
    day_text = fields.raw("date").strip()
    if day_text or fields.raw("time").strip():
        try:
            day = parse_day(day_text, "date")
        except InvalidPeriod:
            fields.add("date", "date_invalid")
            day = None
        minute = fields.time("time")
        if day is not None and minute is not None:
            data["scheduled_at"] = datetime.combine(day, time(minute // 60, minute % 60),
                                                    tzinfo=ZoneInfo(store.timezone))
    return data


@router.post("/new")
def create_broadcast(request: Request, current: PostDep, session: SessionDep, form: FormDep,
                     now: NowDep) -> Response:
    fields = Form(form)
    values = {name: fields.raw(name)[:2000] for name in form.keys()}
    data = _read(fields, current.store)
    if fields.ok:
        try:
            broadcast = service.create(session, store=current.store, now=now,
                                       data=BroadcastCreate(**data))
            return redirect(f"/panel/broadcasts/{broadcast.id}?ok=saved")
        except DomainError as exc:
            session.rollback()
            fields.problems.append(from_service(exc, _field_of(exc)))
    return _form_page(request, current, session, now, values=values, problems=fields.problems,
                      status_code=FORM_REFUSED)


def _field_of(exc: DomainError) -> str:
    return {"segment_not_found": "segment_id"}.get(exc.code, "template")


@router.post("/{broadcast_id}")
def update_broadcast(broadcast_id: str, request: Request, current: PostDep, session: SessionDep,
                     form: FormDep, now: NowDep) -> Response:
    broadcast = _broadcast(session, current, broadcast_id)
    fields = Form(form)
    values = {name: fields.raw(name)[:2000] for name in form.keys()}
    data = _read(fields, current.store)
    if fields.ok:
        try:
            service.update_draft(session, store=current.store, broadcast=broadcast, now=now,
                                 patch=BroadcastPatch(**data))
            return redirect(f"/panel/broadcasts/{broadcast.id}?ok=saved")
        except DomainError as exc:
            session.rollback()
            fields.problems.append(from_service(exc, _field_of(exc)))
    return _form_page(request, current, session, now, broadcast=broadcast, values=values,
                      problems=fields.problems, status_code=FORM_REFUSED)


def _saved_page(request, current, session, now, broadcast, **context) -> Response:
    return _form_page(request, current, session, now, broadcast=broadcast,
                      values=_values_of(session, current.store, broadcast), **context)


def _money(session, gateways, store):
    session.commit()  # no transaction stays open while the gateway is asked
    return service.available(gateways, store)


@router.post("/{broadcast_id}/estimate")
def estimate(broadcast_id: str, request: Request, current: PostDep, session: SessionDep,
             gateways: GatewaysDep, now: NowDep) -> Response:
    broadcast = _broadcast(session, current, broadcast_id)
    try:
        money = _money(session, gateways, current.store)
        found = service.estimate(session, store=current.store, broadcast=broadcast, money=money,
                                 now=now)
    except GatewayError as exc:
        return _saved_page(request, current, session, now, broadcast,
                           problems=[from_service(preview.test_send_failure(exc))])
    except DomainError as exc:
        return _saved_page(request, current, session, now, broadcast,
                           problems=[from_service(exc)])
    return _saved_page(request, current, session, now, broadcast, estimate=found)


@router.post("/{broadcast_id}/schedule")
def schedule(broadcast_id: str, request: Request, current: PostDep, session: SessionDep,
             gateways: GatewaysDep, now: NowDep) -> Response:
    broadcast = _broadcast(session, current, broadcast_id)
    try:
        money = _money(session, gateways, current.store)
        service.schedule(session, store=current.store, broadcast=broadcast, at=None,
                         money=money, now=now)
    except GatewayError as exc:
        return _saved_page(request, current, session, now, broadcast,
                           problems=[from_service(preview.test_send_failure(exc))])
    except DomainError as exc:
        session.rollback()
        return _saved_page(request, current, session, now, broadcast,
                           problems=[_schedule_problem(exc)], status_code=FORM_REFUSED)
    return redirect(f"/panel/broadcasts/{broadcast.id}?ok=scheduled")


def _schedule_problem(exc: DomainError):
    problem = from_service(exc)
    if exc.code in ("over_balance", "over_budget", "segment_empty", "segment_deleted",
                    "invalid_scheduled_at"):
        return type(problem)("", f"broadcast_{exc.code}", {"detail": exc.message})
    return problem


@router.post("/{broadcast_id}/test-send")
def test_send(broadcast_id: str, request: Request, current: PostDep, session: SessionDep,
              form: FormDep, gateways: GatewaysDep, now: NowDep) -> Response:
    broadcast = _broadcast(session, current, broadcast_id)
    fields = Form(form)
    phone = fields.phone("phone")
    if phone is None:
        return _saved_page(request, current, session, now, broadcast, problems=fields.problems,
                           status_code=FORM_REFUSED)
    campaign = session.get_one(Campaign, broadcast.campaign_id)
    step = service.step_of(session, broadcast)
    try:
        rendered = preview.preview(session, store=current.store, campaign=campaign, step=step,
                                   now=now)
        ticket = preview.open_test_send(session, store=current.store, step=step, phone=phone,
                                        rendered=rendered, now=now)
    except DomainError as exc:
        session.rollback()
        return _saved_page(request, current, session, now, broadcast,
                           problems=[from_service(exc, "phone")], status_code=FORM_REFUSED)
    session.commit()
    outcome = preview.deliver_test_send(gateways.for_store(current.store), ticket)
    preview.close_test_send(session, ticket=ticket, outcome=outcome)
    if isinstance(outcome, GatewayError):
        session.commit()
        return _saved_page(request, current, session, now, broadcast,
                           problems=[from_service(preview.test_send_failure(outcome), "phone")])
    return redirect(f"/panel/broadcasts/{broadcast.id}?ok=test_sent")


@router.post("/{broadcast_id}/cancel")
def cancel(broadcast_id: str, current: PostDep, session: SessionDep, now: NowDep) -> Response:
    broadcast = _broadcast(session, current, broadcast_id)
    try:
        service.cancel(session, broadcast=broadcast, now=now)
    except DomainError:  # no longer cancellable (sent meanwhile): its page says what it is
        return redirect(f"/panel/broadcasts/{broadcast.id}")
    return redirect(f"/panel/broadcasts/{broadcast.id}?ok=cancelled")


@router.post("/{broadcast_id}/delete")
def delete(broadcast_id: str, current: PostDep, session: SessionDep) -> Response:
    broadcast = _broadcast(session, current, broadcast_id)
    try:
        service.delete_draft(session, broadcast=broadcast)
    except DomainError:
        return redirect(f"/panel/broadcasts/{broadcast.id}")
    return redirect("/panel/broadcasts?ok=draft_deleted")
