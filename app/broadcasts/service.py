"""Broadcasts: drafting one SMS for a segment, estimating it, scheduling, starting, cancelling.

The one module that changes a broadcast's status, by conditional updates:

    draft ──schedule──▶ scheduled ──start──▶ sending ──every message final──▶ sent
      ▲                     │  └──start: over the balance or budget──▶ refused ──schedule──┐
      └─────────────────────┼───────────────────────────────────────────────────────────────┘
                            └──cancel──▶ cancelled ◀──cancel── sending

The money is checked twice, before anything is enrolled: when it is scheduled (the request
answers 409) and when it starts (refused, with the reason). What there is to spend is the
platform's prepaid balance for a store that pays as it goes, else the credit its own gateway
reports; the gateway is asked with no transaction open and no lock held (`available`).

At start every member of the segment (as it is then; its definition is copied onto the
broadcast) is enrolled in the broadcast's hidden campaign (app/campaigns/enroll.py enroll_all,
a batch per transaction), each with one message due at the scheduled time; the campaign engine
does the rest: hours, frequency cap, opt-outs, balance, links, delivery, attribution.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.admin import preview
from app.billing import service as billing
from app.broadcasts.models import (
    CANCELLED,
    DRAFT,
    GATEWAY_REFUSED,
    GATEWAY_UNAVAILABLE,
    OVER_BALANCE,
    OVER_BUDGET,
    REFUSED,
    SCHEDULED,
    SEGMENT_DELETED,
    SENDING,
    SENT,
    Broadcast,
)
from app.broadcasts.schemas import MAX_DAYS_AHEAD, BroadcastCreate, BroadcastPatch
from app.campaigns import editing, lifecycle
from app.campaigns.checks import TextProblem, TextRefused, variables_of
from app.campaigns.content import variables_for
from app.campaigns.enroll import BATCH, Subject, enroll_all
from app.campaigns.lookup import LOOKUP_MODE
from app.campaigns.models import BROADCAST, Campaign, CampaignStep, Enrollment, Message
from app.campaigns.reasons import Reason, detail
from app.db import rowcount, unit_of_work
from app.errors import Conflict, DomainError, NotFound
from app.messaging.gateway import ErrorKind, GatewayError
from app.ops.locks import try_exclusive
from app.reports.lift import campaign_lift
from app.reports.period import Period
from app.reports.service import campaign_figures
from app.segments import service as segments
from app.stores.models import Store

log = logging.getLogger(__name__)

# The start job's lock: held while one broadcast is claimed and enrolled, never while a
# gateway is asked for its credit.
LOCK = "broadcast_start"
# A time a moment in the past (the form's «now», a slow request) is taken as now.
PAST_SLACK = timedelta(minutes=5)


class NotADraft(DomainError, status=409, code="broadcast_not_draft"):
    pass


class InvalidSchedule(DomainError, status=422, code="invalid_scheduled_at"):
    pass


# -- finding --------------------------------------------------------------------------------

def broadcasts_of_store(store_id: int) -> Select:
    return select(Broadcast).where(Broadcast.store_id == store_id)


def broadcast_of_store(session: Session, *, store_id: int, broadcast_id: int) -> Broadcast:
    """The store's broadcast, or NotFound: another store's is as unknown as a missing one."""
    broadcast = session.scalar(select(Broadcast).where(Broadcast.id == broadcast_id,
                                                       Broadcast.store_id == store_id))
    if broadcast is None:
        raise NotFound(f"no broadcast with id {broadcast_id}", code="broadcast_not_found")
    return broadcast


def of_campaigns(session: Session, campaign_ids: Sequence[int]) -> dict[int, dict]:
    """The broadcasts owning these hidden campaigns, by campaign id: what the reports' summary
    names each broadcast's row by (handed over to app/reports as app.state.broadcasts_of)."""
    if not campaign_ids:
        return {}
    return {campaign_id: {"id": broadcast_id, "status": status, "scheduled_at": at}
            for campaign_id, broadcast_id, status, at in session.execute(
                select(Broadcast.campaign_id, Broadcast.id, Broadcast.status,
                       Broadcast.scheduled_at)
                .where(Broadcast.campaign_id.in_(list(campaign_ids))))}


