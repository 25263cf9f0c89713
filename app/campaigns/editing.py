"""A store's campaigns and their steps as the merchant edits them: the rules the admin API and
the panel apply before they write (one active campaign per kind, triggers within bounds, steps
whose templates, coupons, lookups and variants can be sent).

Functions take the store's campaign as its edge found it (`campaign_of_store`, or the API's
CampaignDep): an id of another store is "not found", never "forbidden", so ids do not leak
between stores, and a step is looked up only within its campaign.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.campaigns import coupons, lifecycle
from app.campaigns.catalog import preset_of
from app.campaigns.checks import TextRefused, coupon_problem, text_problem
from app.campaigns.compose import checked_lookup
from app.campaigns.models import (
    BROADCAST,
    CART_ABANDONED,
    NO_PURCHASE,
    ORDER_LOST,
    THANK_YOU,
    Campaign,
    CampaignStep,
    Enrollment,
    Message,
)
from app.campaigns.presets import (
    BUILT_IN,
    DAY,
    FIXED_TRIGGER,
    KIND_TRIGGERS,
    PRESETS,
    add_preset,
    default_send_within,
)
from app.campaigns.reasons import Reason
from app.campaigns.schemas import (
    MAX_STEPS,
    CampaignCreate,
    CampaignPatch,
    Conditions,
    InvalidTriggerParams,
    StepCreate,
    Variant,
    trigger_params,
)
from app.campaigns.service import campaign_of_store, set_campaign_active
from app.commerce.money import decimal_places
from app.db import rowcount
from app.digits import persian_digits
from app.errors import Conflict, DomainError, NotFound
from app.segments.schemas import plain
from app.segments.service import segment_of_store
from app.stores.models import Store


class InvalidStep(DomainError, status=422, code="invalid_step"):
    pass


class InvalidCampaign(DomainError, status=422, code="invalid_campaign"):
    pass


# -- campaigns --------------------------------------------------------------------------------

# What "trigger_minutes" may be, per trigger that uses it.
TRIGGER_BOUNDS = {CART_ABANDONED: (10, 7 * DAY), NO_PURCHASE: (DAY, 365 * DAY),
                  ORDER_LOST: (10, 2 * DAY)}
# Kinds whose messages are not promotional because they offer nothing: a coupon would make
# them an ad without the opt-out line and the frequency cap (presets.py says why per kind).
NO_OFFER_KINDS = frozenset({THANK_YOU})


def _lock_store(session: Session, store_id: int) -> None:
    """Serialize the store's campaign changes where a rule spans rows (one active campaign per
    kind, step positions, a last step)."""
    session.execute(select(Store.id).where(Store.id == store_id).with_for_update())


def _locked(session: Session, campaign: Campaign) -> Campaign:
    """The campaign under the store's lock, read again: the request found it before it waited,
    and whoever held the lock may have paused, resumed or deleted it meanwhile."""
    store_id, campaign_id = campaign.store_id, campaign.id
    _lock_store(session, store_id)
    session.expire(campaign)
    return campaign_of_store(session, store_id=store_id, campaign_id=campaign_id)


def list_campaigns(session: Session, *, store: Store) -> list[Campaign]:
    """The store's campaigns (not deleted); broadcasts' hidden ones are their broadcasts'."""
    return list(session.scalars(select(Campaign).where(Campaign.store_id == store.id,
                                                       Campaign.kind != BROADCAST,
                                                       Campaign.deleted_at.is_(None))
                                .order_by(Campaign.id)))


def live_steps(session: Session, *, campaign_ids: list[int]) -> dict[int, list[CampaignStep]]:
    """The steps (not deleted) of these campaigns, in order."""
    steps: dict[int, list[CampaignStep]] = {cid: [] for cid in campaign_ids}
    if campaign_ids:
        for step in session.scalars(select(CampaignStep).where(
                CampaignStep.campaign_id.in_(campaign_ids), CampaignStep.deleted_at.is_(None))
                .order_by(CampaignStep.position)):
            steps[step.campaign_id].append(step)
    return steps


