"""Orders keep the coupon codes used in them, the way WooCommerce keeps codes (lower case):
a personal coupon's code is how an order finds the message that brought it."""

from sqlalchemy import select

from app.commerce.models import Order
from app.ingest.service import process_pending
from tests.helpers import deliver, docs_payload


def order_payload(wc_id: int, coupon_lines) -> dict:
    return {"id": wc_id, "number": str(wc_id), "status": "processing", "currency": "IRT",
            "total": "540000", "billing": {"first_name": "علی", "phone": "09123456789",
                                           "email": "ali@example.com"},
            "line_items": [{"product_id": 11, "quantity": 2, "price": 300000, "total": "600000"}],
            "coupon_lines": coupon_lines, "date_created_gmt": "2026-11-25T08:00:00",
            "date_modified_gmt": "2026-11-25T08:00:00", "date_paid_gmt": "2026-11-25T08:00:00"}


def codes(factory, wc_id: int) -> list[str]:
    with factory() as session:
        return session.scalar(select(Order.coupon_codes).where(Order.wc_id == wc_id))


def test_the_coupon_codes_of_an_order_are_stored_lower_case_once_each(client, store, factory, clock):
    lines = [{"id": 1, "code": "AB23CD45", "discount": "60000", "discount_tax": "0"},
             {"id": 2, "code": "off5", "discount": "0"}, {"id": 3, "code": "Off5"},
             {"id": 4, "code": ""}]
    assert deliver(client, store, "order.created", order_payload(901, lines)).status_code == 200
    assert deliver(client, store, "order.created", order_payload(902, [])).status_code == 200
    assert deliver(client, store, "order.created", order_payload(903, None)).status_code == 200
    process_pending(factory, now=clock.now())
    assert codes(factory, 901) == ["ab23cd45", "off5"]
    assert codes(factory, 902) == []
    assert codes(factory, 903) == []


def test_a_later_state_of_the_order_replaces_its_codes(client, store, factory, clock):
    first = order_payload(904, [{"code": "AB23CD45"}])
    later = order_payload(904, []) | {"date_modified_gmt": "2026-11-25T09:00:00"}
    for payload in (first, later):
        assert deliver(client, store, "order.updated", payload).status_code == 200
        process_pending(factory, now=clock.now())
    assert codes(factory, 904) == []


def test_the_documented_order_without_coupons(client, store, factory, fixtures_dir, clock):
    payload = docs_payload(fixtures_dir, "docs_v3_order_727_retrieve.json")
    assert deliver(client, store, "order.updated", payload).status_code == 200
    process_pending(factory, now=clock.now())
    assert codes(factory, 727) == []
