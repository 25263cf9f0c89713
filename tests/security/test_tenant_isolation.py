"""No store reaches another's data: every merchant API operation that names a resource by id,
called with a key of store B and an id of store A, answers 404 and changes nothing of A's.

The operations are read from the app's own OpenAPI document, so a route added later is covered
at once — or fails here until its request body is listed below."""

import pytest
from sqlalchemy import func, select

from app.commerce.models import Cart, Order
from app.messaging.models import ConsoleSms
from tests.campaigns.shop import tehran

# A valid body for each operation that is not a GET or DELETE (None: it takes none): a refusal
# must come from the ownership check, not from validation.
BODIES = {
    ("PATCH", "/api/v1/campaigns/{campaign_id}"): {"name": "ربوده"},
    ("POST", "/api/v1/campaigns/{campaign_id}/steps"): {
        "delay_minutes": 60, "template": "سلام {{ link }}"},
    ("PATCH", "/api/v1/campaigns/{campaign_id}/steps/{step_id}"): {"template": "ربوده {{ link }}"},
    ("POST", "/api/v1/campaigns/{campaign_id}/preview"): {"template": "سلام"},
    ("POST", "/api/v1/campaigns/{campaign_id}/steps/{step_id}/preview"): {},
    ("POST", "/api/v1/campaigns/{campaign_id}/steps/{step_id}/test-send"): {
        "phone": "09120000000"},
    ("POST", "/api/v1/campaigns/{campaign_id}/audience"): {"conditions": {"order": "repeat"}},
    ("POST", "/api/v1/campaigns/{campaign_id}/pause"): None,
    ("POST", "/api/v1/campaigns/{campaign_id}/resume"): None,
    ("POST", "/api/v1/contacts/{contact_id}/opt-in"): {},
    ("POST", "/api/v1/contacts/{contact_id}/opt-out"): {},
    ("PATCH", "/api/v1/segments/{segment_id}"): {"name": "ربوده",
                                                 "definition": {"purchases": {"orders_min": 1}}},
    ("PATCH", "/api/v1/broadcasts/{broadcast_id}"): {"name": "ربوده"},
    ("POST", "/api/v1/broadcasts/{broadcast_id}/estimate"): None,
    ("POST", "/api/v1/broadcasts/{broadcast_id}/schedule"): {},
    ("POST", "/api/v1/broadcasts/{broadcast_id}/preview"): {},
    ("POST", "/api/v1/broadcasts/{broadcast_id}/cancel"): None,
    ("POST", "/api/v1/broadcasts/{broadcast_id}/test-send"): {"phone": "09120000000"},
}
NO_BODY = {"GET", "DELETE"}
# Paths whose parameter names no store's row: the preset catalog is the same for every store
# (tests/campaigns/test_presets_api.py shows a preset added by B is B's only).
SHARED = {"/api/v1/presets/{kind}"}


def _operations(app) -> list[tuple[str, str]]:
    spec = app.openapi()
    return sorted((method.upper(), path) for path, ops in spec["paths"].items()
                  for method in ops if path.startswith("/api/v1/") and "{" in path
                  and path not in SHARED)


@pytest.fixture
def a_ids(api, shop):
    """Store A's campaign, step and contact (a shopper who left a cart), segment and
    broadcast."""
    shop.cart("isolation-cart-1", tehran("2026-11-24T10:00"))
    [campaign] = [c for c in api.get("/api/v1/campaigns").json()["items"]
                  if c["kind"] == "abandoned_cart"]
    step = api.get(f"/api/v1/campaigns/{campaign['id']}").json()["steps"][0]
    [contact] = api.get("/api/v1/contacts", params={"phone": "09123456789"}).json()["items"]
    [owner] = api.get("/api/v1/store/members").json()["items"]
    segment = api.post("/api/v1/segments", json={"name": "وفاداران", "definition": {
        "purchases": {"orders_min": 3}}}).json()
    broadcast = api.post("/api/v1/broadcasts", json={
        "name": "حراج", "segment_id": segment["id"], "template": "حراج {{ link }}"}).json()
    return {"campaign_id": campaign["id"], "step_id": step["id"], "contact_id": contact["id"],
            "member_id": owner["id"], "segment_id": segment["id"],
            "broadcast_id": broadcast["id"]}


def _outbox(factory) -> int:
    with factory() as session:
        return session.scalar(select(func.count(ConsoleSms.id)))


def _snapshot(api, ids) -> list:
    """Everything of A's that the operations could touch, as A sees it."""
    return [api.get(f"/api/v1/campaigns/{ids['campaign_id']}").json(),
            api.get(f"/api/v1/contacts/{ids['contact_id']}").json(),
            api.get("/api/v1/campaigns").json(), api.get("/api/v1/store/members").json(),
            api.get(f"/api/v1/segments/{ids['segment_id']}").json(),
            api.get(f"/api/v1/broadcasts/{ids['broadcast_id']}").json()]


def test_every_operation_on_another_stores_id_is_404_and_changes_nothing(
        live_server, api, other_api, a_ids, factory):
    operations = _operations(live_server.app)
    missing = [op for op in operations if op[0] not in NO_BODY and op not in BODIES]
    assert not missing, f"add a valid body for {missing} to BODIES"
    before = _snapshot(api, a_ids)
    sent_before = _outbox(factory)
    for method, path in operations:
        url = path.format(**a_ids)
        response = other_api.request(method, url, json=BODIES.get((method, path)))
        assert response.status_code == 404, (method, path, response.status_code, response.text)
    assert _snapshot(api, a_ids) == before
    assert _outbox(factory) == sent_before  # no test SMS went out on A's behalf


def test_another_stores_cart_or_order_cannot_fill_a_preview(api, other_api, shop, factory):
    """B previews its own step with A's cart or order id: refused, nothing of A's shows."""
    shop.cart("isolation-cart-2", tehran("2026-11-24T09:00"))
    shop.order(8101, tehran("2026-11-24T10:00"))
    with factory() as session:
        cart_id = session.scalar(select(Cart.id).where(Cart.store_id == shop.store.id))
        order_id = session.scalar(select(Order.id).where(Order.store_id == shop.store.id))
    assert cart_id and order_id
    [campaign] = [c for c in other_api.get("/api/v1/campaigns").json()["items"]
                  if c["kind"] == "abandoned_cart"]
    step = other_api.get(f"/api/v1/campaigns/{campaign['id']}").json()["steps"][0]
    url = f"/api/v1/campaigns/{campaign['id']}/steps/{step['id']}/preview"
    for body in ({"cart_id": cart_id}, {"order_id": order_id}):
        response = other_api.post(url, json=body)
        assert response.status_code in (404, 422), response.text
        assert "علی" not in response.text and "09123456789" not in response.text


def test_another_stores_contact_cannot_fill_a_broadcast_preview(api, other_api, shop, factory):
    """B previews its own broadcast with A's contact id: unknown, nothing of A's shows."""
    shop.order(8102, tehran("2026-11-24T10:00"))
    [contact] = api.get("/api/v1/contacts", params={"phone": "09123456789"}).json()["items"]
    segment = other_api.post("/api/v1/segments", json={"name": "همه"}).json()
    broadcast = other_api.post("/api/v1/broadcasts", json={
        "name": "حراج", "segment_id": segment["id"],
        "template": "{{ first_name }}: {{ link }}"}).json()
    response = other_api.post(f"/api/v1/broadcasts/{broadcast['id']}/preview",
                              json={"contact_id": contact["id"]})
    assert response.status_code == 404 and "علی" not in response.text
