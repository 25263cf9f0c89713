"""Segments read what WooCommerce's webhooks wrote: products with their categories, orders
with their line items and refunds, a customer's reply, all through the real ingest path."""

from datetime import timedelta

from app.db import unit_of_work
from app.messaging.gateway import Inbound
from app.messaging.inbound import take_pushed
from tests.campaigns.shop import tehran
from tests.helpers import deliver

START = tehran("2026-11-01T10:00:00")


def product(shop, wc_id: int, categories: list[int]):
    response = deliver(shop.client, shop.store, "product.updated", {
        "id": wc_id, "name": f"کالای {wc_id}", "permalink": f"https://shop.example/p/{wc_id}/",
        "price": "100000", "categories": [{"id": c, "name": f"دسته {c}", "slug": f"c{c}"}
                                          for c in categories],
        "date_modified_gmt": "2026-10-01T00:00:00"})
    assert response.status_code == 200
    shop.apply(START)


def test_a_store_fed_by_webhooks(shop, api):
    product(shop, 11, [15])
    product(shop, 21, [16])
    shop.order(1, START, phone="۰۹۱۲۱۱۱۱۱۱۱", items=((11, 1),), total="600000")
    shop.order(2, START + timedelta(days=3), phone="09121111111", items=((21, 1),),
               total="400000", status="completed")
    shop.order(3, START, phone="+989122222222", items=((21, 2),), total="900000",
               refunds=("300000",))
    shop.order(4, START, phone="09123333333", items=((11, 1),), status="cancelled")
    shop.order(5, START, phone="09124444444", items=((11, 1),), status="pending")
    with unit_of_work(shop.factory) as session:
        take_pushed(session, shop.store.id, Inbound(gateway_id="r1", sender="09122222222",
                                                    line="3000", text="سلام",
                                                    received_at=START), START)
    shop.clock.set(START + timedelta(days=10))

    def who(definition: dict) -> dict[str, dict]:
        body = api.post("/api/v1/segments/preview", json={"definition": definition}).json()
        assert body["size"] == len(body["sample"])
        return {m["phone"]: m for m in body["sample"]}

    everyone = who({})
    assert set(everyone) == {"+989*****1111", "+989*****2222", "+989*****3333", "+989*****4444"}
    first = everyone["+989*****1111"]
    assert (first["orders"], first["spent"]) == (2, 10_000_000)  # rial: 600,000 + 400,000 toman
    assert first["last_order_at"] == "2026-11-04T06:30:00Z"
    assert (everyone["+989*****2222"]["orders"], everyone["+989*****2222"]["spent"]) == (
        1, 6_000_000)  # 900,000 toman less the 300,000 refunded
    assert everyone["+989*****3333"]["orders"] == 0  # cancelled, and pending is not paid
    assert set(who({"purchases": {"categories": [15]}})) == {"+989*****1111"}
    assert set(who({"purchases": {"categories": [16]}})) == {"+989*****1111", "+989*****2222"}
    assert set(who({"purchases": {"products": [11], "buyer": "repeat"}})) == {"+989*****1111"}
    assert set(who({"purchases": {"spent_min": "۶۰۰٬۰۰۰", "spent_max": 600_000}})) == {
        "+989*****2222"}
    assert set(who({"engagement": {"replied_within_days": 10}})) == {"+989*****2222"}
    assert who({"engagement": {"replied_within_days": 9}}) == {}
