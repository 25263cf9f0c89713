"""The segments API as a developer meets it: saving and changing segments, the key, other
stores' ids, and definitions that cannot be right."""

import pytest

from tests.helpers import error_of

DEFINITION = {"purchases": {"orders_min": 2, "categories": [15]},
              "engagement": {"rating_min": 4}, "rfm": {"monetary_min": 3}}


def test_a_segment_is_saved_listed_changed_and_deleted(api, clock):
    created = api.post("/api/v1/segments", json={"name": " وفاداران ", "definition": DEFINITION})
    assert created.status_code == 201, created.text
    segment = created.json()
    assert segment["name"] == "وفاداران"
    assert segment["definition"]["purchases"]["orders_min"] == 2
    assert segment["definition"]["purchases"]["categories"] == [15]
    assert segment["definition"]["rfm"] == {"recency_min": None, "frequency_min": None,
                                            "monetary_min": 3}
    second = api.post("/api/v1/segments", json={"name": "همه"}).json()
    assert second["definition"]["purchases"]["orders_min"] is None

    listed = api.get("/api/v1/segments", params={"limit": 1}).json()
    assert [s["id"] for s in listed["items"]] == [second["id"]]
    rest = api.get("/api/v1/segments", params={"cursor": listed["next_cursor"]}).json()
    assert [s["id"] for s in rest["items"]] == [segment["id"]] and rest["next_cursor"] is None

    renamed = api.patch(f"/api/v1/segments/{segment['id']}", json={"name": "خریداران چای"})
    assert renamed.json()["name"] == "خریداران چای"
    assert renamed.json()["definition"] == segment["definition"]
    replaced = api.patch(f"/api/v1/segments/{segment['id']}",
                         json={"definition": {"engagement": {"replied_within_days": "۷"}}})
    assert replaced.json()["definition"]["engagement"]["replied_within_days"] == 7
    assert replaced.json()["definition"]["purchases"]["orders_min"] is None
    assert api.get(f"/api/v1/segments/{segment['id']}").json() == replaced.json()

    assert api.delete(f"/api/v1/segments/{segment['id']}").json() == {"deleted": True}
    gone = api.get(f"/api/v1/segments/{segment['id']}")
    assert gone.status_code == 404 and error_of(gone)["code"] == "segment_not_found"
    assert [s["id"] for s in api.get("/api/v1/segments").json()["items"]] == [second["id"]]


def test_without_a_valid_key_nothing_is_answered(live_server, store):
    import httpx

    with httpx.Client(base_url=live_server.url, timeout=10) as anonymous:
        for method, path in [("GET", "/api/v1/segments"), ("POST", "/api/v1/segments/preview"),
                             ("GET", "/api/v1/segments/1/contacts")]:
            response = anonymous.request(method, path, json={"definition": {}})
            assert response.status_code == 401
            assert error_of(response)["code"] == "missing_api_key"
        wrong = anonymous.get("/api/v1/segments", headers={"Authorization": "Bearer bz_nope"})
        assert wrong.status_code == 401 and error_of(wrong)["code"] == "invalid_api_key"


def test_another_stores_segment_is_not_found(api, other_api):
    theirs = other_api.post("/api/v1/segments", json={"name": "مال دیگری"}).json()["id"]
    for method, path, body in [("GET", f"/api/v1/segments/{theirs}", None),
                               ("PATCH", f"/api/v1/segments/{theirs}", {"name": "دزدی"}),
                               ("DELETE", f"/api/v1/segments/{theirs}", None),
                               ("GET", f"/api/v1/segments/{theirs}/contacts", None)]:
        response = api.request(method, path, json=body)
        assert response.status_code == 404, (method, path)
        assert error_of(response) == {"code": "segment_not_found",
                                      "message": f"no segment with id {theirs}"}
    assert api.get("/api/v1/segments").json()["items"] == []
    assert other_api.get(f"/api/v1/segments/{theirs}").json()["name"] == "مال دیگری"


@pytest.mark.parametrize("definition, names", [
    ({"purchases": {"order_min": 2}}, "definition.purchases.order_min"),
    ({"purchase": {}}, "definition.purchase"),
    ({"purchases": {"orders_min": 5, "orders_max": 2}}, "orders_min (5) is more than orders_max"),
    ({"purchases": {"spent_min": "۳۰۰", "spent_max": "200"}}, "spent_min (300) is more than"),
    ({"engagement": {"rating_min": 5, "rating_max": 1}}, "rating_min (5) is more than"),
    ({"purchases": {"last_order_within_days": -1}}, "last_order_within_days"),
    ({"engagement": {"clicked_within_days": "یک"}}, "clicked_within_days"),
    ({"rfm": {"recency_min": 6}}, "recency_min"),
    ({"purchases": {"buyer": "loyal"}}, "buyer"),
    ({"purchases": {"products": [0]}}, "products"),
    ({"purchases": {"orders_min": True}}, "orders_min"),
])
def test_a_definition_that_cannot_be_right_is_a_422_naming_the_field(api, definition, names):
    for response in (api.post("/api/v1/segments/preview", json={"definition": definition}),
                     api.post("/api/v1/segments", json={"name": "x", "definition": definition})):
        assert response.status_code == 422, response.text
        error = error_of(response)
        assert error["code"] == "invalid_request" and names in error["message"], error
    assert api.get("/api/v1/segments").json()["items"] == []  # nothing half-written


def test_a_bad_cursor_or_a_huge_id_is_a_422(api):
    segment = api.post("/api/v1/segments", json={"name": "همه"}).json()
    bad = api.get(f"/api/v1/segments/{segment['id']}/contacts", params={"cursor": "nope"})
    assert bad.status_code == 422 and error_of(bad)["code"] == "invalid_cursor"
    huge = api.get(f"/api/v1/segments/{2**63}")
    assert huge.status_code == 422 and error_of(huge)["code"] == "invalid_request"


def test_a_name_is_used_once_per_store(api, other_api):
    first = api.post("/api/v1/segments", json={"name": "وفاداران"}).json()
    again = api.post("/api/v1/segments", json={"name": " وفاداران ",
                                               "definition": {"purchases": {"orders_min": 3}}})
    assert again.status_code == 409
    assert error_of(again)["code"] == "segment_name_taken"
    assert "وفاداران" in error_of(again)["message"]
    second = api.post("/api/v1/segments", json={"name": "تازه‌ها"}).json()
    renamed = api.patch(f"/api/v1/segments/{second['id']}", json={"name": "وفاداران"})
    assert renamed.status_code == 409 and error_of(renamed)["code"] == "segment_name_taken"
    # Nothing changed: one «وفاداران», the other still «تازه‌ها»; another store may use it.
    assert [s["name"] for s in api.get("/api/v1/segments").json()["items"]] == [
        "تازه‌ها", "وفاداران"]
    assert api.get(f"/api/v1/segments/{first['id']}").json()["definition"]["purchases"][
        "orders_min"] is None
    assert other_api.post("/api/v1/segments", json={"name": "وفاداران"}).status_code == 201
    # Saving a segment under its own name again is no conflict.
    kept = api.patch(f"/api/v1/segments/{first['id']}",
                     json={"name": "وفاداران", "definition": {"purchases": {"orders_min": 2}}})
    assert kept.status_code == 200 and kept.json()["definition"]["purchases"]["orders_min"] == 2
