"""The broadcasts API's refusals: bad input is a clear 4xx with a stable code and changes
nothing; another store's ids are unknown."""

import pytest
from sqlalchemy import func, select

from app.broadcasts.models import Broadcast
from app.campaigns.models import Campaign
from app.contacts.models import Contact
from app.db import unit_of_work
from tests.campaigns.shop import tehran
from tests.helpers import error_of

TEXT = "حراج {{ store_name }}: {{ link }}"


@pytest.fixture
def segment_id(api, factory, store):
    with unit_of_work(factory) as session:
        session.add(Contact(store_id=store.id, phone="+989121110001", first_name="سارا"))
    return api.post("/api/v1/segments", json={"name": "همه"}).json()["id"]


def counts(factory) -> tuple[int, int]:
    with factory() as session:
        return (session.scalar(select(func.count()).select_from(Broadcast)),
                session.scalar(select(func.count()).select_from(Campaign)))


@pytest.mark.parametrize("change, status, code", [
    ({"template": "سفارش {{ order_number }} شما: {{ link }}"}, 422, "invalid_template"),
    ({"template": "{{ link "}, 422, "invalid_template"),
    ({"template": "کد {{ coupon_code }}: {{ link }}"}, 422, "coupon_missing"),
    ({"segment_id": 999_999}, 404, "segment_not_found"),
    ({"segment_id": "یک"}, 422, "invalid_request"),
    ({"max_cost": 0}, 422, "invalid_request"),
    ({"max_cost": "-۵"}, 422, "invalid_request"),
    ({"send_within_minutes": 30}, 422, "invalid_request"),
    ({"send_within_minutes": 5000}, 422, "invalid_request"),
    ({"scheduled_at": "فردا"}, 422, "invalid_request"),
    ({"audience": "all"}, 422, "invalid_request"),
    ({"name": "  "}, 422, "invalid_request"),
])
def test_a_draft_that_cannot_be_right_is_refused_and_nothing_is_written(
        api, factory, segment_id, change, status, code):
    before = counts(factory)
    body = {"name": "حراج", "segment_id": segment_id, "template": TEXT} | change
    response = api.post("/api/v1/broadcasts", json=body)
    assert response.status_code == status, response.text
    assert error_of(response)["code"] == code
    assert counts(factory) == before


def test_schedule_refusals(api, clock, segment_id):
    clock.set(tehran("2026-12-01T10:00"))
    b = api.post("/api/v1/broadcasts", json={"name": "حراج", "segment_id": segment_id,
                                             "template": TEXT}).json()
    for when, code in [("2026-11-30T10:00:00+03:30", "invalid_scheduled_at"),
                       ("2027-06-01T10:00:00+03:30", "invalid_scheduled_at"),
                       ("nope", "invalid_request")]:
        response = api.post(f"/api/v1/broadcasts/{b['id']}/schedule",
                            json={"scheduled_at": when})
        assert response.status_code == 422 and error_of(response)["code"] == code, when
    assert api.get(f"/api/v1/broadcasts/{b['id']}").json()["status"] == "draft"
    assert api.post(f"/api/v1/broadcasts/{b['id']}/schedule").status_code == 200
    for method, path, body in [("PATCH", "", {"name": "دیگر"}), ("DELETE", "", None),
                               ("POST", "/schedule", {})]:
        response = api.request(method, f"/api/v1/broadcasts/{b['id']}{path}", json=body)
        assert response.status_code == 409, (method, path)
        assert error_of(response)["code"] == "broadcast_not_draft"
    assert api.get(f"/api/v1/broadcasts/{b['id']}").json()["name"] == "حراج"


def test_an_empty_segment_is_not_scheduled(api, clock):
    clock.set(tehran("2026-12-01T10:00"))
    nobody = api.post("/api/v1/segments", json={"name": "هیچ‌کس",
                                                "definition": {"purchases": {"orders_min": 1}}})
    b = api.post("/api/v1/broadcasts", json={"name": "حراج", "template": TEXT,
                                             "segment_id": nobody.json()["id"]}).json()
    response = api.post(f"/api/v1/broadcasts/{b['id']}/schedule")
    assert response.status_code == 409 and error_of(response)["code"] == "segment_empty"


def test_a_draft_is_listed_changed_and_deleted_with_its_hidden_campaign(api, factory,
                                                                        segment_id):
    before = counts(factory)
    first = api.post("/api/v1/broadcasts", json={"name": "یک", "segment_id": segment_id,
                                                 "template": TEXT}).json()
    second = api.post("/api/v1/broadcasts", json={"name": "دو", "segment_id": segment_id,
                                                  "template": TEXT,
                                                  "coupon": {"mode": "fixed", "code": "yalda"},
                                                  "send_within_minutes": "۱۲۰"}).json()
    assert (second["coupon"], second["send_within_minutes"]) == (
        {"mode": "fixed", "code": "yalda"}, 120)
    listed = api.get("/api/v1/broadcasts", params={"limit": 1}).json()
    assert [b["id"] for b in listed["items"]] == [second["id"]]
    rest = api.get("/api/v1/broadcasts", params={"cursor": listed["next_cursor"]}).json()
    assert [b["id"] for b in rest["items"]] == [first["id"]]
    changed = api.patch(f"/api/v1/broadcasts/{first['id']}",
                        json={"name": "یکم", "template": "{{ first_name }}: {{ link }}",
                              "scheduled_at": "2026-12-20T10:00:00"}).json()
    assert (changed["name"], changed["template"], changed["scheduled_at"]) == (
        "یکم", "{{ first_name }}: {{ link }}", "2026-12-20T06:30:00Z")
    nulled = api.patch(f"/api/v1/broadcasts/{first['id']}", json={"template": None})
    assert nulled.status_code == 422
    for b in (first, second):
        assert api.delete(f"/api/v1/broadcasts/{b['id']}").json() == {"deleted": True}
    assert counts(factory) == before


def test_another_stores_broadcast_is_not_found(api, other_api, factory, other_store):
    with unit_of_work(factory) as session:
        session.add(Contact(store_id=other_store.id, phone="+989121110009"))
    theirs_segment = other_api.post("/api/v1/segments", json={"name": "همه"}).json()["id"]
    theirs = other_api.post("/api/v1/broadcasts", json={
        "name": "مال دیگری", "segment_id": theirs_segment, "template": TEXT}).json()["id"]
    for method, path in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/estimate"),
                         ("POST", "/schedule"), ("POST", "/cancel"), ("POST", "/test-send")]:
        body = {"phone": "09121110001"} if path == "/test-send" else {}
        response = api.request(method, f"/api/v1/broadcasts/{theirs}{path}", json=body)
        assert response.status_code == 404, (method, path)
        assert error_of(response)["code"] == "broadcast_not_found"
    # Nor can a draft of ours name their segment.
    mine = api.post("/api/v1/broadcasts", json={"name": "ما", "segment_id": theirs_segment,
                                                "template": TEXT})
    assert mine.status_code == 404 and error_of(mine)["code"] == "segment_not_found"
    assert other_api.get(f"/api/v1/broadcasts/{theirs}").json()["status"] == "draft"
