"""A segment's report over the scripted store's November: its size now, what its members got
(the story's sent messages and a few written here: delivered and clicked, refused and blocked,
credited and taken back) and all they bought, each figure counted by hand; messages and orders
of people outside it, or outside the month, count nowhere."""

from datetime import date, timedelta

import pytest

from app.contacts.models import Contact
from app.db import unit_of_work
from app.stores.models import Store
from tests.helpers import error_of
from tests.reports.history import History
from tests.segments.scripted import TEHRAN, Customer, scripted_store

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
REPEAT = {"purchases": {"orders_min": 2}}


def in_november(at) -> bool:
    return at.astimezone(TEHRAN).date().month == 11


@pytest.fixture
def scripted(factory, clock, store, other_store):
    return scripted_store(factory, clock, store.id, other_store.id)


@pytest.fixture
def written(factory, store, scripted):
    """Messages and credited orders written over the story, by their contacts: two members
    (a, b), a reachable customer who never bought (one credited order keeps them outside it)
    and an opted-out repeat buyer."""
    customers: list[Customer] = scripted
    members = sorted(c.id for c in customers if c.reachable and c.orders >= 2)
    outside = next(c.id for c in customers if c.reachable and c.orders == 0)
    opted_out = next(c.id for c in customers if not c.reachable and c.orders >= 2)
    with unit_of_work(factory) as session:
        history = History(session, store.id)
        contact = {i: session.get(Contact, i)
                   for i in (members[0], members[1], outside, opted_out)}
        a, b = contact[members[0]], contact[members[1]]
        first = history.message("abandoned_cart", 1, status="delivered", contact=a,
                                sent="2026-11-10 10:00", parts=2, cost=2_400,
                                delivered="2026-11-10 10:01", clicked="2026-11-10 10:05")
        history.order(first, revenue=3_000_000, at="2026-11-11 12:00")
        # Sent in October: not the month's message, but its order is a November purchase.
        october = history.message("abandoned_cart", 1, status="delivered", contact=a,
                                  sent="2026-10-20 10:00", parts=1, cost=1_200)
        history.order(october, revenue=1_000_000, at="2026-11-02 09:00")
        history.message("abandoned_cart", 1, status="failed", contact=b, delivery_status=14,
                        sent="2026-11-15 09:00", parts=1, cost=1_200)
        taken = history.message("abandoned_cart", 1, status="delivered", contact=b,
                                sent="2026-11-20 08:00", parts=1, cost=1_200,
                                clicked="2026-11-20 08:30")
        history.order(taken, revenue=500_000, at="2026-11-21 10:00", removed=True)
        for other in (contact[outside], contact[opted_out]):
            theirs = history.message("abandoned_cart", 1, status="delivered", contact=other,
                                     sent="2026-11-12 10:00", parts=1, cost=1_200,
                                     clicked="2026-11-12 10:10")
            history.order(theirs, revenue=700_000, at="2026-11-12 11:00")
        price = session.get(Store, store.id).sms_price_per_part
    return customers, set(members), price


