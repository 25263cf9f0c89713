"""Celery tasks: thin wrappers that load ids and call app services."""

import logging
from dataclasses import asdict
from datetime import datetime
from functools import lru_cache

from billiard.exceptions import Terminated, WorkerLostError
from celery import shared_task
from celery.worker.request import Request

from app import scheduler
from app.campaigns import dispatch
from app.clock import SYSTEM
from app.db import make_engine, make_sessionmaker
from app.ingest.service import process_pending
from app.messaging.gateway import make_gateways
from app.ops import liveness

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


# ---- ops: a stopping or killed worker process resolves its batch (graceful shutdown) ----
_PROCESS_GONE = (Terminated, WorkerLostError, SystemExit, KeyboardInterrupt)


class SendBatchRequest(Request):
    """Runs in the worker's main process. When the child running a batch is gone (a cold
    shutdown cancelled it, or it was killed) nothing can be sending that batch any more: its
    messages are resolved now, as the reaper would after 10 minutes (asked at the gateway by
    localid: taken → sent; never approved or not taken → scheduled again). The broker's copy
    of the task, requeued or not, then finds no claim of its own left and does nothing."""

    def on_failure(self, exc_info, send_failed_event=True, return_ok=False):
        exc = getattr(exc_info.exception, "exc", exc_info.exception)
        ids, now = (list(self.args) + [None, None])[:2]
        if isinstance(exc, _PROCESS_GONE) and ids and now:
            try:
                url = self.task.app.conf.bazgasht_database_url
                resolved = dispatch.reap(_sessionmaker(url), _gateways_for(url),
                                         SYSTEM.now(),
                                         batch=(ids, datetime.fromisoformat(now)))
                log.warning("send batch %s stopped mid-way (%s): %d of its %d messages "
                            "resolved at once", self.id, type(exc).__name__, resolved, len(ids))
            except Exception:  # the reaper resolves them later
                log.exception("could not resolve the messages of stopped batch %s", self.id)
        return super().on_failure(exc_info, send_failed_event=send_failed_event,
                                  return_ok=return_ok)
# ---- end ops ----


@shared_task(name="bazgasht.campaigns.send_batch", bind=True, acks_late=True,
             Request=SendBatchRequest)
def send_batch(self, message_ids: list[int], now: str | None = None) -> dict:
    """Send claimed messages. A redelivered task is harmless: only "sending" rows are sent."""
    at = datetime.fromisoformat(now) if now else SYSTEM.now()
    url = self.app.conf.bazgasht_database_url
    return dispatch.send_batch(_factory(self), _gateways(self), message_ids, at,
                               worker=_liveness_for(url).token())


def _to_workers(ids: list[int], when: datetime) -> None:
    """Dispatch's executor here: each batch of claimed ids becomes a send_batch task."""
    send_batch.apply_async((ids, when.isoformat()))


def _job_task(job: scheduler.Job):
    """The Celery task of one scheduler job (app/scheduler.py), on its own beat entry."""

    @shared_task(name=job.task, bind=True)
    def run(self, now: str | None = None) -> dict:
        at = datetime.fromisoformat(now) if now else SYSTEM.now()
        return asdict(scheduler.run_job(job.name, _factory(self), _gateways(self), at,
                                        executor=_to_workers))

    return run


JOB_TASKS = {job.name: _job_task(job) for job in scheduler.JOBS}


@shared_task(name="bazgasht.campaigns.tick", bind=True)
def tick(self, now: str | None = None) -> dict:
    """Every job once, in turn (by hand, or a benchmark); beat schedules the jobs apart."""
    at = datetime.fromisoformat(now) if now else SYSTEM.now()
    return asdict(scheduler.tick(_factory(self), _gateways(self), at, executor=_to_workers))