def step_of(session: Session, broadcast: Broadcast) -> CampaignStep:
    """The broadcast's one step: its text, coupon and send-within."""
    return session.scalars(select(CampaignStep).where(
        CampaignStep.campaign_id == broadcast.campaign_id).order_by(CampaignStep.position)).one()


def controls_of(session: Session, broadcasts: list[Broadcast]) -> dict[int, int]:
    """The control share of several broadcasts (their hidden campaigns'), by broadcast id."""
    by_campaign = {b.campaign_id: b.id for b in broadcasts}
    if not by_campaign:
        return {}
    return {by_campaign[campaign_id]: percent for campaign_id, percent in session.execute(
        select(Campaign.id, Campaign.control_percent)
        .where(Campaign.id.in_(list(by_campaign))))}


def steps_of(session: Session, broadcasts: list[Broadcast]) -> dict[int, CampaignStep]:
    """The steps of several broadcasts, by broadcast id, in one query."""
    by_campaign = {b.campaign_id: b.id for b in broadcasts}
    if not by_campaign:
        return {}
    return {by_campaign[s.campaign_id]: s for s in session.scalars(
        select(CampaignStep).where(CampaignStep.campaign_id.in_(list(by_campaign))))}


# -- drafts ---------------------------------------------------------------------------------

def _checked_text(store: Store, fields: dict) -> dict:
    """The step fields as campaign steps check them, plus the broadcast's own rule: only the
    variables a contact has (no cart, no order)."""
    checked = editing.checked_step_fields(fields, provider=store.sms_provider)
    if "template" in checked:
        unknown = sorted(variables_of(checked["template"]) - set(variables_for(BROADCAST)))
        if unknown:
            raise TextRefused(TextProblem(
                "invalid_template", "template_unknown_variable",
                f"a broadcast's SMS has no {', '.join(unknown)} (it is about a customer, not "
                f"a cart or an order): use {', '.join(variables_for(BROADCAST))}",
                {"line": 0, "names": "، ".join(unknown)}), "template")
    return checked


def _step_fields(store: Store, step: CampaignStep | None, changes: dict, now: datetime) -> dict:
    fields = _checked_text(store, changes)
    whole = {"template": step.template if step else "", "coupon": step.coupon if step else None,
             "variants": []} | fields
    editing.texts_fit_coupon(whole)
    editing.codes_in_store(store, fields, now)
    return fields


def _local(at: datetime, store: Store) -> datetime:
    """A time without a zone is the store's local time; kept in UTC."""
    local = at.replace(tzinfo=ZoneInfo(store.timezone)) if at.tzinfo is None else at
    return local.astimezone(timezone.utc)


def _segment_id(session: Session, store: Store, segment_id: int) -> int:
    return segments.segment_of_store(session, store_id=store.id, segment_id=segment_id).id


def create(session: Session, *, store: Store, data: BroadcastCreate, now: datetime) -> Broadcast:
    """A draft: the broadcast and its hidden campaign with the one step (nothing is enrolled
    before it starts)."""
    segment_id = _segment_id(session, store, data.segment_id)
    fields = _step_fields(store, None, data.model_dump(include={"template", "coupon", "lookup"}),
                          now)
    campaign = Campaign(store_id=store.id, kind=BROADCAST, trigger=BROADCAST, name=data.name,
                        active=False, promotional=True, trigger_minutes=0,
                        control_percent=data.control_percent, created_at=now)
    session.add(campaign)
    session.flush()
    session.add(CampaignStep(campaign_id=campaign.id, position=1, delay_minutes=0, variants=[],
                             send_within_minutes=data.send_within_minutes, **fields))
    broadcast = Broadcast(store_id=store.id, name=data.name, segment_id=segment_id,
                          campaign_id=campaign.id, status=DRAFT, max_cost=data.max_cost,
                          scheduled_at=_local(data.scheduled_at, store)
                          if data.scheduled_at else None, created_at=now, updated_at=now)
    session.add(broadcast)
    session.flush()
    return broadcast


def _draft(broadcast: Broadcast, doing: str) -> None:
    if broadcast.status not in (DRAFT, REFUSED):
        raise NotADraft(f"broadcast {broadcast.id} is {broadcast.status}: only a draft (or a "
                        f"refused one) can be {doing}")


