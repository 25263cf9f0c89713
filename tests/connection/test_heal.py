"""The connections job: broken webhooks put right, what was missed meanwhile back-filled through
the normal ingest, and a store with refused deliveries checked at once."""

import json
import threading
from datetime import timedelta

from sqlalchemy import select

from app.commerce.models import Order
from app.commerce.topics import WEBHOOK_TOPICS
from app.connection.service import check_connections
from app.ingest.models import WebhookDelivery
from app.scheduler import BY_NAME
from app.stores.service import webhook_url
from tests.campaigns.shop import Shop, gmt, tehran
from tests.connection.conftest import approve, store_row, topics
from tests.helpers import ALL_DONE, capture, deliver
from tests.ops.conftest import wait_until

PLACED = tehran("2026-11-24T10:00")  # a Tuesday, inside the default sending window


def _hook(woo, topic: str) -> dict:
    [hook] = [w for w in woo.webhooks if w["topic"] == topic]
    return hook


def _check(factory, clock, live_server) -> int:
    return check_connections(factory, clock.now(), public_url=live_server.url, deadline=ALL_DONE)


def test_disabled_deleted_and_moved_webhooks_are_put_right(api, shop_at_woo, woo, factory,
                                                           clock, live_server):
    clock.set(PLACED)
    approve(api)
    disabled, deleted = _hook(woo, "order.updated"), _hook(woo, "product.created")
    moved = _hook(woo, "order.deleted")
    woo.disable_webhook(disabled["id"])
    woo.delete_webhook_behind(deleted["id"])
    woo._update_webhook(woo._webhooks[moved["id"]], {"delivery_url": "https://elsewhere.example/"})
    clock.set(PLACED + timedelta(minutes=5))
    assert _check(factory, clock, live_server) == 0  # checked at the connect: not due yet
    clock.set(PLACED + timedelta(minutes=15))
    assert _check(factory, clock, live_server) == 1
    results = topics(factory, shop_at_woo.id)
    assert results["order.updated"] == "reactivated"
    assert results["product.created"] == "recreated"
    assert results["order.deleted"] == "updated"
    assert {results[t] for t in WEBHOOK_TOPICS} - {"reactivated", "recreated", "updated"} == {"ok"}
    assert sorted(w["topic"] for w in woo.webhooks) == sorted(WEBHOOK_TOPICS)
    url = webhook_url(live_server.url, shop_at_woo.id)
    for hook in woo.webhooks:
        assert (hook["status"], hook["delivery_url"], hook["secret"]) == (
            "active", url, shop_at_woo.webhook_secret)
    assert store_row(factory, shop_at_woo.id).connection_checked_at == clock.now()
    # Healthy now: the next round in 15 minutes finds nothing to do.
    clock.set(PLACED + timedelta(minutes=30))
    assert _check(factory, clock, live_server) == 1
    assert set(topics(factory, shop_at_woo.id).values()) == {"ok"}


def test_a_store_the_job_cannot_reach_is_recorded_failed_and_others_go_on(
        api, shop_at_woo, woo, factory, clock, live_server):
    clock.set(PLACED)
    approve(api)
    woo.fail_next("GET /webhooks", 503)
    clock.set(PLACED + timedelta(minutes=15))
    assert _check(factory, clock, live_server) == 1
    results = topics(factory, shop_at_woo.id)
    assert set(results.values()) == {"failed"}
    with factory() as session:
        from app.connection.models import StoreWebhook
        errors = session.scalars(select(StoreWebhook.error)).all()
    assert all("503" in e for e in errors)
    assert woo.issued_keys[0].consumer_secret not in "".join(errors)


def test_the_connections_job_is_scheduled_like_the_others():
    job = BY_NAME["connections"]
    assert job.task == "bazgasht.jobs.connections" and job.every == 60.0


