"""Campaigns: pause and resume, the trigger and its params, its conditions and exits, and the step editor with
its live preview and test SMS. Every change goes through app.campaigns.editing, which applies
the same rules as the API."""

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from app.admin import preview
from app.campaigns import audience, coupons, editing
from app.campaigns.checks import MAX_TEXT, TextRefused
from app.campaigns.content import variables_for
from app.campaigns.models import ABANDONED_CART, LOST_ORDER, WIN_BACK, Campaign, CampaignStep
from app.campaigns.schemas import (
    MAX_AUDIENCE_DAYS,
    MAX_CONTROL_PERCENT,
    MAX_DAYS_BEFORE,
    MAX_DELAY_MINUTES,
    CampaignPatch,
    Conditions,
    Exits,
    StepCreate,
)
from app.campaigns.service import campaign_of_store
from app.clock import local_today
from app.dashboard import automation_form, trigger_form
from app.dashboard import steps as step_form
from app.dashboard.auth import FormDep, PanelDep, PanelNotFound, PostDep
from app.dashboard.chart import bar_chart
from app.dashboard.forms import Form, Problem, from_service
from app.dashboard.period import PRESETS, chosen_period
from app.dashboard.views import FORM_REFUSED, page, redirect
from app.deps import NowDep, SessionDep
from app.digits import persian_digits
from app.errors import DomainError, NotFound
from app.messaging.deps import GatewaysDep
from app.messaging.gateway import GatewayError
from app.messaging.persian import unit
from app.reports import export
from app.reports import service as reports
from app.reports.period import period_for
from app.reports.router import Phones

router = APIRouter(prefix="/panel/campaigns", include_in_schema=False)

# What the panel asks of a trigger, in the unit a merchant thinks in.
TRIGGER_UNITS = {ABANDONED_CART: ("minutes", "hours", "days"), WIN_BACK: ("days",),
                 LOST_ORDER: ("minutes", "hours")}


def _id(value: str) -> int:
    if not value.isdigit() or len(value) > 9:
        raise PanelNotFound()
    return int(value)


def _campaign(session, current, campaign_id: str) -> Campaign:
    try:
        return campaign_of_store(session, store_id=current.store.id, campaign_id=_id(campaign_id))
    except NotFound:
        raise PanelNotFound() from None


def _step(session, current, campaign_id: str, step_id: str) -> tuple[Campaign, CampaignStep]:
    campaign = _campaign(session, current, campaign_id)
    try:
        return campaign, editing.step_of(session, campaign=campaign, step_id=_id(step_id))
    except NotFound:
        raise PanelNotFound() from None


@router.get("")
def campaigns(request: Request, current: PanelDep, session: SessionDep) -> Response:
    found = editing.list_campaigns(session, store=current.store)
    steps = editing.live_steps(session, campaign_ids=[c.id for c in found])
    return page(request, "campaigns.html", panel=current, nav="campaigns",
                campaigns=[(c, steps[c.id]) for c in found],
                ok=request.query_params.get("ok"), error=request.query_params.get("error"),
                error_campaign=request.query_params.get("campaign"))


def _back(form, campaign: Campaign) -> str:
    return f"/panel/campaigns/{campaign.id}" if form.get("back") == "campaign" \
        else "/panel/campaigns"


@router.post("/{campaign_id}/pause")
def pause(campaign_id: str, current: PostDep, session: SessionDep, form: FormDep, now: NowDep) -> Response:
    campaign = _campaign(session, current, campaign_id)
    editing.set_active(session, campaign=campaign, active=False, now=now)
    return redirect(f"{_back(form, campaign)}?ok=paused&campaign={campaign.id}")


@router.post("/{campaign_id}/resume")
def resume(campaign_id: str, current: PostDep, session: SessionDep, form: FormDep, now: NowDep) -> Response:
    campaign = _campaign(session, current, campaign_id)
    try:
        editing.set_active(session, campaign=campaign, active=True, now=now)
    except DomainError as exc:
        session.rollback()
        return redirect(f"{_back(form, campaign)}?error={from_service(exc).code}"
                        f"&campaign={campaign.id}")
    return redirect(f"{_back(form, campaign)}?ok=resumed&campaign={campaign.id}")