def update_draft(session: Session, *, store: Store, broadcast: Broadcast, patch: BroadcastPatch,
                 now: datetime) -> Broadcast:
    _draft(broadcast, "changed")
    changes = patch.model_dump(exclude_unset=True)
    for name in ("name", "segment_id", "template", "send_within_minutes", "control_percent"):
        if name in changes and changes[name] is None:
            raise DomainError(f"{name}: cannot be null (leave it out to keep it)",
                              code="invalid_request", status_code=422)
    step = step_of(session, broadcast)
    fields = _step_fields(store, step, {k: v for k, v in changes.items()
                                        if k in ("template", "coupon", "lookup")}, now)
    for name, value in fields.items():
        setattr(step, name, value)
    if "send_within_minutes" in changes:
        step.send_within_minutes = changes["send_within_minutes"]
    campaign = session.get_one(Campaign, broadcast.campaign_id)
    if "name" in changes:
        broadcast.name = campaign.name = changes["name"]
    if "control_percent" in changes:  # drawn when its members are enrolled, at start
        campaign.control_percent = changes["control_percent"]
    if "segment_id" in changes:
        broadcast.segment_id = _segment_id(session, store, changes["segment_id"])
    if "scheduled_at" in changes:
        at = changes["scheduled_at"]
        broadcast.scheduled_at = _local(at, store) if at else None
    if "max_cost" in changes:
        broadcast.max_cost = changes["max_cost"]
    broadcast.updated_at = now
    session.flush()
    return broadcast


def delete_draft(session: Session, *, broadcast: Broadcast) -> None:
    """A draft goes with its hidden campaign (it never sent anything)."""
    if broadcast.status != DRAFT:
        raise NotADraft(f"broadcast {broadcast.id} is {broadcast.status}: only a draft can be "
                        "deleted (cancel a scheduled one)")
    campaign = session.get_one(Campaign, broadcast.campaign_id)
    session.delete(broadcast)
    session.delete(campaign)
    session.flush()


# -- money ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Estimate:
    recipients: int
    parts: int
    price_per_part: int
    text: str
    available: int | None  # Rial; None: the gateway tells none (the console)
    max_cost: int | None

    @property
    def cost(self) -> int:
        return self.recipients * self.parts * self.price_per_part

    @property
    def affordable(self) -> bool:
        return self.available is None or self.cost <= self.available

    @property
    def within_budget(self) -> bool:
        return self.max_cost is None or self.cost <= self.max_cost


def available(gateways, store: Store) -> int | None:
    """What the store can spend now (Rial): the platform's prepaid balance for a store paying
    as it goes, else the credit its gateway reports (None: it reports none). Asks the gateway:
    call it with no transaction open. Raises GatewayError."""
    if billing.metered(store):
        return store.balance
    return gateways.for_store(store).credit()


def available_for_request(gateways, store: Store) -> int | None:
    """`available`, its gateway's failures as the API's errors (502; 422 when it refuses)."""
    try:
        return available(gateways, store)
    except GatewayError as exc:
        raise preview.test_send_failure(exc) from None


def _definition(session: Session, broadcast: Broadcast):
    if broadcast.segment_id is None:
        raise Conflict(f"broadcast {broadcast.id}: its segment was deleted; choose another",
                       code="segment_deleted")
    segment = segments.segment_of_store(session, store_id=broadcast.store_id,
                                        segment_id=broadcast.segment_id)
    return segments.definition_of(segment)


def members_now(session: Session, store: Store, broadcast: Broadcast,
                now: datetime) -> list[int]:
    """The segment's members now (contact ids, newest first)."""
    found = segments.members(session, store=store, definition=_definition(session, broadcast),
                             now=now)
    return [m.person.id for m in found]


def _sample(session: Session, store: Store, broadcast: Broadcast,
            now: datetime) -> preview.Rendered:
    campaign = session.get_one(Campaign, broadcast.campaign_id)
    return preview.preview(session, store=store, campaign=campaign,
                           step=step_of(session, broadcast), now=now)


def estimate(session: Session, *, store: Store, broadcast: Broadcast, money: int | None,
             now: datetime, recipients: int | None = None) -> Estimate:
    """What it costs now (kept on the broadcast): its recipients × the parts of its SMS for the
    sample customer × the store's price per part."""
    if recipients is None:
        recipients = len(members_now(session, store, broadcast, now))
    rendered = _sample(session, store, broadcast, now)
    # Lookup mode: the gateway fills the approved template; one part is the least it costs.
    parts = 1 if store.sms_template_mode == LOOKUP_MODE else rendered.segments.parts
    found = Estimate(recipients=recipients, parts=parts,
                     price_per_part=store.sms_price_per_part, text=rendered.text,
                     available=money, max_cost=broadcast.max_cost)
    broadcast.estimated_recipients, broadcast.estimated_parts = recipients, parts
    broadcast.estimated_cost, broadcast.estimated_at = found.cost, now
    session.flush()
    return found


