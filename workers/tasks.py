"""Celery tasks: thin wrappers that load ids and call app services."""

import logging
from dataclasses import asdict
from datetime import datetime
from functools import lru_cache

from billiard.exceptions import Terminated, WorkerLostError
from celery import shared_task
from celery.worker.request import Request

from app import scheduler
from app.campaigns import dispatch, service
from app.clock import SYSTEM
from app.config import get_settings
from app.db import make_engine, make_sessionmaker
from app.ingest.service import process_pending
from app.messaging.gateway import make_gateways
from app.ops import liveness
from app.ops.locks import try_exclusive

log = logging.getLogger(__name__)


@lru_cache
def _sessionmaker(database_url: str):
    return make_sessionmaker(make_engine(database_url))


def _factory(task):
    return _sessionmaker(task.app.conf.bazgasht_database_url)


@lru_cache
def _gateways_for(database_url: str):
    return make_gateways(_sessionmaker(database_url))


@lru_cache
def _liveness_for(database_url: str) -> liveness.Liveness:
    return liveness.Liveness(_sessionmaker(database_url).kw["bind"])


def _gateways(task):
    """One set of gateway clients per worker process: connections are reused across tasks."""
    return _gateways_for(task.app.conf.bazgasht_database_url)


@shared_task(name="bazgasht.ingest.process_pending", bind=True)
def apply_webhook_deliveries(self) -> int:
    return process_pending(_factory(self), now=SYSTEM.now())


# ---- ops: a stopping or killed worker process resolves its claims (graceful shutdown) ----
_PROCESS_GONE = (Terminated, WorkerLostError, SystemExit, KeyboardInterrupt)


class SenderRequest(Request):
    """Runs in the worker's main process. When the child running a sender is gone (a cold
    shutdown cancelled it, or it was killed) its liveness lock went with its connection: the
    reaper is run now, which frees the claims of every sending process that is gone (asked at
    the gateway by localid first: taken → sent; never approved or not taken → scheduled
    again), instead of at its next round; and the sender's slot is woken again."""

    def on_failure(self, exc_info, send_failed_event=True, return_ok=False):
        exc = getattr(exc_info.exception, "exc", exc_info.exception)
        if isinstance(exc, _PROCESS_GONE):
            try:
                url = self.task.app.conf.bazgasht_database_url
                if self.worker_pid:
                    dispatch.await_gone(_sessionmaker(url), liveness.prefix(self.worker_pid),
                                        within=GONE_WITHIN)
                resolved = dispatch.reap(_sessionmaker(url), _gateways_for(url), SYSTEM.now())
                log.warning("sender %s stopped mid-way (%s): %d claimed messages resolved "
                            "at once", self.id, type(exc).__name__, resolved)
            except Exception:  # the reaper resolves them at its next round
                log.exception("could not resolve the claims of stopped sender %s", self.id)
            try:  # its slot goes on at once, in another process, not at the next tick
                send_due.apply_async(tuple(self.args), queue=_queue(self.delivery_info))
            except Exception:  # the next tick's dispatch wakes it
                log.exception("could not wake the slot of stopped sender %s again", self.id)
        return super().on_failure(exc_info, send_failed_event=send_failed_event,
                                  return_ok=return_ok)


def _queue(delivery_info: dict | None) -> str | None:
    """The queue a task came from: its successor goes to the same one."""
    return (delivery_info or {}).get("routing_key") or None


# A killed child's connection, and its liveness lock with it, closes a moment after the child:
# the main process waits at most this long for the lock to be free before it resolves.
GONE_WITHIN = 5.0
# ---- end ops ----


@shared_task(name="bazgasht.campaigns.send_due", bind=True, Request=SenderRequest)
def send_due(self, slot: int, now: str | None = None) -> dict:
    """Sender `slot`: while anything is due, claim a batch under this process's token, guard
    it and send it, for SENDER_BUDGET seconds; then, if more is due, hand over to a successor
    at the back of the queue (jobs waiting for a worker go first). The slot's lock keeps at most
    `settings.senders` of them running: a woken sender whose slot is busy ends at once."""
    url = self.app.conf.bazgasht_database_url
    factory = _factory(self)
    with try_exclusive(factory.kw["bind"], f"sender:{slot}") as mine:
        if not mine:
            return {"slot": slot, "busy": True}
        claimed, outcome, more = service.send_due(
            factory, _gateways(self), datetime.fromisoformat(now) if now else SYSTEM.now,
            worker=_liveness_for(url).token(), budget=service.SENDER_BUDGET)
    if more:
        send_due.apply_async((slot, now), queue=_queue(self.request.delivery_info))
    return {"slot": slot, "claimed": claimed, "outcome": outcome, "more": more}


def wake_senders(now: str | None = None, senders: int | None = None) -> int:
    """A nudge to every sender slot (each ends at once if its slot is already running).
    `now`: the moment to send at (by hand, tests); None: the clock, read before each batch."""
    count = senders or get_settings().senders
    expires = get_settings().tick_seconds  # a nudge nobody ran in time: the next one comes
    for slot in range(count):
        send_due.apply_async((slot, now), expires=expires)
    return count


def _job_task(job: scheduler.Job):
    """The Celery task of one scheduler job (app/scheduler.py), on its own beat entry."""

    @shared_task(name=job.task, bind=True)
    def run(self, now: str | None = None) -> dict:
        at = datetime.fromisoformat(now) if now else SYSTEM.now()
        return asdict(scheduler.run_job(job.name, _factory(self), _gateways(self), at,
                                        wake=lambda: wake_senders(now)))

    return run


JOB_TASKS = {job.name: _job_task(job) for job in scheduler.JOBS}


@shared_task(name="bazgasht.campaigns.tick", bind=True)
def tick(self, now: str | None = None) -> dict:
    """Every job once, in turn (by hand, or a benchmark); beat schedules the jobs apart."""
    at = datetime.fromisoformat(now) if now else SYSTEM.now()
    return asdict(scheduler.tick(_factory(self), _gateways(self), at,
                                 wake=lambda: wake_senders(now)))
