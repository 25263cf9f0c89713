"""Celery tasks: thin wrappers that load ids and call app services."""

from datetime import datetime, timezone
from functools import lru_cache

from celery import shared_task

from app.campaigns import dispatch, service as campaigns
from app.db import make_engine, make_sessionmaker
from app.ingest.service import process_pending
from app.messaging.gateway import make_gateways


@lru_cache
def _sessionmaker(database_url: str):
    return make_sessionmaker(make_engine(database_url))


def _factory(task):
    return _sessionmaker(task.app.conf.bazgasht_database_url)


@lru_cache
def _gateways_for(database_url: str):
    return make_gateways(_sessionmaker(database_url))


def _gateways(task):
    """One set of gateway clients per worker process: connections are reused across tasks."""
    return _gateways_for(task.app.conf.bazgasht_database_url)


@shared_task(name="bazgasht.ingest.process_pending", bind=True)
def apply_webhook_deliveries(self) -> int:
    return process_pending(_factory(self))


@shared_task(name="bazgasht.campaigns.send_batch", bind=True, acks_late=True)
def send_batch(self, message_ids: list[int], now: str | None = None) -> dict:
    """Send claimed messages. A redelivered task is harmless: only "sending" rows are sent."""
    at = datetime.fromisoformat(now) if now else datetime.now(timezone.utc)
    factory = _factory(self)
    return dispatch.send_batch(factory, _gateways(self), message_ids, at)


@shared_task(name="bazgasht.campaigns.tick", bind=True)
def tick(self, now: str | None = None) -> dict:
    at = datetime.fromisoformat(now) if now else datetime.now(timezone.utc)
    factory = _factory(self)

    def to_workers(ids: list[int], when: datetime) -> None:
        send_batch.apply_async((ids, when.isoformat()))

    report = campaigns.tick(factory, _gateways(self), at, executor=to_workers)
    return {"enrolled": report.enrolled, "claimed": report.claimed, "reaped": report.reaped}