def _trigger_state(campaign: Campaign) -> dict:
    units = TRIGGER_UNITS.get(campaign.kind)
    if not units:
        return {}
    value, unit = step_form.delay_parts(campaign.trigger_minutes)
    if unit not in units:
        value, unit = campaign.trigger_minutes // step_form.UNITS[units[0]], units[0]
    return {"value": str(value), "unit": unit, "units": units}


def _campaign_page(request, current, session, campaign: Campaign, now: datetime, *, problems=(),
                   name: str | None = None, trigger: dict | None = None,
                   control: str | None = None, conditions: dict | None = None,
                   trigger_values: dict | None = None, audience_found=None,
                   audience_days: str = "", status_code: int = 200) -> Response:
    steps = editing.live_steps(session, campaign_ids=[campaign.id])[campaign.id]
    store = current.store
    if conditions is None:
        conditions = automation_form.values_of(campaign.conditions)
    if trigger_values is None and campaign.trigger in trigger_form.EDITABLE:
        trigger_values = trigger_form.values_of(campaign.trigger, campaign.trigger_params or {})
    chosen = chosen_period(request, store, now)
    report = reports.campaign_report(session, store=store, period=chosen.period,
                                     campaign=campaign)
    daily = reports.timeseries(session, store=store, period=chosen.period,
                               campaign_id=campaign.id)["days"]
    # A personal code is made through the store's REST keys: without them its message waits.
    needs_keys = not (store.wc_consumer_key and store.wc_consumer_secret) and any(
        isinstance(s.coupon, dict) and s.coupon.get("mode") == "personal" for s in steps)
    return page(request, "campaign.html", status_code=status_code, panel=current,
                nav="campaigns", campaign=campaign, steps=steps, problems=list(problems),
                needs_keys=needs_keys, unchecked_codes=_unchecked_codes(store, steps),
                name=campaign.name if name is None else name,
                trigger=trigger if trigger is not None else _trigger_state(campaign),
                control=str(campaign.control_percent) if control is None else control,
                max_control=MAX_CONTROL_PERCENT,
                conditions=conditions, exits=Exits.model_validate(campaign.exits or {}),
                segment_choices=automation_form.segment_choices(session, store, now),
                names=automation_form.names_of(session, store, conditions),
                # Empty for the triggers without params: the page shows no form for them.
                trigger_values=trigger_values or {},
                trigger_names=trigger_form.names_of(session, store, trigger_values or {}),
                status_choices=trigger_form.STATUS_CHOICES, ratings=trigger_form.RATINGS,
                max_days_before=MAX_DAYS_BEFORE,
                # «پیش‌نمایش» of the conditions form (app/campaigns/audience.py).
                audience=audience_found, audience_days=audience_days or persian_digits(
                    audience.DEFAULT_DAYS), audience_cap=audience.CAP,
                money_unit=unit(store.currency)[0],
                # Against the control group, for the chosen period (the report's).
                lift=report["lift"] | {"range": report["range"]},
                ok=request.query_params.get("ok"), error=request.query_params.get("error"),
                report=report, chosen=chosen, presets=PRESETS,
                revenue_chart=bar_chart(daily, "revenue", currency=store.currency),
                sent_chart=bar_chart(daily, "sent"),
                step_rows=_beside(report["campaign"], report["previous"]["campaign"]))


def _beside(now: dict, before: dict) -> list[dict]:
    """The report's steps, each with its figures of the previous period, its variants likewise
    (matched by step id and variant name). Deleted steps only where they still have figures."""
    before_steps = {s["id"]: s for s in before["steps"]}
    rows = []
    for step in now["steps"]:
        was = before_steps.get(step["id"])
        if step["deleted"] and not (step["messages"] or (was and was["messages"])):
            continue
        was_variants = {v["name"]: v for v in (was or {}).get("variants", [])}
        rows.append({"now": step, "before": was,
                     "variants": [(v, was_variants.get(v["name"])) for v in step["variants"]]})
    return rows