def test_story_the_secret_breaks_the_order_is_paid_and_no_reminder_goes_out(
        api, client, shop_at_woo, woo, factory, clock, live_server, fixtures_dir):
    """The secret of order.updated is changed in WooCommerce; the customer pays meanwhile, and
    that delivery is refused. The job heals the webhook at once and back-fills the paid order:
    bazgasht knows it is purchased, and its lost-order reminder is skipped."""
    shop = Shop(client, shop_at_woo, factory, clock)
    clock.set(PLACED - timedelta(hours=1))
    approve(api)
    # The order is placed and left at the bank's page; its delivery arrives as usual.
    _, body = capture(fixtures_dir, "010_order.created.json")
    pending = json.loads(body) | {
        "id": 101, "number": "101", "status": "pending", "date_created_gmt": gmt(PLACED),
        "date_modified_gmt": gmt(PLACED), "date_paid_gmt": None, "meta_data": []}
    woo.add_order(pending)
    assert deliver(client, shop_at_woo, "order.updated", pending).status_code == 200
    shop.apply(PLACED)
    clock.set(PLACED + timedelta(minutes=2))
    assert _check(factory, clock, live_server) == 1  # an hour since the connect: due
    # The merchant changes the webhook's secret; the customer pays; WooCommerce's delivery is
    # signed with the wrong secret and refused.
    hook = _hook(woo, "order.updated")
    woo.set_webhook_secret(hook["id"], "changed-by-the-merchant")
    paid_at = PLACED + timedelta(minutes=10)
    paid = pending | {"status": "processing", "date_modified_gmt": gmt(paid_at),
                      "date_paid_gmt": gmt(paid_at)}
    woo.add_order(paid)
    clock.set(paid_at)
    refused = deliver(client, shop_at_woo, "order.updated", paid,
                      secret="changed-by-the-merchant")
    assert refused.status_code == 401
    live_server.app.state.rejection_recorder.flush()
    # Five minutes after the last check, not fifteen: the refusal makes the store due at once.
    clock.set(PLACED + timedelta(minutes=12))
    assert _check(factory, clock, live_server) == 1
    assert topics(factory, shop_at_woo.id)["order.updated"] == "updated"
    assert woo.webhook(hook["id"])["secret"] == shop_at_woo.webhook_secret
    with factory() as session:
        stored = session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.webhook_id == "backfill")).all()
    assert [(d.topic, json.loads(d.body)["status"]) for d in stored] == [
        ("order.updated", "processing")]
    shop.apply(PLACED + timedelta(minutes=12))
    with factory() as session:
        order = session.scalar(select(Order).where(Order.wc_id == 101))
        assert order.purchased and order.status == "processing"
    # A back-fill 15 minutes later finds it applied already: nothing is stored twice.
    clock.set(PLACED + timedelta(minutes=27))
    assert _check(factory, clock, live_server) == 1
    with factory() as session:
        assert session.scalar(select(WebhookDelivery.id).where(
            WebhookDelivery.webhook_id == "backfill", WebhookDelivery.id != stored[0].id)) is None
    # The lost-order reminder was due 30 minutes after placing: nothing is sent.
    shop.tick(PLACED + timedelta(minutes=30))
    shop.tick(PLACED + timedelta(days=1))
    assert shop.sms() == []


def test_a_store_being_checked_is_leased_not_checked_twice(api, shop_at_woo, woo, factory, clock,
                                                            live_server):
    """No lock is held while a store is called: a second round running meanwhile skips the
    store the first one holds, and the store is free again once the first is done."""
    clock.set(PLACED)
    approve(api)
    clock.set(PLACED + timedelta(minutes=15))
    woo.hold("GET /webhooks")
    first: dict = {}
    thread = threading.Thread(target=lambda: first.update(done=_check(factory, clock,
                                                                       live_server)))
    thread.start()
    try:
        wait_until(lambda: woo.holding("GET /webhooks"), what="the first round's listing")
        assert _check(factory, clock, live_server) == 0
    finally:
        woo.release("GET /webhooks")
        thread.join(60)
    assert first["done"] == 1
    assert len(woo.calls("GET /webhooks")) == 2  # the connect's and the first round's
    assert store_row(factory, shop_at_woo.id).connection_leased_until is None
    clock.set(PLACED + timedelta(minutes=30))
    assert _check(factory, clock, live_server) == 1
