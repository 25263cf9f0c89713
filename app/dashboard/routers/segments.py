"""Segments («گروه‌های مشتری»): the store's saved segments with their size now, and a form to
make or change one, previewed (size and the first contacts) before it is saved; a saved one's
page also shows its report for a chosen period (app/reports/segments.py)."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.dashboard.auth import FormDep, PanelDep, PanelNotFound, PostDep
from app.dashboard.forms import Form, from_service
from app.dashboard.period import PRESETS, chosen_period
from app.dashboard.segment_form import read_definition, values_of
from app.dashboard.views import FORM_REFUSED, page, redirect
from app.deps import NowDep, SessionDep
from app.errors import NotFound
from app.messaging.persian import unit
from app.reports.segments import segment_report
from app.segments import service
from app.segments.models import Segment
from app.segments.schemas import SAMPLE_SIZE, SegmentCreate, SegmentPatch
from app.segments.service import Member

router = APIRouter(prefix="/panel/segments", include_in_schema=False)

_NOTICES = {"saved", "deleted"}
MAX_NAME = 200


def _segment(session, current, segment_id: str):
    if not segment_id.isdigit() or len(segment_id) > 18:
        raise PanelNotFound()
    try:
        return service.segment_of_store(session, store_id=current.store.id,
                                        segment_id=int(segment_id))
    except NotFound:
        raise PanelNotFound() from None


def _preview(found: list[Member]) -> dict:
    return dict(size=len(found), sample=found[:SAMPLE_SIZE])


def _members(session, current, definition, now) -> list[Member]:
    return service.members(session, store=current.store, definition=definition, now=now)


@router.get("")
def segments_page(request: Request, current: PanelDep, session: SessionDep,
                  now: NowDep) -> Response:
    segments = session.scalars(service.segments_of_store(current.store.id)
                               .order_by(Segment.id.desc())).all()
    sizes = {s.id: len(service.members(session, store=current.store,
                                       definition=service.definition_of(s), now=now))
             for s in segments}
    ok = request.query_params.get("ok")
    return page(request, "segments.html", panel=current, nav="segments", segments=segments,
                sizes=sizes, ok=ok if ok in _NOTICES else None)


def _form_page(request, current, *, segment=None, values, problems=(), preview=None,
               report=None, chosen=None, ok=None, status_code=200) -> Response:
    return page(request, "segment.html", panel=current, nav="segments", segment=segment,
                values=values, problems=list(problems), preview=preview, report=report,
                chosen=chosen, presets=PRESETS, sample_size=SAMPLE_SIZE,
                unit=unit(current.store.currency)[0], ok=ok, status_code=status_code)


@router.get("/new")
def new_segment(request: Request, current: PanelDep) -> Response:
    return _form_page(request, current, values={"buyer": ""})


@router.get("/{segment_id}")
def segment_page(segment_id: str, request: Request, current: PanelDep, session: SessionDep,
                 now: NowDep) -> Response:
    """The segment's form with its members now, and its report for the chosen period."""
    segment = _segment(session, current, segment_id)
    definition = service.definition_of(segment)
    found = _members(session, current, definition, now)
    chosen = chosen_period(request, current.store, now)
    report = segment_report(session, store=current.store, segment=segment,
                            period=chosen.period, now=now, found=found)
    ok = request.query_params.get("ok")
    return _form_page(request, current, segment=segment,
                      values=values_of(definition) | {"name": segment.name},
                      preview=_preview(found), report=report, chosen=chosen,
                      ok=ok if ok in _NOTICES else None)


def _submitted(request, current, session, form, now, segment=None) -> Response:
    """«پیش‌نمایش» shows who is in it; «ذخیره» saves it (both check every field first)."""
    fields = Form(form)
    values = {name: fields.raw(name)[:400] for name in form.keys()}
    saving = fields.raw("action") == "save"
    name = fields.text("name", required=saving, max_length=MAX_NAME)
    definition = read_definition(fields, current.store.currency)
    if definition is None or not fields.ok:
        return _form_page(request, current, segment=segment, values=values,
                          problems=fields.problems, status_code=FORM_REFUSED)
    if not saving or name is None:  # a name is required to save: its problem came above
        return _form_page(request, current, segment=segment, values=values,
                          preview=_preview(service.preview(session, store=current.store,
                                                           definition=definition, now=now)))
    try:
        if segment is None:
            segment = service.create_segment(session, store=current.store, now=now,
                                             data=SegmentCreate(name=name, definition=definition))
        else:
            service.update_segment(session, store=current.store, segment=segment, now=now,
                                   patch=SegmentPatch(name=name, definition=definition))
    except service.SegmentNameTaken as exc:
        return _form_page(request, current, segment=segment, values=values,
                          problems=[from_service(exc, "name")], status_code=FORM_REFUSED)
    return redirect(f"/panel/segments/{segment.id}?ok=saved")


@router.post("/new")
def create_segment(request: Request, current: PostDep, session: SessionDep, form: FormDep,
                   now: NowDep) -> Response:
    return _submitted(request, current, session, form, now)


@router.post("/{segment_id}")
def update_segment(segment_id: str, request: Request, current: PostDep, session: SessionDep,
                   form: FormDep, now: NowDep) -> Response:
    segment = _segment(session, current, segment_id)
    return _submitted(request, current, session, form, now, segment)


@router.post("/{segment_id}/delete")
def delete_segment(segment_id: str, current: PostDep, session: SessionDep) -> Response:
    service.delete_segment(session, segment=_segment(session, current, segment_id))
    return redirect("/panel/segments?ok=deleted")