def _trigger_minutes(kind: str, trigger: str, value: int | None) -> int:
    if value is None:
        if PRESETS[kind].trigger == trigger:
            return PRESETS[kind].trigger_minutes
        # Another kind on this trigger: the wait of the built-in preset made for it.
        return next((p.trigger_minutes for k, p in PRESETS.items()
                     if k in BUILT_IN and p.trigger == trigger), 0)
    bounds = TRIGGER_BOUNDS.get(trigger)
    if bounds is None:
        if value != 0:
            raise InvalidCampaign(f"trigger_minutes: not used by {kind} campaigns on "
                                  f"{trigger} (it fires when its subject appears); leave it "
                                  "out or send 0")
        return 0
    low, high = bounds
    if not low <= value <= high:
        what = {CART_ABANDONED: "of inactivity before a cart counts as abandoned",
                ORDER_LOST: "unpaid before an order counts as lost"}.get(
                    trigger, "without a purchase before a customer is won back")
        raise InvalidCampaign(f"trigger_minutes: {trigger} needs {low}–{high} minutes {what}")
    return value


def _ensure_only_active_of_kind(session: Session, campaign: Campaign) -> None:
    if campaign.kind not in BUILT_IN:  # a store's own automations: as many as it likes
        return
    other = session.scalar(select(Campaign).where(
        Campaign.store_id == campaign.store_id, Campaign.kind == campaign.kind,
        Campaign.active.is_(True), Campaign.deleted_at.is_(None), Campaign.id != campaign.id))
    if other is not None:
        raise Conflict(f"campaign {other.id} ({other.name}) is an active {campaign.kind} "
                       "campaign already: pause it first (two would text the same customer "
                       "twice)", code="kind_already_active")


def create_campaign(session: Session, *, store: Store, data: CampaignCreate,
                    now: datetime) -> Campaign:
    steps = [checked_step_fields(step.model_dump(), where=f"steps[{i}].",
                                 provider=store.sms_provider)
             for i, step in enumerate(data.steps)]
    for i, step in enumerate(steps):
        _no_offer(data.kind, step, where=f"steps[{i}].")
        texts_fit_coupon(step, where=f"steps[{i}].")
        codes_in_store(store, step, now, where=f"steps[{i}].")
    trigger = _trigger(data.kind, data.trigger)
    preset = PRESETS[data.kind]
    params = checked_trigger_params(
        trigger, data.trigger_params if data.trigger_params is not None else
        preset.trigger_params if preset.trigger == trigger else {})
    conditions = checked_conditions(session, store, data.conditions)
    _lock_store(session, store.id)
    campaign = Campaign(store_id=store.id, kind=data.kind, name=data.name, active=False,
                        promotional=preset.promotional, trigger=trigger,
                        trigger_minutes=_trigger_minutes(data.kind, trigger,
                                                         data.trigger_minutes),
                        trigger_params=params, conditions=conditions,
                        exits=data.exits.model_dump(exclude_defaults=True),
                        control_percent=data.control_percent, created_at=now)
    session.add(campaign)
    session.flush()
    for position, step in enumerate(steps, start=1):
        session.add(CampaignStep(campaign_id=campaign.id, position=position,
                                 **_send_within(campaign.kind, step)))
    session.flush()
    if data.active:
        _activate(session, campaign, now)
    return campaign


def add_from_preset(session: Session, *, store: Store, kind: str, now: datetime) -> Campaign:
    """The preset (PresetNotFound for an unknown kind) as a new campaign of the store, paused:
    the merchant reads its texts first, and resuming it is where one active campaign per kind
    is checked (a store may have the built-in one running already). A second copy is named
    apart from the first: «سبد رهاشده ۲», then «۳»."""
    preset = preset_of(kind)
    _lock_store(session, store.id)  # two adds at once must not take one name
    taken = set(session.scalars(select(Campaign.name).where(Campaign.store_id == store.id,
                                                            Campaign.deleted_at.is_(None))))
    name, copy = preset.name, 1
    while name in taken:
        copy += 1
        name = f"{preset.name} {persian_digits(copy)}"
    campaign = add_preset(session, store.id, preset, active=False, name=name)
    campaign.created_at = now
    session.flush()
    return campaign