def _refusal(found: Estimate) -> tuple[str, str] | None:
    """(reason code, why) when the estimate is more than there is or than the budget."""
    if not found.within_budget:
        return OVER_BUDGET, (f"the estimate ({found.cost:,} Rial: {found.recipients} recipients "
                             f"× {found.parts} parts × {found.price_per_part}) is more than the "
                             f"broadcast's budget ({found.max_cost:,} Rial)")
    if not found.affordable:
        return OVER_BALANCE, (f"the estimate ({found.cost:,} Rial: {found.recipients} recipients "
                              f"× {found.parts} parts × {found.price_per_part}) is more than the "
                              f"store can spend now ({found.available:,} Rial)")
    return None


# -- scheduling -----------------------------------------------------------------------------

def scheduled_time(store: Store, broadcast: Broadcast, at: datetime | None,
                   now: datetime) -> datetime:
    """When it goes: the time asked, else the draft's, else now; not in the past, not more
    than MAX_DAYS_AHEAD ahead."""
    at = _local(at, store) if at is not None else broadcast.scheduled_at or now
    if at < now - PAST_SLACK:
        raise InvalidSchedule(f"scheduled_at: {at.isoformat()} is in the past (now is "
                              f"{now.isoformat()})")
    if at > now + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidSchedule(f"scheduled_at: at most {MAX_DAYS_AHEAD} days ahead")
    return max(at, now)


def schedule(session: Session, *, store: Store, broadcast: Broadcast, at: datetime | None,
             money: int | None, now: datetime) -> Broadcast:
    """Schedule a draft (or a refused one) for `at`, if the store can pay for it now and it is
    within its budget: else 409 (over_balance, over_budget) and nothing changes. `money`: what
    `available` said, asked before (no transaction open)."""
    _draft(broadcast, "scheduled")
    when = scheduled_time(store, broadcast, at, now)
    members = members_now(session, store, broadcast, now)
    if not members:
        raise Conflict(f"broadcast {broadcast.id}: its segment has nobody in it now",
                       code="segment_empty")
    found = estimate(session, store=store, broadcast=broadcast, money=money, now=now,
                     recipients=len(members))
    refused = _refusal(found)
    if refused is not None:
        raise Conflict(refused[1], code=refused[0])
    moved = rowcount(session.execute(
        update(Broadcast).where(Broadcast.id == broadcast.id,
                                Broadcast.status.in_([DRAFT, REFUSED]))
        .values(status=SCHEDULED, scheduled_at=when, refused_reason=None, refused_detail=None,
                updated_at=now).execution_options(synchronize_session=False)))
    if not moved:
        raise NotADraft(f"broadcast {broadcast.id} changed meanwhile: load it again")
    session.refresh(broadcast)
    return broadcast


def cancel(session: Session, *, broadcast: Broadcast, now: datetime) -> int:
    """Cancel a scheduled or sending broadcast: its messages not sent yet are skipped (one
    being sent right now meets its deleted campaign in the guard and is skipped there).
    Returns how many were skipped."""
    # The row lock waits for an enrolment batch of it to commit: its messages are skipped too.
    locked = session.scalar(select(Broadcast).where(Broadcast.id == broadcast.id)
                            .with_for_update())
    if locked is None or locked.status not in (SCHEDULED, SENDING):
        status = locked.status if locked else "gone"
        raise Conflict(f"broadcast {broadcast.id} is {status}: only a scheduled or sending one "
                       "can be cancelled (delete a draft)", code="broadcast_not_cancellable")
    locked.status, locked.finished_at, locked.updated_at = CANCELLED, now, now
    campaign = session.get_one(Campaign, broadcast.campaign_id)
    campaign.active, campaign.deleted_at = False, now
    session.execute(update(Enrollment).where(Enrollment.campaign_id == campaign.id,
                                             Enrollment.status == "active")
                    .values(status="exited", exit_reason=Reason.BROADCAST_CANCELLED.value,
                            exited_at=now).execution_options(synchronize_session=False))
    skipped = lifecycle.skip_pending(session, Message.campaign_id == campaign.id,
                                     reason=Reason.BROADCAST_CANCELLED)
    session.flush()
    return skipped


