"""The merchant's own settings and campaigns: the rules the admin API applies before it writes.

Every function takes the request's store and finds rows only within it: an id of another store
is "not found", never "forbidden", so ids do not leak between stores.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.admin.preview import sample_render_check, template_problem
from app.admin.schemas import (
    MAX_STEPS,
    CampaignCreate,
    CampaignPatch,
    StepCreate,
    StoreSettingsPatch,
    Variant,
)
from app.campaigns import coupons, lifecycle
from app.campaigns.compose import checked_lookup
from app.campaigns.defaults import DAY, DEFAULT_CAMPAIGNS
from app.campaigns.models import (
    ABANDONED_CART,
    WIN_BACK,
    Campaign,
    CampaignStep,
    Enrollment,
    Message,
)
from app.campaigns.reasons import Reason
from app.campaigns.service import campaign_of_store, set_campaign_active
from app.commerce.woocommerce_api import check_store_url
from app.contacts.phones import InvalidPhone, normalize_phone
from app.db import rowcount
from app.errors import Conflict, DomainError, NotFound
from app.stores.models import Store
from app.stores.service import hash_api_key, new_api_key


class InvalidSettings(DomainError):
    status_code = 422
    code = "invalid_settings"


class InvalidStep(DomainError):
    status_code = 422
    code = "invalid_step"


class InvalidCampaign(DomainError):
    status_code = 422
    code = "invalid_campaign"


# -- store settings ---------------------------------------------------------------------------

_SMS_CREDENTIALS = {"sms_provider", "sms_api_key", "sms_sender"}


def update_settings(session: Session, *, store: Store, patch: StoreSettingsPatch,
                    now: datetime) -> Store:
    """Apply the fields the merchant sent, after checking them against what they do not change."""
    changes = patch.model_dump(exclude_unset=True)
    merged = {name: changes.get(name, getattr(store, name))
              for name in ("send_from_minute", "send_until_minute", "cap_per_day", "cap_per_week")}
    if merged["send_from_minute"] >= merged["send_until_minute"]:
        raise InvalidSettings(
            f"send_from_minute ({merged['send_from_minute']}) must be before send_until_minute "
            f"({merged['send_until_minute']}): the window is one stretch of a day, e.g. 540–1260 "
            "for 09:00–21:00", code="invalid_sending_window")
    if merged["cap_per_week"] < merged["cap_per_day"]:
        raise InvalidSettings(f"cap_per_week ({merged['cap_per_week']}) must be at least "
                              f"cap_per_day ({merged['cap_per_day']})")

    api_key = store.sms_api_key
    if "sms_api_key" in changes:
        api_key = changes["sms_api_key"].get_secret_value() if changes["sms_api_key"] else None
    if changes.get("sms_provider", store.sms_provider) == "kavenegar" and not api_key:
        raise InvalidSettings("sms_api_key is required for sms_provider kavenegar (the key of "
                              "the store's Kavenegar account)")

    keys = {"wc_consumer_key", "wc_consumer_secret"} & changes.keys()
    if keys:
        if len(keys) == 1 or ((changes["wc_consumer_key"] is None)
                              != (changes["wc_consumer_secret"] is None)):
            raise InvalidSettings("wc_consumer_key and wc_consumer_secret go together: send "
                                  "both (or both null to remove them)")
        wc_set = changes["wc_consumer_key"] is not None
    else:
        wc_set = bool(store.wc_consumer_key and store.wc_consumer_secret)
    url = str(changes["url"]).rstrip("/") if changes.get("url") is not None else store.url
    if wc_set and (keys or "url" in changes):
        try:
            check_store_url(url)
        except ValueError as exc:
            raise InvalidSettings(str(exc), code="store_url_not_https") from None

    alert_phone = changes.get("alert_phone")
    if alert_phone is not None:
        try:
            changes["alert_phone"] = normalize_phone(alert_phone).e164
        except InvalidPhone as exc:
            raise InvalidSettings(f"alert_phone: {exc.reason} (a mobile number, any digits)",
                                  code="invalid_phone") from None

    for name, value in changes.items():
        if name in ("sms_api_key", "wc_consumer_key", "wc_consumer_secret"):
            value = value.get_secret_value() if value is not None else None
        elif name in ("url", "alert_webhook_url") and value is not None:
            value = str(value).rstrip("/") if name == "url" else str(value)
        setattr(store, name, value)
    if _SMS_CREDENTIALS & changes.keys():
        # New credentials deserve a new try: a pause for the old ones is rechecked at once.
        store.sending_checked_at = None
    session.flush()
    if keys and wc_set:
        # New keys deserve a new try: messages held for want of a coupon are tried again.
        coupons.release_held(session, store_id=store.id, now=now)
    return store


def rotate_api_key(session: Session, *, store: Store) -> str:
    """A new API key for the store; the old one stops working when this commits."""
    api_key = new_api_key()
    store.api_key_hash = hash_api_key(api_key)
    store.api_key_prefix = api_key[:8]
    session.flush()
    return api_key


# -- campaigns --------------------------------------------------------------------------------

_KIND_DEFAULTS = {kind: (promotional, trigger) for kind, _, _, promotional, trigger, _
                  in DEFAULT_CAMPAIGNS}
# What "trigger_minutes" may be, per kind that uses it.
TRIGGER_BOUNDS = {ABANDONED_CART: (10, 7 * DAY), WIN_BACK: (DAY, 365 * DAY)}


def _lock_store(session: Session, store: Store) -> None:
    """Serialize the store's campaign changes where a rule spans rows (one active campaign per
    kind, step positions, a last step)."""
    session.execute(select(Store.id).where(Store.id == store.id).with_for_update())


def list_campaigns(session: Session, *, store: Store) -> list[Campaign]:
    return list(session.scalars(select(Campaign).where(Campaign.store_id == store.id,
                                                       Campaign.deleted_at.is_(None))
                                .order_by(Campaign.id)))


def get_campaign(session: Session, *, store: Store, campaign_id: int) -> Campaign:
    return campaign_of_store(session, store_id=store.id, campaign_id=campaign_id)


def live_steps(session: Session, campaign_ids: list[int]) -> dict[int, list[CampaignStep]]:
    """The steps (not deleted) of these campaigns, in order."""
    steps: dict[int, list[CampaignStep]] = {cid: [] for cid in campaign_ids}
    if campaign_ids:
        for step in session.scalars(select(CampaignStep).where(
                CampaignStep.campaign_id.in_(campaign_ids), CampaignStep.deleted_at.is_(None))
                .order_by(CampaignStep.position)):
            steps[step.campaign_id].append(step)
    return steps


def _trigger_minutes(kind: str, value: int | None) -> int:
    if value is None:
        return _KIND_DEFAULTS[kind][1]
    bounds = TRIGGER_BOUNDS.get(kind)
    if bounds is None:
        if value != 0:
            raise InvalidCampaign(f"trigger_minutes: not used by {kind} campaigns (they start "
                                  "when an order is completed); leave it out or send 0")
        return 0
    low, high = bounds
    if not low <= value <= high:
        what = "of inactivity before a cart counts as abandoned" if kind == ABANDONED_CART \
            else "without a purchase before a customer is won back"
        raise InvalidCampaign(f"trigger_minutes: {kind} needs {low}–{high} minutes {what}")
    return value


def _ensure_only_active_of_kind(session: Session, campaign: Campaign) -> None:
    other = session.scalar(select(Campaign).where(
        Campaign.store_id == campaign.store_id, Campaign.kind == campaign.kind,
        Campaign.active.is_(True), Campaign.deleted_at.is_(None), Campaign.id != campaign.id))
    if other is not None:
        raise Conflict(f"campaign {other.id} ({other.name}) is an active {campaign.kind} "
                       "campaign already: pause it first (two would text the same customer "
                       "twice)", code="kind_already_active")


def create_campaign(session: Session, *, store: Store, data: CampaignCreate,
                    now: datetime) -> Campaign:
    _lock_store(session, store)
    steps = [checked_step_fields(step.model_dump(), where=f"steps[{i}].")
             for i, step in enumerate(data.steps)]
    campaign = Campaign(store_id=store.id, kind=data.kind, name=data.name, active=False,
                        promotional=_KIND_DEFAULTS[data.kind][0],
                        trigger_minutes=_trigger_minutes(data.kind, data.trigger_minutes),
                        created_at=now)
    session.add(campaign)
    session.flush()
    for position, step in enumerate(steps, start=1):
        session.add(CampaignStep(campaign_id=campaign.id, position=position, **step))
    session.flush()
    if data.active:
        _activate(session, campaign, now)
    return campaign


def update_campaign(session: Session, *, store: Store, campaign_id: int,
                    patch: CampaignPatch) -> Campaign:
    campaign = get_campaign(session, store=store, campaign_id=campaign_id)
    changes = patch.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        campaign.name = changes["name"]
    if "trigger_minutes" in changes:
        campaign.trigger_minutes = _trigger_minutes(campaign.kind, changes["trigger_minutes"])
    session.flush()
    return campaign


def _activate(session: Session, campaign: Campaign, now: datetime) -> None:
    if not live_steps(session, [campaign.id])[campaign.id]:
        # Enrolling into a campaign without steps schedules nothing and, since a subject is
        # enrolled once, would keep those customers from ever getting its messages.
        raise Conflict(f"campaign {campaign.id} has no steps: add one before resuming it",
                       code="campaign_has_no_steps")
    _ensure_only_active_of_kind(session, campaign)
    set_campaign_active(session, store_id=campaign.store_id, campaign_id=campaign.id, active=True,
                        now=now)


def set_active(session: Session, *, store: Store, campaign_id: int, active: bool,
               now: datetime) -> Campaign:
    """Pause (messages due meanwhile are held, not lost) or resume (held ones go out)."""
    _lock_store(session, store)
    campaign = get_campaign(session, store=store, campaign_id=campaign_id)
    if active:
        _activate(session, campaign, now)
    else:
        set_campaign_active(session, store_id=store.id, campaign_id=campaign.id, active=False,
                            now=now)
    return campaign


def delete_campaign(session: Session, *, store: Store, campaign_id: int,
                    now: datetime) -> tuple[int, int]:
    """Delete a campaign: it stops, its enrollments end and every message not sent yet is
    skipped with the reason (the row is kept: its history stays in the reports).

    A message a worker holds at this moment (status "sending") meets the inactive campaign in
    its guard and is held, not sent. Returns (skipped messages, ended enrollments).
    """
    campaign = get_campaign(session, store=store, campaign_id=campaign_id)
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
    problem = template_problem(source)
    if problem:
        raise InvalidStep(f"{where}: {problem}", code="invalid_template")
    problem = sample_render_check(source)
    if problem:
        raise InvalidStep(f"{where}: cannot be rendered: {problem}", code="invalid_template")


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


def checked_step_fields(data: dict[str, Any], *, where: str = "") -> dict[str, Any]:
    """The step fields present in `data`, checked and normalized (InvalidStep and the coupon and
    lookup modules' own 422 errors name the field and the reason)."""
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
        checked["lookup"] = checked_lookup(data["lookup"])
    if "variants" in data:
        checked["variants"] = _checked_variants(data["variants"] or [], where)
    return checked


def get_step(session: Session, *, store: Store, campaign_id: int,
             step_id: int) -> tuple[Campaign, CampaignStep]:
    campaign = get_campaign(session, store=store, campaign_id=campaign_id)
    step = session.scalar(select(CampaignStep).where(CampaignStep.id == step_id,
                                                     CampaignStep.campaign_id == campaign.id,
                                                     CampaignStep.deleted_at.is_(None)))
    if step is None:
        raise NotFound(f"campaign {campaign_id} has no step with id {step_id}",
                       code="step_not_found")
    return campaign, step


def draft_step(session: Session, *, store: Store, campaign_id: int,
               data: dict[str, Any]) -> tuple[Campaign, CampaignStep]:
    """A step as the editor holds it, checked like a saved one but never added to the session
    (previews of it write nothing)."""
    campaign = get_campaign(session, store=store, campaign_id=campaign_id)
    return campaign, CampaignStep(campaign_id=campaign.id, position=0, delay_minutes=0,
                                  variants=[], **checked_step_fields(data))


def add_step(session: Session, *, store: Store, campaign_id: int,
             data: StepCreate) -> CampaignStep:
    """A new last step. It applies to enrollments from now on (those already running keep the
    messages they were given when they started)."""
    _lock_store(session, store)  # two new steps at once must not take the same position
    campaign = get_campaign(session, store=store, campaign_id=campaign_id)
    fields = checked_step_fields(data.model_dump())
    count = session.scalar(select(func.count()).select_from(CampaignStep).where(
        CampaignStep.campaign_id == campaign.id, CampaignStep.deleted_at.is_(None)))
    if count >= MAX_STEPS:
        raise Conflict(f"a campaign has at most {MAX_STEPS} steps", code="too_many_steps")
    # Positions of deleted steps stay taken: their messages' history names them.
    last = session.scalar(select(func.max(CampaignStep.position))
                          .where(CampaignStep.campaign_id == campaign.id)) or 0
    step = CampaignStep(campaign_id=campaign.id, position=last + 1, **fields)
    session.add(step)
    session.flush()
    return step


def update_step(session: Session, *, store: Store, campaign_id: int, step_id: int,
                data: dict[str, Any]) -> CampaignStep:
    _, step = get_step(session, store=store, campaign_id=campaign_id, step_id=step_id)
    for name in ("delay_minutes", "template", "variants"):
        if name in data and data[name] is None:
            raise InvalidStep(f"{name}: cannot be null (leave it out to keep it)")
    for name, value in checked_step_fields(data).items():
        setattr(step, name, value)
    session.flush()
    return step


def delete_step(session: Session, *, store: Store, campaign_id: int, step_id: int,
                now: datetime) -> int:
    """Delete a step: its messages not sent yet are skipped with the reason, and no new
    enrollment gets it. The row stays for its messages' history. Returns how many were skipped."""
    _lock_store(session, store)
    campaign, step = get_step(session, store=store, campaign_id=campaign_id, step_id=step_id)
    if campaign.active and len(live_steps(session, [campaign.id])[campaign.id]) == 1:
        raise Conflict(f"step {step.id} is the last step of active campaign {campaign.id}: "
                       "pause the campaign first (or delete the campaign)",
                       code="last_step_of_active_campaign")
    step.deleted_at = now
    session.flush()
    return lifecycle.skip_pending(session, Message.step_id == step.id,
                                  reason=Reason.STEP_DELETED)