def update_campaign(session: Session, *, campaign: Campaign, patch: CampaignPatch) -> Campaign:
    changes = patch.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        campaign.name = changes["name"]
    if "trigger_minutes" in changes:
        campaign.trigger_minutes = _trigger_minutes(campaign.kind, campaign.trigger,
                                                    changes["trigger_minutes"])
    if patch.trigger_params is not None:  # for subjects the trigger finds from now on
        campaign.trigger_params = checked_trigger_params(campaign.trigger, patch.trigger_params)
        campaign.trigger_looked_at = None  # new params: the trigger looks at its next tick
    if changes.get("control_percent") is not None:  # for enrollments from now on
        campaign.control_percent = changes["control_percent"]
    if patch.conditions is not None:  # for subjects the trigger finds from now on
        store = session.get_one(Store, campaign.store_id)
        campaign.conditions = checked_conditions(session, store, patch.conditions)
    if patch.exits is not None:  # checked as each message is sent: every one not sent yet
        campaign.exits = patch.exits.model_dump(exclude_defaults=True)
    session.flush()
    return campaign


def _trigger(kind: str, trigger: str | None) -> str:
    fixed = FIXED_TRIGGER.get(kind)
    if trigger is not None and fixed is not None and trigger != fixed:
        raise InvalidCampaign(f"trigger: a {kind} campaign starts on {fixed} (its messages are "
                              f"about that subject); leave it out or send {fixed}")
    allowed = KIND_TRIGGERS.get(kind)
    if trigger is not None and allowed is not None and trigger not in allowed:
        raise InvalidCampaign(f"trigger: a {kind} campaign cannot start on {trigger} (its "
                              f"messages need what those triggers find); send one of "
                              f"{', '.join(sorted(allowed))}")
    return trigger or PRESETS[kind].trigger


