"""When the database cannot take a delivery, WooCommerce must hear it failed (never a false 200)."""

import httpx
import sqlalchemy as sa

from app.config import Settings
from tests.conftest import LiveServer
from tests.helpers import sign, wc_body


def test_an_unreachable_database_answers_503_not_200(database_url, tmp_path):
    url = sa.make_url(database_url)
    broken = (f"sqlite:///{tmp_path}/missing-dir/db.sqlite" if url.get_backend_name() == "sqlite"
              else url.set(port=1).render_as_string(hide_password=False))
    body = wc_body({"id": 1})
    with LiveServer(Settings(database_url=broken)) as server:
        response = httpx.post(f"{server.url}/webhooks/woocommerce/1", content=body, timeout=30,
                              headers={"X-WC-Webhook-Signature": sign(body, "x"),
                                       "X-WC-Webhook-Topic": "order.deleted"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


def test_a_dropped_database_connection_is_replaced(live_server, client, store, factory, engine):
    """The writer keeps its own PostgreSQL connections; one killed meanwhile is reopened."""
    from tests.helpers import deliver

    assert deliver(client, store, "order.deleted", {"id": 1}).status_code == 200
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    for n in range(2, 6):
        assert deliver(client, store, "order.deleted", {"id": n}).status_code == 200
