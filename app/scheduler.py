"""The scheduler: independent jobs, each with its own lock and its own interval.

Every job is resumable: the database says what is left to do, so a round that fails, is skipped
or stops at its deadline costs a delay, never work. No job waits for another: in production
each is its own Celery task on its own beat entry (workers/), and a job's lock (a PostgreSQL
advisory lock named after it, app/ops/locks.py) keeps two rounds of the same job from running
at once; a round that finds it taken does nothing. Embedded mode (`serve`) and `bazgasht tick`
run every job in turn, in the order of JOBS, each on its own: one that raises is logged and
counted, and the next one runs.

The order matters where jobs run in turn: a «stop» is read before anything is sent, and stores
are resumed, stalled sends resolved and coupons made before the claim.
"""

import logging
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.alerts.service import deliver_alerts
from app.broadcasts import service as broadcasts
from app.campaigns.coupons import check_fixed_codes, delete_unsent_coupons, prepare_coupons
from app.campaigns.delivery import poll_deliveries, recheck_paused_stores
from app.campaigns.dispatch import reap
from app.campaigns.enroll import enroll_due
from app.campaigns.service import oldest_due, platform_senders, send_due
from app.config import get_settings
from app.connection.service import check_connections
from app.db import unit_of_work
from app.ingest.service import forget_bodies
from app.messaging.inbound import read_replies
from app.ops import metrics
from app.ops.fanout import DEADLINE, Deadline
from app.ops.locks import try_exclusive
from app.ops.logs import log_context, redact
from app.reports.rollup import roll_up

log = logging.getLogger(__name__)

RAN, SKIPPED, FAILED = "ran", "skipped", "failed"
# Jobs whose work is throttled per store or message anyway (a report polled every 5 minutes, a
# send is stalled after 10): a shorter beat finds nothing.
SLOW = 60.0
# Jobs that only look whether there is anything to do (an indexed query) and then act: cheap
# enough to run this often in production, so a retry, a claim of a dead worker or a store whose
# credit is back waits seconds, not a tick.
SOON = 5.0
# Enrolment wakes the senders at most this often (seconds) while it commits rounds.
WAKE_EVERY = 1.0
# Retention counts in days: once an hour is soon enough, and spares the scan.
RETENTION = 3600.0


@dataclass(frozen=True)
class Context:
    """What the jobs work with."""

    factory: sessionmaker[Session]
    gateways: Any  # gateways.for_store(store): each store's SMS gateway
    # Production: wakes the senders in the workers (Celery tasks that claim and send, batch
    # after batch, while anything is due); returns how many it woke. None: dispatch sends
    # in this thread (embedded mode, the CLI, tests).
    wake: Callable[[], int] | None = None
    # How long a job's round waits for the stores' calls (app/ops/fanout.py).
    deadline: Deadline = DEADLINE


@dataclass(frozen=True)
class Job:
    name: str  # its lock, its metrics label and its Celery task's name
    run: Callable[[Context, datetime], dict[str, Any]]  # what it did, named as in TickReport
    every: float | None = None  # seconds between rounds under beat; None: TICK_SECONDS
    # Calls URLs that tenants chose (their store, their alert webhook): such a call is never
    # made holding a lock, so the job takes none (each piece of its work is leased in the
    # database, which is what keeps two rounds apart), and in embedded mode it runs in a loop
    # of its own, so a merchant's slow endpoint never delays anyone's SMS.
    calls_tenants: bool = False
    # Takes its lock itself, around its database work only: it asks the gateways something
    # first, and a lock is never held while an outside service is asked (app/broadcasts).
    locks_itself: bool = False

    @property
    def task(self) -> str:
        return f"bazgasht.jobs.{self.name}"

    def interval(self, tick_seconds: float) -> float:
        return self.every or tick_seconds


def _replies(ctx: Context, now: datetime) -> dict[str, Any]:
    return {"replies": read_replies(ctx.factory, ctx.gateways, now,
                                    platform_senders=platform_senders, deadline=ctx.deadline)}


def _enrolment(ctx: Context, now: datetime) -> dict[str, Any]:
    # Round after round, each committed, while there is work (up to a time budget); in
    # production the senders are woken as rounds commit (at most once a second), so a backlog
    # starts going out while it is still being enrolled, not at the next dispatch.
    wake = ctx.wake
    woken = [float("-inf")]

    def on_round(_enrolled: int) -> None:
        if wake is not None and time.monotonic() - woken[0] >= WAKE_EVERY:
            woken[0] = time.monotonic()
            wake()

    return {"enrolled": enroll_due(ctx.factory, now, on_round=on_round)}