# -- starting (the scheduler's job) ---------------------------------------------------------

def due(session: Session, now: datetime) -> list[tuple[int, int]]:
    """(broadcast id, store id) of scheduled broadcasts whose time has come, oldest first."""
    return [(broadcast_id, store_id) for broadcast_id, store_id in session.execute(
        select(Broadcast.id, Broadcast.store_id)
        .where(Broadcast.status == SCHEDULED, Broadcast.scheduled_at <= now)
        .order_by(Broadcast.scheduled_at, Broadcast.id))]


def _refuse(session: Session, broadcast_id: int, reason: str, why: str, now: datetime) -> None:
    session.execute(update(Broadcast).where(Broadcast.id == broadcast_id,
                                            Broadcast.status == SCHEDULED)
                    .values(status=REFUSED, refused_reason=reason, refused_detail=detail(why),
                            updated_at=now).execution_options(synchronize_session=False))
    log.info("broadcast %s refused at start: %s", broadcast_id, reason)


def _money_at_start(factory: sessionmaker[Session], gateways, broadcast_id: int,
                    store_id: int, now: datetime) -> tuple[bool, int | None]:
    """(ask on, what the store can spend): the gateway asked with no transaction open. A
    gateway that refuses the account refuses the broadcast; one that does not answer is asked
    again at the next round, until the broadcast's last minute has passed."""
    with factory() as session:
        store = session.get_one(Store, store_id)
        session.expunge(store)
    try:
        return True, available(gateways, store)
    except GatewayError as exc:
        with unit_of_work(factory) as session:
            broadcast = session.get_one(Broadcast, broadcast_id)
            step = step_of(session, broadcast)
            last = (broadcast.scheduled_at or now) + timedelta(minutes=step.send_within_minutes)
            if exc.kind is ErrorKind.STORE:
                _refuse(session, broadcast_id, GATEWAY_REFUSED, str(exc), now)
            elif now >= last:
                _refuse(session, broadcast_id, GATEWAY_UNAVAILABLE, str(exc), now)
        return False, None


def _claim(session: Session, broadcast_id: int, store: Store, money: int | None,
           now: datetime) -> list[int] | None:
    """Check it once more and move it to sending; its members to enroll, or None (refused, or
    no longer scheduled)."""
    broadcast = session.scalar(select(Broadcast).where(Broadcast.id == broadcast_id,
                                                       Broadcast.status == SCHEDULED)
                               .with_for_update())
    if broadcast is None:
        return None
    if broadcast.segment_id is None:
        _refuse(session, broadcast.id, SEGMENT_DELETED, "its segment was deleted", now)
        return None
    definition = _definition(session, broadcast)
    members = [m.person.id for m in segments.members(session, store=store,
                                                      definition=definition, now=now)]
    found = estimate(session, store=store, broadcast=broadcast, money=money, now=now,
                     recipients=len(members))
    refused = _refusal(found)
    if refused is not None:
        _refuse(session, broadcast.id, *refused, now)
        return None
    broadcast.status, broadcast.started_at, broadcast.updated_at = SENDING, now, now
    broadcast.definition = definition.model_dump(mode="json", exclude_defaults=True)
    broadcast.recipients = len(members)
    session.get_one(Campaign, broadcast.campaign_id).active = True
    session.flush()
    return members


def _enroll(factory: sessionmaker[Session], broadcast_id: int, members: list[int],
            now: datetime) -> int:
    """Each member enrolled once, a batch per transaction (dispatch sees each as it commits);
    stops if the broadcast is cancelled meanwhile. Returns how many were enrolled."""
    enrolled = 0
    for start in range(0, len(members), BATCH):
        with unit_of_work(factory) as session:
            broadcast = session.scalar(select(Broadcast).where(Broadcast.id == broadcast_id)
                                       .with_for_update())
            if broadcast is None or broadcast.status != SENDING:
                return enrolled
            campaign = session.get_one(Campaign, broadcast.campaign_id)
            anchor = broadcast.scheduled_at or now
            enrolled += len(enroll_all(session, campaign, "contact", [
                Subject(contact_id, contact_id, anchor)
                for contact_id in members[start:start + BATCH]], now))
    with unit_of_work(factory) as session:
        session.execute(update(Broadcast).where(Broadcast.id == broadcast_id,
                                                Broadcast.status == SENDING)
                        .values(enrolled_at=now).execution_options(synchronize_session=False))
    return enrolled