def test_the_report_is_the_hand_count(api, written):
    customers, members, price = written
    segment = api.post("/api/v1/segments", json={"name": "تکراری‌ها", "definition": REPEAT})
    response = api.get(f"/api/v1/segments/{segment.json()['id']}/report", params=NOVEMBER)
    assert response.status_code == 200, response.text
    report = response.json()
    ours = [c for c in customers if c.id in members]

    assert report["size"] == len(members) == len([c for c in customers
                                                  if c.reachable and c.orders >= 2])
    assert report["segment"] == {"id": segment.json()["id"], "name": "تکراری‌ها"}
    assert report["range"]["from_jalali"] == "۱۴۰۵/۰۸/۱۰"
    assert report["range"]["to_jalali"] == "۱۴۰۵/۰۹/۰۹"

    # The story's own messages: one sent an hour before each click, no parts, no cost told.
    story_sent = [c.id for c in ours for at, _ in c.clicks if in_november(at - timedelta(hours=1))]
    assert story_sent, "the story gives the members some November messages"
    a, b = sorted(members)[:2]
    assert report["messaged"] == len(set(story_sent) | {a, b})
    messages = report["messages"]
    assert messages["sent"] == len(story_sent) + 3
    assert (messages["delivered"], messages["failed"], messages["blocked"]) == (2, 1, 1)
    assert messages["clicks"] == 2 and messages["click_rate"] == round(2 / messages["sent"], 4)
    assert messages["parts"] == 2 + 1 + 1
    # Kavenegar gives status 14 back: the blocked one costs nothing; the story's are estimated.
    assert messages["cost"] == 2_400 + 1_200 + len(story_sent) * price
    assert messages["cost_estimated_messages"] == len(story_sent)
    assert report["cost_source"] == "gateway_and_estimate"
    assert (messages["orders"], messages["revenue"]) == (1, 3_000_000)
    assert messages["revenue_taken_back"] == 500_000

    bought = [s for c in ours for s in c.paid if in_november(s.at)]
    assert bought, "the story gives the members some November purchases"
    purchases = report["purchases"]
    assert purchases["orders"] == len(bought) + 2  # and a's two credited orders
    assert purchases["revenue"] == sum((s.total - s.refunded) * 10 for s in bought) + 4_000_000
    assert purchases["customers"] == len({c.id for c in ours for s in c.paid
                                          if in_november(s.at)} | {a})
    assert purchases["average_order"] == purchases["revenue"] // purchases["orders"]


def test_an_empty_segment_reports_zeros_and_no_rates(api, written):
    segment = api.post("/api/v1/segments", json={
        "name": "هیچ‌کس", "definition": {"purchases": {"products": [999]}}}).json()
    report = api.get(f"/api/v1/segments/{segment['id']}/report", params=NOVEMBER).json()
    assert report["size"] == 0 and report["messaged"] == 0
    assert report["messages"]["sent"] == 0 and report["messages"]["click_rate"] is None
    assert report["purchases"] == {"customers": 0, "orders": 0, "revenue": 0,
                                   "average_order": None}


def test_the_default_period_is_the_last_30_days(api, scripted):
    segment = api.post("/api/v1/segments", json={"name": "همه"}).json()
    report = api.get(f"/api/v1/segments/{segment['id']}/report").json()
    # The story's clock: 2026-12-01 09:00 UTC, 12:30 in Tehran.
    assert (report["range"]["from"], report["range"]["to"]) == ("2026-11-02", "2026-12-01")
    assert date.fromisoformat(report["range"]["to"]) == date(2026, 12, 1)


def test_bad_periods_and_other_stores_segments_are_refused(api, other_api):
    ours = api.post("/api/v1/segments", json={"name": "همه"}).json()["id"]
    theirs = other_api.post("/api/v1/segments", json={"name": "مال دیگری"}).json()["id"]
    for params, status, code in [({"from": "1405/13/01"}, 422, "invalid_date"),
                                 ({"from": "2026-11-30", "to": "2026-11-01"}, 422,
                                  "invalid_range"),
                                 ({"from": "2025-01-01", "to": "2026-11-30"}, 422,
                                  "invalid_range")]:
        response = api.get(f"/api/v1/segments/{ours}/report", params=params)
        assert response.status_code == status and error_of(response)["code"] == code, params
    missing = api.get(f"/api/v1/segments/{theirs}/report", params=NOVEMBER)
    assert missing.status_code == 404 and error_of(missing)["code"] == "segment_not_found"


def test_the_report_is_documented_with_an_example(api):
    schema = api.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/segments/{segment_id}/report"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "segment_id"}
    assert {"404", "422"} <= set(operation["responses"])
    component = schema["components"]["schemas"]["SegmentReport"]
    assert component["examples"][0]["messages"]["sent"] == 180