def _broadcasts(ctx: Context, now: datetime) -> dict[str, Any]:
    # Broadcasts whose time has come: the money checked (the gateway asked with no lock
    # held), then, under the job's own short lock, their members enrolled; the senders are
    # woken as each is in. Then those whose messages are all final are marked sent.
    started = broadcasts.start_due(ctx.factory, ctx.gateways, now, on_enrolled=ctx.wake)
    resumed = broadcasts.resume_enrolment(ctx.factory, now)
    with unit_of_work(ctx.factory) as session:
        finished = broadcasts.finish_sent(session, now)
    return {"broadcasts_started": started + resumed, "broadcasts_finished": finished}


def _paused_stores(ctx: Context, now: datetime) -> dict[str, Any]:
    resumed = recheck_paused_stores(ctx.factory, ctx.gateways, now, deadline=ctx.deadline)
    if resumed and ctx.wake is not None:  # their held messages are due now: no tick's wait
        ctx.wake()
    return {"resumed": resumed}


def _reaper(ctx: Context, now: datetime) -> dict[str, Any]:
    return {"reaped": reap(ctx.factory, ctx.gateways, now, deadline=ctx.deadline)}


def _coupons(ctx: Context, now: datetime) -> dict[str, Any]:
    # Coupons of messages that will never go out, deleted from the stores; the fixed codes of
    # messages due soon, looked up in the stores (held if missing); personal coupons for
    # messages due soon, made in the stores: all before the claim.
    deleted = delete_unsent_coupons(ctx.factory, now, deadline=ctx.deadline)
    held = check_fixed_codes(ctx.factory, now, deadline=ctx.deadline)
    return {"coupons_deleted": deleted, "coupon_codes_missing": held,
            "coupons": prepare_coupons(ctx.factory, now, deadline=ctx.deadline)}


def _dispatch(ctx: Context, now: datetime) -> dict[str, Any]:
    if ctx.wake is not None:  # production: the senders claim and send, in the workers
        with ctx.factory() as session:
            due = oldest_due(session, now) is not None
        return {"senders_woken": ctx.wake() if due else 0}
    claimed, outcome, _ = send_due(ctx.factory, ctx.gateways, now, deadline=ctx.deadline)
    return {"claimed": claimed, "outcome": outcome}


def _delivery_reports(ctx: Context, now: datetime) -> dict[str, Any]:
    return {"delivery_updates": poll_deliveries(ctx.factory, ctx.gateways, now,
                                                deadline=ctx.deadline)}


def _alerts(ctx: Context, now: datetime) -> dict[str, Any]:  # what merchants must hear of
    return {"alerts": deliver_alerts(ctx.factory, ctx.gateways, now,
                                     deadline=ctx.deadline).claimed}


def _connections(ctx: Context, now: datetime) -> dict[str, Any]:
    # One-click connections: each store's webhooks checked and healed, gaps back-filled
    # (app/connection): every 15 minutes a store, at once after a refused delivery.
    return {"connections": check_connections(ctx.factory, now,
                                             public_url=get_settings().public_url,
                                             deadline=ctx.deadline)}


def _webhook_bodies(ctx: Context, now: datetime) -> dict[str, Any]:
    # Shoppers' data in stored webhook bodies is kept only as long as the settings say.
    before = now - timedelta(days=get_settings().webhook_body_retention_days)
    with unit_of_work(ctx.factory) as session:
        return {"bodies_forgotten": forget_bodies(session, before=before)}


def _report_rollup(ctx: Context, now: datetime) -> dict[str, Any]:
    # The reports' daily rollup: dirty days rolled up again, every store up to yesterday.
    return {"rolled_up_days": roll_up(ctx.factory, now)}


