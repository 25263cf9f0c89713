"""A merchant browses carts, orders and messages: filtered, newest first, page by page."""

import pytest

from tests.campaigns.shop import Shop, tehran
from tests.helpers import error_of


def walk(api, path: str, **params) -> list[list[dict]]:
    """Every page of a list, following next_cursor to the end."""
    pages, cursor = [], None
    while True:
        response = api.get(path, params=params | ({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def carts(shop, n: int, prefix: str, at: str = "2026-11-24T10:00", first_phone: int = 0) -> None:
    """n carts of n shoppers (phones 0912000{first_phone:04d} on)."""
    for i in range(n):
        shop.cart(f"{prefix}-{i:04d}", tehran(at), phone=f"0912000{first_phone + i:04d}")


def test_carts_page_by_page_without_duplicates_or_gaps(api, shop):
    carts(shop, 7, "page")
    first = api.get("/api/v1/carts", params={"limit": 3}).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    # A cart arriving meanwhile does not shift the pages that follow.
    shop.cart("page-late", tehran("2026-11-24T10:05"), phone="09351234567")
    second = api.get("/api/v1/carts", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    third = api.get("/api/v1/carts", params={"limit": 3, "cursor": second["next_cursor"]}).json()
    assert third["next_cursor"] is None
    ids = [c["id"] for page in (first, second, third) for c in page["items"]]
    assert len(ids) == 7 == len(set(ids)) and ids == sorted(ids, reverse=True)
    everything = [c["id"] for page in walk(api, "/api/v1/carts", limit=3) for c in page]
    assert everything == sorted(set(ids) | {max(everything)}, reverse=True)
    assert len(everything) == 8


def test_carts_by_status_campaign_and_date(api, shop):
    cart_campaign = next(c for c in api.get("/api/v1/campaigns").json()["items"]
                         if c["kind"] == "abandoned_cart")
    carts(shop, 3, "early", at="2026-11-20T10:00", first_phone=100)
    carts(shop, 2, "late", at="2026-11-24T10:00")
    shop.tick(tehran("2026-11-24T11:00"))  # the two recent ones are enrolled
    shop.order(501, tehran("2026-11-24T12:00"), cart_token="late-0000", phone="09120000000")
    converted = api.get("/api/v1/carts", params={"status": "converted"}).json()["items"]
    assert [c["token"] for c in converted] == ["late-0000"]
    assert converted[0]["status"] == "converted" and converted[0]["converted_at"]
    assert len(api.get("/api/v1/carts", params={"status": "open"}).json()["items"]) == 4
    enrolled = api.get("/api/v1/carts", params={"campaign_id": cart_campaign["id"]}).json()
    assert sorted(c["token"] for c in enrolled["items"]) == ["late-0000", "late-0001"]
    # Without a zone, dates are the store's (Tehran) time; "to" is exclusive.
    early = api.get("/api/v1/carts", params={"from": "2026-11-20", "to": "2026-11-20T10:00"})
    assert early.json()["items"] == []
    early = api.get("/api/v1/carts", params={"from": "2026-11-20", "to": "2026-11-21"})
    assert sorted(c["token"] for c in early.json()["items"]) == [
        "early-0000", "early-0001", "early-0002"]
    utc = api.get("/api/v1/carts", params={"from": "2026-11-24T06:30:00Z"}).json()["items"]
    assert len(utc) == 2


def test_orders_with_their_credit_by_status_and_campaign(api, shop):
    cart_campaign = next(c for c in api.get("/api/v1/campaigns").json()["items"]
                         if c["kind"] == "abandoned_cart")
    shop.cart("credit-cart-001", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:00"))
    shop.order(601, tehran("2026-11-24T12:00"), cart_token="credit-cart-001")
    shop.order(602, tehran("2026-11-24T13:00"), status="pending", phone="09350000000")
    everything = api.get("/api/v1/orders").json()["items"]
    assert [o["wc_id"] for o in everything] == [602, 601]
    credited = api.get("/api/v1/orders", params={"campaign_id": cart_campaign["id"]}).json()
    [order] = credited["items"]
    assert order["wc_id"] == 601 and order["attribution"]["basis"] == "cart_token"
    assert order["attribution"]["revenue"] == 6_000_000 == order["total"]
    pending = api.get("/api/v1/orders", params={"status": "pending"}).json()["items"]
    assert [(o["wc_id"], o["purchased"], o["attribution"]) for o in pending] == [
        (602, False, None)]
    by_date = api.get("/api/v1/orders", params={"from": "2026-11-24T12:30"}).json()["items"]
    assert [o["wc_id"] for o in by_date] == [602]


def test_messages_filtered_and_paged(api, shop):
    cart_campaign = next(c for c in api.get("/api/v1/campaigns").json()["items"]
                         if c["kind"] == "abandoned_cart")
    carts(shop, 3, "msg")
    shop.tick(tehran("2026-11-24T11:00"))  # 3 carts × 3 steps; the first step goes out
    pages = walk(api, "/api/v1/messages", limit=4)
    assert [len(p) for p in pages] == [4, 4, 1]
    ids = [m["id"] for p in pages for m in p]
    assert len(set(ids)) == 9 and ids == sorted(ids, reverse=True)
    sent = api.get("/api/v1/messages", params={"status": "delivered"}).json()["items"]
    assert len(sent) == 3 and all(m["text"] and m["parts"] for m in sent)
    scheduled = api.get("/api/v1/messages", params={
        "status": "scheduled", "campaign_id": cart_campaign["id"],
        "from": "2026-11-25T00:00", "to": "2026-11-26T00:00"}).json()["items"]
    assert len(scheduled) == 3
    assert {m["due_at"] for m in scheduled} == {"2026-11-25T06:30:00Z"}  # a day after the cart
    contact = sent[0]["contact_id"]
    mine = api.get("/api/v1/messages", params={"contact_id": contact}).json()["items"]
    assert len(mine) == 3 and {m["contact_id"] for m in mine} == {contact}


@pytest.mark.parametrize("path", ["/api/v1/carts", "/api/v1/orders", "/api/v1/messages",
                                  "/api/v1/contacts"])
@pytest.mark.parametrize("params, code", [
    ({"cursor": "not-a-cursor"}, "invalid_cursor"),
    ({"cursor": "djE6LTU"}, "invalid_cursor"),  # "v1:-5"
    ({"limit": 0}, "invalid_request"),
    ({"limit": 201}, "invalid_request"),
])
def test_bad_paging_is_refused(api, path, params, code):
    response = api.get(path, params=params)
    assert response.status_code == 422 and error_of(response)["code"] == code


def test_bad_filters_are_refused(api):
    for path, params, code in [
            ("/api/v1/carts", {"status": "lost"}, "invalid_request"),
            ("/api/v1/messages", {"status": "maybe"}, "invalid_request"),
            ("/api/v1/orders", {"from": "yesterday"}, "invalid_request"),
            ("/api/v1/messages", {"from": "2026-11-25", "to": "2026-11-24"}, "invalid_range")]:
        response = api.get(path, params=params)
        assert response.status_code == 422 and error_of(response)["code"] == code, path


def test_another_stores_activity_is_invisible(api, other_api, client, other_store, factory,
                                              clock):
    theirs = Shop(client, other_store, factory, clock)
    theirs.cart("their-cart-0001", tehran("2026-11-24T10:00"))
    theirs.tick(tehran("2026-11-24T11:00"))
    theirs.order(801, tehran("2026-11-24T12:00"))
    for path in ("/api/v1/carts", "/api/v1/orders", "/api/v1/messages"):
        assert api.get(path).json()["items"] == [], path
        assert len(other_api.get(path).json()["items"]) >= 1, path
    campaign = other_api.get("/api/v1/campaigns").json()["items"][0]["id"]
    contact = other_api.get("/api/v1/contacts").json()["items"][0]["id"]
    for path in ("/api/v1/carts", "/api/v1/orders", "/api/v1/messages"):
        response = api.get(path, params={"campaign_id": campaign})
        assert response.status_code == 404 and error_of(response)["code"] == "campaign_not_found"
    response = api.get("/api/v1/messages", params={"contact_id": contact})
    assert response.status_code == 404 and error_of(response)["code"] == "contact_not_found"
    # Their cursor is just a position: with my key it still lists only mine.
    cursor = other_api.get("/api/v1/messages", params={"limit": 1}).json()["next_cursor"]
    assert api.get("/api/v1/messages", params={"cursor": cursor}).json()["items"] == []
