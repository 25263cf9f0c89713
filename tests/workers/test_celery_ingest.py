"""Production mode: the API nudges a Celery worker through Redis to apply deliveries."""

import time

import httpx
from celery.contrib.testing.worker import start_worker
from sqlalchemy import select

from app.commerce.models import Order
from app.config import Settings
from app.http import tls
from app.ingest.models import WebhookDelivery
from tests.conftest import LiveServer
from tests.helpers import deliver
from workers.celery_app import make_celery


def test_a_delivery_is_applied_by_a_real_worker(database_url, redis_url, factory, store):
    celery = make_celery(redis_url=redis_url, database_url=database_url)
    settings = Settings(database_url=database_url, redis_url=redis_url)
    with LiveServer(settings, background=True) as server, \
            start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with httpx.Client(verify=tls(), base_url=server.url, timeout=10) as client:
            assert deliver(client, store, "order.deleted", {"id": 31}).status_code == 200
        deadline = time.monotonic() + 30  # a bound, not a wait: the worker is nudged at once
        while time.monotonic() < deadline:
            with factory() as session:
                status = session.scalar(select(WebhookDelivery.status))
            if status != "pending":
                break
            time.sleep(0.05)
    assert status == "applied"
    with factory() as session:
        assert session.scalars(select(Order.wc_id)).all() == [31]