# The one list of jobs: the embedded loop, `bazgasht tick` and the beat schedule all read it.
JOBS = (
    Job("replies", _replies),
    Job("enrolment", _enrolment),
    Job("broadcasts", _broadcasts, locks_itself=True),
    Job("paused_stores", _paused_stores, every=SOON),
    # A sending process that died is seen by its free liveness lock (app/ops/liveness.py): its
    # claims are resolved at the reaper's next round.
    Job("reaper", _reaper, every=SOON),
    Job("coupons", _coupons, calls_tenants=True),
    Job("dispatch", _dispatch, every=SOON),
    Job("delivery_reports", _delivery_reports, every=SLOW),
    Job("alerts", _alerts, calls_tenants=True),
    Job("connections", _connections, every=SLOW, calls_tenants=True),
    Job("webhook_bodies", _webhook_bodies, every=RETENTION),
    Job("report_rollup", _report_rollup, every=SLOW),
)
BY_NAME = {job.name: job for job in JOBS}
OWN_JOBS = tuple(job for job in JOBS if not job.calls_tenants)
TENANT_JOBS = tuple(job for job in JOBS if job.calls_tenants)


@dataclass
class JobReport:
    job: str
    result: str = RAN  # ran, skipped (another round of the job held its lock), failed (logged)
    did: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class TickReport:
    """A round of every job: what they did, each under the names its job reports, and how
    each job's round ended."""

    replies: int = 0
    enrolled: int = 0
    broadcasts_started: int = 0
    broadcasts_finished: int = 0
    resumed: int = 0
    reaped: int = 0
    coupons: int = 0
    coupons_deleted: int = 0
    coupon_codes_missing: int = 0  # messages held: their fixed code is not usable in the store
    claimed: int = 0
    outcome: dict[str, int] = field(default_factory=dict)
    senders_woken: int = 0  # production: sender tasks the dispatch job started
    delivery_updates: int = 0
    alerts: int = 0
    connections: int = 0  # stores whose connection was checked
    bodies_forgotten: int = 0  # webhook bodies emptied after the retention period
    rolled_up_days: int = 0  # (store, day)s of the reports' rollup made again
    jobs: dict[str, str] = field(default_factory=dict)  # job → ran, skipped or failed
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # job → what it raised

    def add(self, report: JobReport) -> None:
        self.jobs[report.job] = report.result
        if report.result == SKIPPED:
            self.skipped.append(report.job)
        elif report.result == FAILED:
            self.failed[report.job] = report.error or ""
        for name, value in report.did.items():
            if name not in _DID:
                raise ValueError(f"job {report.job} reported {name!r}: not a TickReport count")
            setattr(self, name, value)


_DID = {f.name for f in fields(TickReport)} - {"jobs", "skipped", "failed"}


def run_job(name: str, factory: sessionmaker[Session], gateways, now: datetime, *,
            wake: Callable[[], int] | None = None, deadline: Deadline = DEADLINE) -> JobReport:
    """One round of the job `name`, unless another round of it is running on this database
    right now (then: skipped, at once; jobs that call tenants' URLs are never skipped: their
    work is leased). Never raises for the job's own errors: they are logged, counted and
    reported as `failed`."""
    return _run(BY_NAME[name], Context(factory, gateways, wake, deadline), now)


def tick(factory: sessionmaker[Session], gateways, now: datetime, *,
         wake: Callable[[], int] | None = None, deadline: Deadline = DEADLINE,
         jobs: Iterable[Job] = JOBS) -> TickReport:
    """A round of every job, in order, each on its own (embedded mode, `bazgasht tick`, the
    convenience `tick` task): a job that fails or is skipped stops none of the others."""
    context = Context(factory, gateways, wake, deadline)
    report = TickReport()
    for job in jobs:
        report.add(_run(job, context, now))
    return report


def _run(job: Job, context: Context, now: datetime) -> JobReport:
    with log_context(job=job.name):
        started = time.perf_counter()
        try:
            lock = (nullcontext(True) if job.calls_tenants or job.locks_itself
                    else try_exclusive(context.factory.kw["bind"], job.name))
            with lock as mine:
                if not mine:
                    metrics.TICKS.labels(job.name, SKIPPED).inc()
                    return JobReport(job.name, SKIPPED)
                did = job.run(context, now)
        except Exception as exc:
            log.exception("job %s failed; the other jobs go on", job.name)
            metrics.TICKS.labels(job.name, FAILED).inc()
            return JobReport(job.name, FAILED, error=redact(f"{type(exc).__name__}: {exc}")[:300])
        except BaseException:  # stopping (a worker's shutdown): counted, not swallowed
            metrics.TICKS.labels(job.name, FAILED).inc()
            raise
        metrics.TICKS.labels(job.name, RAN).inc()
        metrics.TICK_SECONDS.labels(job.name).observe(time.perf_counter() - started)
        return JobReport(job.name, did=did)