def checked_trigger_params(trigger: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The trigger's params as stored, or InvalidCampaign (invalid_trigger_params)."""
    try:
        return trigger_params(trigger, raw)
    except InvalidTriggerParams as exc:
        raise InvalidCampaign(str(exc), code="invalid_trigger_params") from None


def _no_offer(kind: str, fields: dict[str, Any], where: str = "") -> None:
    if kind in NO_OFFER_KINDS and fields.get("coupon"):
        raise InvalidStep(f"{where}coupon: a {kind} message is not promotional (no opt-out "
                          "line, no frequency cap), so it offers nothing; put an offer in a "
                          "promotional automation", code="offer_not_allowed")


def checked_conditions(session: Session, store: Store,
                       conditions: Conditions) -> dict[str, Any]:
    """The conditions as stored (what was given, nothing else); a segment must be the store's."""
    if conditions.segment_id is not None:
        try:
            segment_of_store(session, store_id=store.id, segment_id=conditions.segment_id)
        except NotFound:
            raise InvalidCampaign(f"conditions.segment_id: the store has no segment "
                                  f"{conditions.segment_id}") from None
    places = decimal_places(store.currency)
    for name in ("total_min", "total_max"):
        value = getattr(conditions, name)
        if value is not None and (value * 10**places) % 1:
            raise InvalidCampaign(f"conditions.{name}: {plain(value)} is no amount of "
                                  f"{store.currency}; its amounts have at most {places} "
                                  "decimals")
    return conditions.model_dump(mode="json", exclude_defaults=True)


def _activate(session: Session, campaign: Campaign, now: datetime) -> None:
    if not live_steps(session, campaign_ids=[campaign.id])[campaign.id]:
        # Enrolling into a campaign without steps schedules nothing and, since a subject is
        # enrolled once, would keep those customers from ever getting its messages.
        raise Conflict(f"campaign {campaign.id} has no steps: add one before resuming it",
                       code="campaign_has_no_steps")
    _ensure_only_active_of_kind(session, campaign)
    set_campaign_active(session, store_id=campaign.store_id, campaign_id=campaign.id, active=True,
                        now=now)


def set_active(session: Session, *, campaign: Campaign, active: bool, now: datetime) -> Campaign:
    """Pause (messages due meanwhile are held, not lost) or resume (held ones go out)."""
    campaign = _locked(session, campaign)
    if active:
        _activate(session, campaign, now)
    else:
        set_campaign_active(session, store_id=campaign.store_id, campaign_id=campaign.id,
                            active=False, now=now)
    return campaign


def delete_campaign(session: Session, *, campaign: Campaign, now: datetime) -> tuple[int, int]:
    """Delete a campaign: it stops, its enrollments end and every message not sent yet is
    skipped with the reason (the row is kept: its history stays in the reports).

    A message a worker holds at this moment (status "sending") meets the inactive campaign in
    its guard and is held, not sent. Returns (skipped messages, ended enrollments).
    """
    campaign.active, campaign.deleted_at = False, now
    session.flush()
    exited = rowcount(session.execute(
        update(Enrollment).where(Enrollment.campaign_id == campaign.id,
                                 Enrollment.status == "active")
        .values(status="exited", exit_reason=Reason.CAMPAIGN_DELETED.value, exited_at=now)
        .execution_options(synchronize_session=False)))
    skipped = lifecycle.skip_pending(session, Message.campaign_id == campaign.id,
                                     reason=Reason.CAMPAIGN_DELETED)
    return skipped, exited


# -- steps ------------------------------------------------------------------------------------

def _template_problem(where: str, source: str) -> None:
    """TextRefused for a text that cannot be sent (app/campaigns/checks.py)."""
    problem = text_problem(source)
    if problem:
        raise TextRefused(problem, where)


def texts_fit_coupon(fields: dict[str, Any], where: str = "") -> None:
    """The step's texts (as they will be once saved: `fields` holds them all) quote a coupon
    only when the step has one."""
    texts = [(f"{where}template", fields.get("template") or "")]
    texts += [(f"{where}variants[{i}].template", v["template"])
              for i, v in enumerate(fields.get("variants") or [])]
    for name, source in texts:
        problem = coupon_problem(source, fields.get("coupon"))
        if problem:
            raise TextRefused(problem, name)


def _checked_variants(variants: list[dict], where: str) -> list[dict]:
    names: set[str] = set()
    for i, variant in enumerate(variants):
        if variant["name"] in names:
            raise InvalidStep(f"{where}variants[{i}].name: {variant['name']!r} is used twice; "
                              "names must be unique", code="invalid_variants")
        names.add(variant["name"])
        _template_problem(f"{where}variants[{i}].template", variant["template"])
    if variants and sum(v["weight"] for v in variants) <= 0:
        raise InvalidStep(f"{where}variants: the weights add up to 0; give at least one a "
                          "weight above 0 (or send no variants)", code="invalid_variants")
    return [Variant(**v).model_dump() for v in variants]


def checked_step_fields(data: dict[str, Any], *, where: str = "",
                        provider: str | None = None) -> dict[str, Any]:
    """The step fields present in `data`, checked and normalized (InvalidStep and the coupon and
    lookup modules' own 422 errors name the field and the reason); a lookup config as the
    store's `provider` takes it (None: as any provider would)."""
    checked = dict(data)
    if "template" in data:
        _template_problem(f"{where}template", data["template"])
    if "coupon" in data:
        try:
            settings = coupons.read_coupon(data["coupon"])
        except coupons.InvalidCouponSettings as exc:
            raise coupons.InvalidCouponSettings([f"{where}{p}" if where else p
                                                 for p in exc.problems]) from None
        checked["coupon"] = (settings.model_dump(mode="json", exclude_none=True)
                             if settings else None)
    if data.get("lookup") is not None:
        checked["lookup"] = checked_lookup(data["lookup"], provider)
    if "variants" in data:
        checked["variants"] = _checked_variants(data["variants"] or [], where)
    return checked


def _send_within(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The step's fields with its send-no-later-than: the one given, or its kind's default
    for its delay."""
    if fields.get("send_within_minutes") is None:
        return fields | {"send_within_minutes": default_send_within(kind, fields["delay_minutes"])}
    return fields


def step_of(session: Session, *, campaign: Campaign, step_id: int) -> CampaignStep:
    """The campaign's step (not deleted), or NotFound: another campaign's is as unknown."""
    step = session.scalar(select(CampaignStep).where(CampaignStep.id == step_id,
                                                     CampaignStep.campaign_id == campaign.id,
                                                     CampaignStep.deleted_at.is_(None)))
    if step is None:
        raise NotFound(f"campaign {campaign.id} has no step with id {step_id}",
                       code="step_not_found")
    return step


def draft_step(*, campaign: Campaign, data: dict[str, Any]) -> CampaignStep:
    """A step as the editor holds it, checked like a saved one but never added to the session
    (previews of it write nothing)."""
    return CampaignStep(campaign_id=campaign.id, position=0, delay_minutes=0, variants=[],
                        **checked_step_fields(data))


def add_step(session: Session, *, campaign: Campaign, data: StepCreate,
             now: datetime) -> CampaignStep:
    """A new last step. It applies to enrollments from now on (those already running keep the
    messages they were given when they started)."""
    store = session.get_one(Store, campaign.store_id)
    fields = checked_step_fields(data.model_dump(), provider=store.sms_provider)
    _no_offer(campaign.kind, fields)
    texts_fit_coupon(fields)
    codes_in_store(store, fields, now)
    campaign = _locked(session, campaign)  # two new steps at once must not take one position
    count = session.scalar(select(func.count()).select_from(CampaignStep).where(
        CampaignStep.campaign_id == campaign.id, CampaignStep.deleted_at.is_(None))) or 0
    if count >= MAX_STEPS:
        raise Conflict(f"a campaign has at most {MAX_STEPS} steps", code="too_many_steps")
    # Positions of deleted steps stay taken: their messages' history names them.
    last = session.scalar(select(func.max(CampaignStep.position))
                          .where(CampaignStep.campaign_id == campaign.id)) or 0
    step = CampaignStep(campaign_id=campaign.id, position=last + 1,
                        **_send_within(campaign.kind, fields))
    session.add(step)
    session.flush()
    return step


def update_step(session: Session, *, step: CampaignStep, data: dict[str, Any],
                now: datetime) -> CampaignStep:
    for name in ("delay_minutes", "template", "variants"):
        if name in data and data[name] is None:
            raise InvalidStep(f"{name}: cannot be null (leave it out to keep it)")
    campaign = session.get_one(Campaign, step.campaign_id)
    store = session.get_one(Store, campaign.store_id)
    fields = checked_step_fields(data, provider=store.sms_provider)
    _no_offer(campaign.kind, fields)
    if fields.keys() & {"template", "variants", "coupon"}:
        texts_fit_coupon({"template": step.template, "variants": step.variants,
                           "coupon": step.coupon} | fields)
    codes_in_store(store, fields, now)
    if "send_within_minutes" in fields and fields["send_within_minutes"] is None:
        fields = _send_within(campaign.kind, {"delay_minutes": step.delay_minutes} | fields)
    for name, value in fields.items():
        setattr(step, name, value)
    session.flush()
    if "coupon" in fields:
        # Its messages held for a code the store lacked meet the new one (checked again
        # before they go out).
        lifecycle.release_held(session, Message.step_id == step.id,
                               lifecycle.held_for(Reason.COUPON_NOT_IN_STORE),
                               reason=Reason.COUPON_IN_STORE)
    return step


def codes_in_store(store: Store, fields: dict[str, Any], now: datetime, *,
                    where: str = "") -> None:
    """The codes the step's SMS would quote as they are must exist in the store and be usable
    (asked through its REST keys, before any row is locked or written: the store is called).
    Without keys they are accepted; the panel says they could not be checked."""
    if not fields.get("coupon"):
        return
    try:
        coupons.check_codes_in_store(store, fields["coupon"], now)
    except coupons.CouponNotInStore as exc:
        raise coupons.CouponNotInStore(f"{where}{exc.message}") from None


def delete_step(session: Session, *, campaign: Campaign, step: CampaignStep,
                now: datetime) -> int:
    """Delete a step: its messages not sent yet are skipped with the reason, and no new
    enrollment gets it. The row stays for its messages' history. Returns how many were skipped."""
    campaign = _locked(session, campaign)
    step = step_of(session, campaign=campaign, step_id=step.id)  # not deleted meanwhile
    if campaign.active and len(live_steps(session, campaign_ids=[campaign.id])[campaign.id]) == 1:
        raise Conflict(f"step {step.id} is the last step of active campaign {campaign.id}: "
                       "pause the campaign first (or delete the campaign)",
                       code="last_step_of_active_campaign")
    step.deleted_at = now
    session.flush()
    return lifecycle.skip_pending(session, Message.step_id == step.id,
                                  reason=Reason.STEP_DELETED)