def start_due(factory: sessionmaker[Session], gateways, now: datetime, *,
              on_enrolled: Callable[[], object] | None = None) -> int:
    """Start every scheduled broadcast whose time has come: the money checked again (the
    gateway asked outside the lock), then, under the job's lock, claimed and its members
    enrolled. Returns how many started. `on_enrolled`: wakes the senders."""
    with factory() as session:
        waiting = due(session, now)
    started = 0
    for broadcast_id, store_id in waiting:
        ask_on, money = _money_at_start(factory, gateways, broadcast_id, store_id, now)
        if not ask_on:
            continue
        with try_exclusive(factory.kw["bind"], LOCK) as mine:
            if not mine:  # another round is starting broadcasts: it takes this one too
                return started
            with unit_of_work(factory) as session:
                members = _claim(session, broadcast_id, session.get_one(Store, store_id),
                                 money, now)
            if members is None:
                continue
            _enroll(factory, broadcast_id, members, now)
        started += 1
        if on_enrolled is not None:
            on_enrolled()
    return started


def resume_enrolment(factory: sessionmaker[Session], now: datetime) -> int:
    """Sending broadcasts whose enrolment stopped half-way (a crash): the members they were
    started with are enrolled again (the unique enrollment keeps each once)."""
    resumed = 0
    with factory() as session:
        stalled = [(broadcast_id, store_id, definition)
                   for broadcast_id, store_id, definition in session.execute(
                       select(Broadcast.id, Broadcast.store_id, Broadcast.definition)
                       .where(Broadcast.status == SENDING, Broadcast.enrolled_at.is_(None)))]
    for broadcast_id, store_id, definition in stalled:
        with try_exclusive(factory.kw["bind"], LOCK) as mine:
            if not mine:
                return resumed
            with factory() as session:
                store = session.get_one(Store, store_id)
                members = [m.person.id for m in segments.members(
                    session, store=store, now=now,
                    definition=segments.Definition.model_validate(definition or {}))]
            _enroll(factory, broadcast_id, members, now)
            resumed += 1
    return resumed


def finish_sent(session: Session, now: datetime) -> int:
    """Sending broadcasts, every member enrolled, none of whose messages is pending any more:
    sent."""
    pending = exists().where(Message.campaign_id == Broadcast.campaign_id,
                             Message.status.in_([*lifecycle.PENDING, "sending"]))
    return rowcount(session.execute(
        update(Broadcast).where(Broadcast.status == SENDING, Broadcast.enrolled_at.is_not(None),
                                ~pending)
        .values(status=SENT, finished_at=now, updated_at=now)
        .execution_options(synchronize_session=False)))


# -- report ---------------------------------------------------------------------------------

def report(session: Session, *, store: Store, broadcast: Broadcast, now: datetime) -> dict | None:
    """Its messages' figures (None before it started), counted like the campaigns' reports, and
    its lift against its control group, like a campaign's (app/reports/lift.py: its recipients
    are enrollments anchored at its time)."""
    if broadcast.started_at is None:
        return None
    zone = ZoneInfo(store.timezone)
    first = min(broadcast.started_at, broadcast.scheduled_at or broadcast.started_at)

    def day(at: datetime) -> date:
        return at.astimezone(zone).date()

    # Its SMS went out (or were due) from its time to its last minute; clicks and orders after
    # them are counted with them whenever they came.
    last = max(now, first + timedelta(days=4))
    period = Period(day(first) - timedelta(days=1), day(last) + timedelta(days=1),
                    store.timezone)
    f = campaign_figures(session, store=store, campaign_id=broadcast.campaign_id, period=period)
    lift = campaign_lift(session, store=store, period=period,
                         campaign=session.get_one(Campaign, broadcast.campaign_id))
    return dict(messages=f.messages, scheduled=f.scheduled + f.sending, held=f.held,
                skipped=f.skipped, sent=f.sent, delivered=f.delivered, failed=f.failed,
                clicks=f.clicks, orders=f.orders, revenue=f.revenue, cost=f.cost.rial,
                range=period.describe(), lift=lift)
