"""A store whose WooCommerce signs with another secret: every delivery is refused (401), and the
merchant is told — per topic, how often, since when — instead of a counter only operators see."""

from sqlalchemy import select

from app.ingest.models import WebhookRejection
from tests.helpers import bearer, deliver


def test_refused_deliveries_are_counted_for_the_merchant(client, store, live_server, factory):
    order = {"id": 1, "status": "processing", "date_modified_gmt": "2026-11-24T06:30:00"}
    for _ in range(3):
        assert deliver(client, store, "order.updated", order,
                       secret="the-secret-of-another-store").status_code == 401
    assert deliver(client, store, "product.updated", {"id": 5}, signature="").status_code == 401
    assert deliver(client, store, "order.created", order).status_code == 200  # a right one
    live_server.app.state.rejection_recorder.flush()

    with factory() as session:
        rows = {(r.cause, r.topic): r.count for r in session.scalars(select(WebhookRejection))}
    assert rows == {("invalid_signature", "order.updated"): 3,
                    ("missing_signature", "product.updated"): 1}

    health = client.get("/api/v1/store/webhooks", headers=bearer(store)).json()
    assert sorted((r["cause"], r["topic"], r["count"]) for r in health["rejected"]) == [
        ("invalid_signature", "order.updated", 3), ("missing_signature", "product.updated", 1)]
    topics = {t["topic"]: t["last_delivery_at"] for t in health["topics"]}
    assert topics["order.created"] is not None and topics["order.updated"] is None
    assert "bazgasht_cart.updated" in topics and "product.restored" in topics


def test_more_refusals_add_to_the_same_row(client, store, live_server, factory):
    recorder = live_server.app.state.rejection_recorder
    for _ in range(2):
        deliver(client, store, "order.updated", {"id": 1}, secret="wrong")
        recorder.flush()
    with factory() as session:
        [row] = session.scalars(select(WebhookRejection)).all()
    assert row.count == 2 and row.first_at <= row.last_at


def test_unknown_stores_and_good_deliveries_leave_nothing(client, store, live_server, factory):
    from tests.helpers import StoreCreds

    ghost = StoreCreds(id=987654, api_key="", webhook_secret="x")
    # Answered as a wrong secret (trying ids tells nothing), and recorded for nobody.
    assert deliver(client, ghost, "order.updated", {"id": 1}).status_code == 401
    live_server.app.state.rejection_recorder.flush()
    with factory() as session:
        assert session.scalars(select(WebhookRejection)).all() == []
