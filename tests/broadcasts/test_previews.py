"""A broadcast's SMS previewed on a real member of its segment
(`POST /api/v1/broadcasts/{id}/preview`): their own name in it, the figures of that text; a
contact outside the segment or of another store is refused, and nothing is written."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from app.campaigns.models import Enrollment
from app.contacts.models import Contact
from app.db import unit_of_work
from app.links.models import Link
from app.messaging.models import ConsoleSms
from tests.helpers import bearer, error_of

TEXT = '{{ first_name or "مشتری" }} عزیز، حراج {{ store_name }}: {{ link }}'


@pytest.fixture
def people(factory, store, other_store) -> dict[str, int]:
    """Contacts of the store (one opted out) and one of another store, by name."""
    rows = {"مینا": Contact(store_id=store.id, phone="+989121110001", first_name="مینا"),
            "": Contact(store_id=store.id, phone="+989121110002", first_name=""),
            "رفته": Contact(store_id=store.id, phone="+989121110003", first_name="رفته",
                            opted_out_at=datetime(2026, 11, 1, tzinfo=timezone.utc)),
            "دیگری": Contact(store_id=other_store.id, phone="+989121110004",
                             first_name="دیگری")}
    with unit_of_work(factory) as session:
        session.add_all(rows.values())
        session.flush()
        return {name: contact.id for name, contact in rows.items()}


@pytest.fixture
def broadcast(api, people) -> dict:
    segment = api.post("/api/v1/segments", json={"name": "همه"}).json()
    made = api.post("/api/v1/broadcasts", json={"name": "حراج", "segment_id": segment["id"],
                                                "template": TEXT})
    assert made.status_code == 201, made.text
    return made.json()


def written(factory) -> tuple[int, int, int]:
    with factory() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (Link, Enrollment, ConsoleSms))


def test_the_sms_for_a_member_carries_their_name(api, broadcast, people, factory):
    url = f"/api/v1/broadcasts/{broadcast['id']}/preview"
    before = written(factory)
    mina = api.post(url, json={"contact_id": str(people["مینا"])})
    assert mina.status_code == 200, mina.text
    body = mina.json()
    assert body["subject"] == f"contact {people['مینا']}"
    assert body["text"].startswith("مینا عزیز، حراج چای‌خانه: ") and body["text"].endswith(
        "\nلغو۱۱")
    assert body["cost_estimate"] == body["parts"] * body["price_per_part"]
    nameless = api.post(url, json={"contact_id": people[""]}).json()
    assert nameless["text"].startswith("مشتری عزیز")
    sample = api.post(url).json()
    assert sample["subject"] == "sample" and sample["text"].startswith("سارا عزیز")
    assert written(factory) == before  # no link, no enrollment, no SMS


def test_who_is_not_a_member_or_not_the_stores_is_refused(api, broadcast, people, other_store):
    url = f"/api/v1/broadcasts/{broadcast['id']}/preview"
    out = api.post(url, json={"contact_id": people["رفته"]})  # opted out: not a member
    assert out.status_code == 422 and error_of(out)["code"] == "contact_not_in_segment"
    theirs = api.post(url, json={"contact_id": people["دیگری"]})
    assert theirs.status_code == 404 and error_of(theirs)["code"] == "contact_not_found"
    for body in ({"contact_id": 0}, {"contact_id": "مینا"}, {"contact": 1}):
        response = api.post(url, json=body)
        assert response.status_code == 422 and error_of(response)["code"] == "invalid_request"
    assert api.post(url, json={"contact_id": people["مینا"]},
                    headers=bearer(other_store)).status_code == 404