def _unchecked_codes(store, steps: list[CampaignStep]) -> list[str]:
    """The codes these steps quote as they are, when bazgasht cannot look them up in the store
    (no REST keys): the merchant must make sure they exist."""
    if coupons.can_check(store):
        return []
    return list(dict.fromkeys(code for s in steps for _, code in coupons.static_codes(s.coupon)))


@router.get("/{campaign_id}")
def campaign_page(campaign_id: str, request: Request, current: PanelDep,
                  session: SessionDep, now: NowDep) -> Response:
    return _campaign_page(request, current, session, _campaign(session, current, campaign_id),
                          now)


@router.get("/{campaign_id}/messages.csv")
def messages_csv(campaign_id: str, request: Request, current: PanelDep, session: SessionDep,
                 now: NowDep, phones: Phones = "masked") -> StreamingResponse:
    """The campaign's messages of the period as the API's CSV (app/reports/export.py)."""
    return _export(export.messages_csv, "messages", campaign_id, request, current, session, now,
                   phones)


@router.get("/{campaign_id}/orders.csv")
def orders_csv(campaign_id: str, request: Request, current: PanelDep, session: SessionDep,
               now: NowDep, phones: Phones = "masked") -> StreamingResponse:
    """The orders credited to the campaign's messages of the period, as the API's CSV."""
    return _export(export.orders_csv, "orders", campaign_id, request, current, session, now,
                   phones)


def _export(rows_of, name: str, campaign_id: str, request, current, session, now,
            phones: str) -> StreamingResponse:
    campaign = _campaign(session, current, campaign_id)
    store = current.store
    # The page's links give from and to; a wrong date here is the API's 422, not another
    # period's rows.
    period = period_for(first=request.query_params.get("from") or None,
                        last=request.query_params.get("to") or None, tz=store.timezone,
                        today=local_today(store.timezone, now))
    # Pages are read after this request's session is closed, each in a short read of its own.
    rows = rows_of(request.app.state.sessionmaker, store=export.StoreView.of(store),
                   period=period, campaign_id=campaign.id, phones=phones)
    return export.download(rows, f"campaign-{campaign.id}-{name}", period)


