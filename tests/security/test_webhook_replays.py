"""Low finding: a webhook delivery replayed (same body, same X-WC-Webhook-Delivery-ID, or the
same body re-sent later) was stored again, each copy kept and processed. Now a delivery is
stored once per store, topic and body: a correctly signed replay is answered 200 with the
first delivery's id and changes nothing."""

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from app.commerce.models import Order
from app.ingest.models import WebhookDelivery
from app.ingest.service import process_pending
from tests.campaigns.shop import tehran
from tests.helpers import deliver, wc_body

ORDER = {"id": 7001, "number": "7001", "status": "processing", "currency": "IRT",
         "total": "600000", "billing": {"first_name": "علی", "phone": "09121112233"},
         "line_items": [], "date_created_gmt": "2026-11-24T06:30:00",
         "date_modified_gmt": "2026-11-24T06:30:00", "date_paid_gmt": "2026-11-24T06:30:00"}


def deliveries(factory) -> list[WebhookDelivery]:
    with factory() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def orders(factory) -> int:
    with factory() as session:
        return len(session.scalars(select(Order)).all())


def test_an_exact_replay_is_answered_and_stored_once(client, store, factory, clock):
    body = wc_body(ORDER)
    first = deliver(client, store, "order.updated", body)
    replay = deliver(client, store, "order.updated", body)  # same bytes, same delivery id

    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json() == {"ok": True,
                                             "delivery_id": deliveries(factory)[0].id}
    assert len(deliveries(factory)) == 1
    process_pending(factory, now=clock.now())
    assert [d.status for d in deliveries(factory)] == ["applied"] and orders(factory) == 1


def test_the_same_body_resent_later_changes_nothing(client, store, factory, clock):
    body = wc_body(ORDER)
    first = deliver(client, store, "order.updated", body)
    clock.set(tehran("2026-11-25T10:00"))
    process_pending(factory, now=clock.now())
    [stored] = deliveries(factory)

    clock.set(tehran("2026-12-20T10:00"))
    later = deliver(client, store, "order.updated", body,
                    extra_headers={"X-WC-Webhook-Delivery-ID": "another-delivery-id"})
    process_pending(factory, now=clock.now())

    assert later.status_code == 200 and later.json() == first.json()
    [after] = deliveries(factory)
    assert (after.id, after.status, after.processed_at, after.received_at) == (
        stored.id, "applied", stored.processed_at, stored.received_at)


def test_replays_arriving_together_are_stored_once(client, store, factory, clock):
    """Several copies at once land in one batch of the group-commit writer."""
    body = wc_body(ORDER | {"id": 7002, "number": "7002"})
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: deliver(client, store, "order.updated", body),
                                range(8)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["delivery_id"] for a in answers}) == 1
    assert len(deliveries(factory)) == 1


def test_the_same_body_under_another_topic_is_another_delivery(client, store, factory):
    body = wc_body({"id": 7003})
    assert deliver(client, store, "order.deleted", body).status_code == 200
    assert deliver(client, store, "product.deleted", body).status_code == 200
    assert [d.topic for d in deliveries(factory)] == ["order.deleted", "product.deleted"]
