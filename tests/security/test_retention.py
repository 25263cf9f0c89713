"""Low finding: stored webhook bodies (shoppers' names, phones, addresses) were kept forever.
The scheduler's webhook_bodies job now empties the bodies of deliveries older than
WEBHOOK_BODY_RETENTION_DAYS (30 by default) once they are done with, dead letters included;
each row's topic, status, dates and body hash stay (reports, replay detection)."""

from datetime import timedelta

from sqlalchemy import select

from app.ingest.models import WebhookDelivery
from app.ingest.service import process_pending
from app.messaging.gateway import ConsoleGateway
from app.scheduler import run_job
from tests.campaigns.shop import tehran
from tests.helpers import deliver, wc_body

AT = tehran("2026-11-01T10:00")
ORDER = {"id": 8001, "number": "8001", "status": "processing", "currency": "IRT",
         "total": "600000", "billing": {"first_name": "علی", "phone": "09121114455"},
         "line_items": [], "date_created_gmt": "2026-11-01T06:30:00",
         "date_modified_gmt": "2026-11-01T06:30:00"}


def by_topic(factory) -> dict[str, WebhookDelivery]:
    with factory() as session:
        return {d.topic: d for d in session.scalars(select(WebhookDelivery))}


def forget(factory, at) -> int:
    report = run_job("webhook_bodies", factory, ConsoleGateway(factory), at)
    assert report.result == "ran", report
    return report.did["bodies_forgotten"]


def test_bodies_go_after_the_retention_period_the_rows_stay(client, store, factory, clock):
    clock.set(AT)
    applied = deliver(client, store, "order.updated", wc_body(ORDER))
    dead = deliver(client, store, "action.woocommerce_add_to_cart", wc_body({"key": "abc"}))
    assert applied.status_code == dead.status_code == 200
    process_pending(factory, now=clock.now())
    clock.set(AT + timedelta(days=2))
    pending = deliver(client, store, "product.updated", wc_body({"id": 9, "name": "قوری"}))
    assert pending.status_code == 200  # not applied yet: keeps its body whatever its age
    before = by_topic(factory)
    assert before["action.woocommerce_add_to_cart"].status == "dead_letter"

    assert forget(factory, AT + timedelta(days=29)) == 0
    assert forget(factory, AT + timedelta(days=40)) == 2

    after = by_topic(factory)
    for topic in ("order.updated", "action.woocommerce_add_to_cart"):
        assert after[topic].body == b""
        assert (after[topic].status, after[topic].received_at, after[topic].processed_at,
                after[topic].body_sha256) == (before[topic].status, before[topic].received_at,
                                               before[topic].processed_at,
                                               before[topic].body_sha256)
    assert after["product.updated"].body == before["product.updated"].body != b""
    assert forget(factory, AT + timedelta(days=41)) == 0  # nothing left to forget

    # A replay of a forgotten body is still recognised: stored once.
    replay = deliver(client, store, "order.updated", wc_body(ORDER))
    assert replay.json() == applied.json()