@router.post("/{campaign_id}")
def update_campaign(campaign_id: str, request: Request, current: PostDep, session: SessionDep,
                    form: FormDep, now: NowDep) -> Response:
    campaign = _campaign(session, current, campaign_id)
    checks = Form(form)
    name = checks.text("name", required=True, max_length=200)
    changes: dict = {"name": name} if name else {}
    trigger = _trigger_state(campaign)
    if trigger:
        unit = form.get("trigger_unit") if form.get("trigger_unit") in trigger["units"] \
            else trigger["units"][0]
        trigger = trigger | {"value": checks.raw("trigger_value"), "unit": unit}
        low, high = editing.TRIGGER_BOUNDS[campaign.trigger]
        factor = step_form.UNITS[unit]
        value = checks.integer("trigger_value", low=max(1, -(-low // factor)),
                               high=high // factor)
        if value is not None:
            minutes = value * factor
            if not low <= minutes <= high:
                checks.add("trigger_value", "trigger_range", low=low, high=high)
            else:
                changes["trigger_minutes"] = minutes
    # Left out of the form: unchanged. For enrollments from now on.
    control = checks.integer("control_percent", low=0, high=MAX_CONTROL_PERCENT, required=False)
    if control is not None:
        changes["control_percent"] = control
    if checks.ok:
        try:
            editing.update_campaign(session, campaign=campaign, patch=CampaignPatch(**changes))
        except DomainError as exc:
            checks.problems.append(from_service(exc, "trigger_value"))
    if not checks.ok:
        session.rollback()
        return _campaign_page(request, current, session, campaign, now, problems=checks.problems,
                              name=checks.raw("name"), trigger=trigger,
                              control=checks.raw("control_percent"), status_code=FORM_REFUSED)
    return redirect(f"/panel/campaigns/{campaign.id}?ok=saved")


@router.post("/{campaign_id}/conditions")
def save_conditions(campaign_id: str, request: Request, current: PostDep, session: SessionDep,
                    form: FormDep, now: NowDep) -> Response:
    """Who of the trigger's subjects enters, for subjects it finds from now on."""
    campaign = _campaign(session, current, campaign_id)
    checks = Form(form)
    conditions = automation_form.read_conditions(
        checks, automation_form.segment_ids(session, current.store))
    if form.get("action") == "audience":  # «پیش‌نمایش»: who they would take; nothing saved
        return _audience_page(request, current, session, campaign, now, checks, conditions)
    if conditions is not None:
        try:
            editing.update_campaign(session, campaign=campaign,
                                    patch=CampaignPatch(conditions=conditions))
        except DomainError as exc:
            checks.problems.append(from_service(exc))
    if not checks.ok:
        session.rollback()
        typed = {name: checks.raw(name)[:400] for name in automation_form.values_of({})}
        return _campaign_page(request, current, session, campaign, now, problems=checks.problems,
                              conditions=typed, status_code=FORM_REFUSED)
    return redirect(f"/panel/campaigns/{campaign.id}?ok=conditions_saved#conditions")


def _audience_page(request, current, session, campaign: Campaign, now: datetime, checks: Form,
                   conditions: Conditions | None) -> Response:
    """The campaign's page with the conditions as typed and, if they read, who of the last
    days' subjects of its trigger they would let in."""
    days = checks.integer("audience_days", low=1, high=MAX_AUDIENCE_DAYS, required=False)
    found = None
    if checks.ok and conditions is not None:
        try:
            found = audience.audience(session, store=current.store, campaign=campaign, now=now,
                                      days=days or audience.DEFAULT_DAYS, given=conditions)
        except DomainError as exc:
            checks.problems.append(from_service(exc))
    typed = {name: checks.raw(name)[:400] for name in automation_form.values_of({})}
    return _campaign_page(request, current, session, campaign, now, problems=checks.problems,
                          conditions=typed, audience_found=found,
                          audience_days=checks.raw("audience_days")[:20],
                          status_code=200 if checks.ok else FORM_REFUSED)


@router.post("/{campaign_id}/trigger")
def save_trigger(campaign_id: str, request: Request, current: PostDep, session: SessionDep,
                 form: FormDep, now: NowDep) -> Response:
    """The trigger's params (a status, products, a rating range, days before), for subjects it
    finds from now on. A trigger without params has no such form."""
    campaign = _campaign(session, current, campaign_id)
    if campaign.trigger not in trigger_form.EDITABLE:
        raise PanelNotFound()
    checks = Form(form)
    params = trigger_form.read_params(checks, campaign.trigger)
    if params is not None:
        try:
            editing.update_campaign(session, campaign=campaign,
                                    patch=CampaignPatch(trigger_params=params))
        except DomainError as exc:
            checks.problems.append(from_service(exc, "trigger_params"))
    if not checks.ok:
        session.rollback()
        return _campaign_page(request, current, session, campaign, now, problems=checks.problems,
                              trigger_values=trigger_form.typed_values(checks),
                              status_code=FORM_REFUSED)
    return redirect(f"/panel/campaigns/{campaign.id}?ok=trigger_saved#trigger-params")


@router.post("/{campaign_id}/exits")
def save_exits(campaign_id: str, current: PostDep, session: SessionDep,
               form: FormDep) -> Response:
    """What ends a sequence early, checked before each message not sent yet."""
    campaign = _campaign(session, current, campaign_id)
    editing.update_campaign(session, campaign=campaign,
                            patch=CampaignPatch(exits=automation_form.read_exits(Form(form))))
    return redirect(f"/panel/campaigns/{campaign.id}?ok=exits_saved#exits")


@router.post("/{campaign_id}/steps")
def add_step(campaign_id: str, current: PostDep, session: SessionDep, now: NowDep) -> Response:
    """A new last step, a day after the current last one, starting from its text."""
    campaign = _campaign(session, current, campaign_id)
    steps = editing.live_steps(session, campaign_ids=[campaign.id])[campaign.id]
    last = steps[-1] if steps else None
    # The last step's coupon comes with its text: a text quoting the code needs it.
    data = StepCreate(delay_minutes=min((last.delay_minutes if last else 0) + 24 * 60,
                                        MAX_DELAY_MINUTES),
                      template=last.template if last else "{{ store_name }}: {{ link }}",
                      coupon=last.coupon if last else None)
    try:
        step = editing.add_step(session, campaign=campaign, data=data, now=now)
    except DomainError as exc:
        session.rollback()
        return redirect(f"/panel/campaigns/{campaign.id}?error={from_service(exc).code}")
    return redirect(f"/panel/campaigns/{campaign.id}/steps/{step.id}?ok=added")


@router.post("/{campaign_id}/steps/{step_id}/delete")
def delete_step(campaign_id: str, step_id: str, current: PostDep,
                session: SessionDep, now: NowDep) -> Response:
    campaign, step = _step(session, current, campaign_id, step_id)
    try:
        editing.delete_step(session, campaign=campaign, step=step, now=now)
    except DomainError as exc:
        session.rollback()
        return redirect(f"/panel/campaigns/{campaign.id}/steps/{step.id}"
                        f"?error={from_service(exc).code}")
    return redirect(f"/panel/campaigns/{campaign.id}?ok=step_deleted")


# -- the step editor ----------------------------------------------------------------------------

def _render_preview(session, current, campaign, step, *, template: str | None,
                    coupon: dict | None, now: datetime, variant: str | None = None) -> dict:
    """{"preview": Rendered} or {"problem": Problem}: what the text would be for the sample."""
    draft = step
    if template is not None:
        # Never added to the session: nothing is written.
        draft = CampaignStep(campaign_id=campaign.id, position=step.position,
                             delay_minutes=step.delay_minutes, template=template, coupon=coupon,
                             lookup=step.lookup, variants=[])
    try:
        # The draft's template passed as such too: checked like one being saved.
        return {"preview": preview.preview(session, store=current.store, campaign=campaign,
                                           step=draft, template=template, variant=variant,
                                           now=now)}
    except DomainError as exc:
        return {"problem": from_service(exc, "template")}


def _coupon_for_preview(state: dict) -> dict | None:
    """The editor's coupon if it is complete enough to show, else none."""
    scratch = Form({})
    coupon = step_form.coupon_of(scratch, state["coupon"])
    if not scratch.ok:
        return None
    try:
        coupons.read_coupon(coupon)
    except coupons.InvalidCouponSettings:
        return None
    return coupon


def _editor(request, current, session, campaign, step, *, state: dict, now: datetime,
            problems=(), previews: dict | None = None, test: dict | None = None,
            status_code: int = 200) -> Response:
    if previews is None:
        previews = _all_previews(session, current, campaign, step, state, now)
    return page(request, "step.html", status_code=status_code, panel=current, nav="campaigns",
                campaign=campaign, step=step, state=state, problems=list(problems),
                previews=previews, test=test or {}, units=step_form.UNITS,
                chips=step_form.chips_of(state), variables=variables_for(campaign.kind),
                max_text=MAX_TEXT,
                discount_types=step_form.DISCOUNT_TYPES, ok=request.query_params.get("ok"),
                unchecked_codes=_unchecked_codes(current.store, [step]),
                error=request.query_params.get("error"),
                lookup_mode=current.store.sms_template_mode == "lookup")


@router.get("/{campaign_id}/steps/{step_id}")
def step_page(campaign_id: str, step_id: str, request: Request, current: PanelDep,
              session: SessionDep, now: NowDep) -> Response:
    campaign, step = _step(session, current, campaign_id, step_id)
    return _editor(request, current, session, campaign, step,
                   state=step_form.state_of_step(step), now=now)


def _all_previews(session, current, campaign, step, state: dict, now: datetime) -> dict:
    coupon = _coupon_for_preview(state)
    found = {"template": _render_preview(session, current, campaign, step,
                                         template=state["template"].strip() or None,
                                         coupon=coupon, now=now)}
    for i, variant in enumerate(state["variants"]):
        if variant["template"].strip():
            found[f"variant_{i}"] = _render_preview(session, current, campaign, step,
                                                    template=variant["template"].strip(),
                                                    coupon=coupon, now=now)
    return found


@router.post("/{campaign_id}/steps/{step_id}")
def save_step(campaign_id: str, step_id: str, request: Request, current: PostDep,
              session: SessionDep, form: FormDep, now: NowDep) -> Response:
    campaign, step = _step(session, current, campaign_id, step_id)
    checks = Form(form)
    state = step_form.state_of_form(checks)
    if form.get("action") == "preview":  # the editor without JavaScript
        return _editor(request, current, session, campaign, step, state=state, now=now,
                       previews=_all_previews(session, current, campaign, step, state, now))
    fields = step_form.fields_of(checks, state)
    if checks.ok:
        try:
            editing.update_step(session, step=step, data=fields, now=now)
        except DomainError as exc:
            checks.problems.append(from_service(exc, _field_of(exc)))
    if not checks.ok:
        session.rollback()
        session.refresh(step)
        return _editor(request, current, session, campaign, step, state=state, now=now,
                       problems=checks.problems, status_code=FORM_REFUSED,
                       previews=_all_previews(session, current, campaign, step, state, now))
    return redirect(f"/panel/campaigns/{campaign.id}/steps/{step.id}?ok=saved")


def _field_of(exc: DomainError) -> str:
    if isinstance(exc, TextRefused):  # "template" or "variants[1].template"
        index = exc.where.removeprefix("variants[").partition("]")[0]
        return f"variant_{index}" if index.isdigit() else "template"
    message = exc.message
    if message.startswith("variants") or "variants[" in message:
        return "variants"
    if message.startswith("coupon"):
        return "coupon"
    return "template"


@router.post("/{campaign_id}/steps/{step_id}/preview")
def preview_fragment(campaign_id: str, step_id: str, request: Request, current: PostDep,
                     session: SessionDep, form: FormDep, now: NowDep) -> Response:
    """The live preview: the text as it would go out for the sample customer, with its
    characters, parts and cost (an HTML fragment the editor's script puts in place)."""
    campaign, step = _step(session, current, campaign_id, step_id)
    state = step_form.state_of_form(Form(form))
    template = (form.get("preview_template") or "").strip()
    result = _render_preview(session, current, campaign, step, template=template or None,
                             coupon=_coupon_for_preview(state), now=now) if template else {}
    response = page(request, "_preview.html", panel=current, result=result)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    return response


@router.post("/{campaign_id}/steps/{step_id}/test-send")
def test_send(campaign_id: str, step_id: str, request: Request, current: PostDep,
              session: SessionDep, form: FormDep, gateways: GatewaysDep, now: NowDep) -> Response:
    """The saved step's SMS (or one variant's) to the merchant's own phone, through the store's
    gateway."""

    campaign, step = _step(session, current, campaign_id, step_id)
    checks = Form(form)
    phone_text = checks.raw("phone")
    phone = checks.phone("phone")
    names = [v.get("name") for v in step.variants or []]
    variant = form.get("variant") if form.get("variant") in names else None
    test = {"phone": phone_text, "variant": variant}
    if checks.ok:
        try:
            rendered = preview.preview(session, store=current.store, campaign=campaign,
                                       step=step, variant=variant, now=now)
            ticket = preview.open_test_send(session, store=current.store, step=step,
                                            phone=phone, rendered=rendered, now=now)
        except preview.TestSendLimited as exc:
            checks.problems.append(Problem("phone", "rate_limited",
                                           {"minutes": (exc.retry_after + 59) // 60}))
        except DomainError as exc:
            checks.problems.append(from_service(exc, "phone"))
        else:
            # Recorded (it counts against the hourly limit) before the gateway is called, and
            # no transaction stays open meanwhile.
            session.commit()
            outcome = preview.deliver_test_send(gateways.for_store(current.store), ticket)
            preview.close_test_send(session, ticket=ticket, outcome=outcome)
            session.commit()
            if isinstance(outcome, GatewayError):
                checks.problems.append(from_service(preview.test_send_failure(outcome),
                                                    "phone"))
    if checks.ok:
        return redirect(f"/panel/campaigns/{campaign.id}/steps/{step.id}?ok=test_sent"
                        "#test-send")
    session.rollback()
    return _editor(request, current, session, campaign, step,
                   state=step_form.state_of_step(step), now=now, problems=checks.problems,
                   test=test, status_code=FORM_REFUSED)
