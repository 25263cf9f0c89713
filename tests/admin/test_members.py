"""/api/v1/store/members: the store API adds and removes the people who sign in to its panel."""

import httpx
from sqlalchemy import select

from app.dashboard.models import PanelMember
from tests.helpers import error_of


def test_members_need_the_stores_key(live_server, store):
    anonymous = httpx.get(f"{live_server.url}/api/v1/store/members")
    assert anonymous.status_code == 401 and error_of(anonymous)["code"] == "missing_api_key"
    wrong = httpx.post(f"{live_server.url}/api/v1/store/members",
                       headers={"Authorization": "Bearer bz_" + "x" * 43},
                       json={"phone": "09121234567", "name": "x"})
    assert wrong.status_code == 401 and error_of(wrong)["code"] == "invalid_api_key"


def test_add_list_and_remove_members(api, store, other_api, other_store, factory):
    [owner] = api.get("/api/v1/store/members").json()["items"]
    assert (owner["phone"], owner["role"]) == (store.owner_phone, "owner")
    added = api.post("/api/v1/store/members", json={"phone": "۰۰۹۸ ۹۱۲ ۷۶۵ ۴۳۲۱",
                                                     "name": "رضا"})
    assert added.status_code == 201, added.text
    body = added.json()
    assert (body["phone"], body["name"], body["role"]) == ("+989127654321", "رضا", "member")
    assert body["last_signed_in_at"] is None
    twice = api.post("/api/v1/store/members", json={"phone": "09127654321", "name": "رضا"})
    assert twice.status_code == 409 and error_of(twice)["code"] == "member_exists"
    # The same phone may be a member of another store.
    assert other_api.post("/api/v1/store/members",
                          json={"phone": "09127654321", "name": "رضا"}).status_code == 201

    assert other_api.delete(f"/api/v1/store/members/{body['id']}").status_code == 404
    assert api.delete(f"/api/v1/store/members/{body['id']}").status_code == 204
    assert [m["id"] for m in api.get("/api/v1/store/members").json()["items"]] == [owner["id"]]
    last = api.delete(f"/api/v1/store/members/{owner['id']}")
    assert last.status_code == 409 and error_of(last)["code"] == "last_owner"
    with factory() as session:
        assert session.scalar(select(PanelMember).where(PanelMember.id == owner["id"]))


def test_bad_members_are_refused_with_codes(api):
    for body, status, code in [
        ({"phone": "021-4455", "name": "ثابت"}, 422, "invalid_phone"),
        ({"phone": "not a phone", "name": "x"}, 422, "invalid_phone"),
        ({"phone": "09121234567", "name": "   "}, 422, "name_required"),
        ({"phone": "09121234567", "name": "x", "role": "admin"}, 422, "invalid_request"),
        ({"phone": "09121234567"}, 422, "invalid_request"),
        ({"phone": "0912" + "1" * 80, "name": "x"}, 422, "invalid_request"),
    ]:
        answer = api.post("/api/v1/store/members", json=body)
        assert answer.status_code == status and error_of(answer)["code"] == code, (body, answer.text)
    assert len(api.get("/api/v1/store/members").json()["items"]) == 1
    assert api.delete("/api/v1/store/members/0").status_code == 422
