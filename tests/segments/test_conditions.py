"""Each condition of a segment, and some together, over the scripted store's year: the size the
preview gives and the members its pages list equal what a person counts in the story."""

from datetime import timedelta

import pytest

from app.db import unit_of_work
from app.stores.models import Store
from tests.helpers import error_of
from tests.segments.scripted import CATALOG, NOW, Customer, scripted_store


@pytest.fixture
def scripted(factory, clock, store, other_store):
    return scripted_store(factory, clock, store.id, other_store.id)


def members(api, definition: dict, customers: list[Customer]) -> set[int]:
    """The segment's members as the API gives them: the preview's size and sample, and every
    page of the saved segment's contacts (7 a page), which must agree."""
    preview = api.post("/api/v1/segments/preview", json={"definition": definition})
    assert preview.status_code == 200, preview.text
    body = preview.json()
    segment = api.post("/api/v1/segments", json={"name": "آزمون", "definition": definition})
    assert segment.status_code == 201, segment.text
    found, cursor = [], None
    while True:
        page = api.get(f"/api/v1/segments/{segment.json()['id']}/contacts",
                       params={"limit": 7} | ({"cursor": cursor} if cursor else {})).json()
        found += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Gone again: the next call saves its own «آزمون» (a name is used once per store).
    assert api.delete(f"/api/v1/segments/{segment.json()['id']}").status_code == 200
    ids = [m["contact_id"] for m in found]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert body["size"] == len(ids)
    assert [m["contact_id"] for m in body["sample"]] == ids[:20]
    assert all("*****" in m["phone"] for m in body["sample"])
    ours = {c.id for c in customers}
    assert set(ids) <= ours, "a contact of another store, or one without a mobile"
    return set(ids)


def hand(customers: list[Customer], rule) -> set[int]:
    """The members a person counts: every reachable customer for whom `rule` holds."""
    return {c.id for c in customers if c.reachable and rule(c)}


def days(n: int):
    return NOW - timedelta(days=n)


def bought(c: Customer, products) -> bool:
    return any(p in products for s in c.paid for p in s.products)


def in_category(category: int) -> set[int]:
    return {p for p, categories in CATALOG.items() if category in categories}


def latest_rating(c: Customer) -> int | None:
    return max(c.ratings)[1] if c.ratings else None


def score(c: Customer, customers: list[Customer], value) -> int:
    """The README's RFM rule by hand: 1 + floor(5 × buyers strictly below / buyers)."""
    buyers = [b for b in customers if b.orders]
    return 1 + 5 * sum(1 for b in buyers if value(b) < value(c)) // len(buyers)


CASES = {
    "everyone": ({}, lambda c, _: True),
    "two orders or more": ({"purchases": {"orders_min": 2}}, lambda c, _: c.orders >= 2),
    "never bought": ({"purchases": {"orders_max": 0}}, lambda c, _: c.orders == 0),
    "one to three orders": ({"purchases": {"orders_min": "1", "orders_max": "۳"}},
                            lambda c, _: 1 <= c.orders <= 3),
    "spent five million toman": ({"purchases": {"spent_min": 5_000_000}},
                                 lambda c, _: c.spent >= 5_000_000),
    "spent at most two million, Persian digits": (
        {"purchases": {"spent_max": "۲٬۰۰۰٬۰۰۰"}}, lambda c, _: c.spent <= 2_000_000),
    "average order two million": ({"purchases": {"average_min": 2_000_000}},
                                  lambda c, _: c.orders and c.spent >= 2_000_000 * c.orders),
    "average order at most a million": (
        {"purchases": {"average_max": "١٠٠٠٠٠٠"}},
        lambda c, _: c.orders and c.spent <= 1_000_000 * c.orders),
    "ordered in the last 30 days": ({"purchases": {"last_order_within_days": 30}},
                                    lambda c, _: c.last and c.last >= days(30)),
    "last order more than 180 days ago": ({"purchases": {"last_order_before_days": 180}},
                                          lambda c, _: c.last and c.last < days(180)),
    "bought product 14": ({"purchases": {"products": [14]}}, lambda c, _: bought(c, {14})),
    "bought 11 or 16": ({"purchases": {"products": [11, 16]}},
                        lambda c, _: bought(c, {11, 16})),
    "an unknown product: nobody": ({"purchases": {"products": [999]}}, lambda c, _: False),
    "bought from category 15": ({"purchases": {"categories": [15]}},
                                lambda c, _: bought(c, in_category(15))),
    "bought from category 16 or 17": ({"purchases": {"categories": [16, 17]}},
                                      lambda c, _: bought(c, in_category(16) | in_category(17))),
    "first-time buyers": ({"purchases": {"buyer": "first_time"}}, lambda c, _: c.orders == 1),
    "repeat buyers": ({"purchases": {"buyer": "repeat"}}, lambda c, _: c.orders >= 2),
    "clicked in 30 days": ({"engagement": {"clicked_within_days": 30}},
                           lambda c, _: any(at >= days(30) and not bot for at, bot in c.clicks)),
    "replied in 20 days": ({"engagement": {"replied_within_days": 20}},
                           lambda c, _: any(at >= days(20) for at, _ in c.replies)),
    "latest rating 4 or 5": ({"engagement": {"rating_min": 4}},
                             lambda c, _: (latest_rating(c) or 0) >= 4),
    "latest rating at most 2": ({"engagement": {"rating_max": 2}},
                                lambda c, _: latest_rating(c) is not None
                                and latest_rating(c) <= 2),
    "recency 4+": ({"rfm": {"recency_min": 4}},
                   lambda c, all_: c.orders and score(c, all_, lambda b: b.last) >= 4),
    "frequency 3+ and monetary 4+": (
        {"rfm": {"frequency_min": 3, "monetary_min": 4}},
        lambda c, all_: c.orders and score(c, all_, lambda b: b.orders) >= 3
        and score(c, all_, lambda b: b.spent) >= 4),
    "repeat buyers of category 16 who clicked in 60 days": (
        {"purchases": {"buyer": "repeat", "categories": [16]},
         "engagement": {"clicked_within_days": 60}},
        lambda c, _: c.orders >= 2 and bought(c, in_category(16))
        and any(at >= days(60) and not bot for at, bot in c.clicks)),
    "big spenders lapsed for 90 days": (
        {"purchases": {"spent_min": 3_000_000, "last_order_before_days": 90}},
        lambda c, _: c.spent >= 3_000_000 and c.last and c.last < days(90)),
    "happy buyers in the top fifth by spend": (
        {"engagement": {"rating_min": 4}, "rfm": {"monetary_min": 5}},
        lambda c, all_: (latest_rating(c) or 0) >= 4 and c.orders
        and score(c, all_, lambda b: b.spent) == 5),
}


@pytest.mark.parametrize("case", CASES)
def test_the_segment_is_the_hand_count(api, scripted, case):
    customers = scripted
    definition, rule = CASES[case]
    expected = hand(customers, lambda c: rule(c, customers))
    assert members(api, definition, customers) == expected


def test_the_story_gives_every_condition_something_to_tell_apart(scripted):
    """The story is varied enough that no case is trivially everyone or no one."""
    customers = scripted
    reachable = [c for c in customers if c.reachable]
    for name, (_, rule) in CASES.items():
        if name in ("everyone", "an unknown product: nobody"):
            continue
        size = len(hand(customers, lambda c, rule=rule: rule(c, customers)))
        assert 0 < size < len(reachable), name


def test_opted_out_and_blocked_customers_are_in_no_segment(api, scripted):
    customers = scripted
    away = {c.id for c in customers if not c.reachable}
    assert any(c.opted_out for c in customers) and any(c.promo_blocked for c in customers)
    everyone = members(api, {}, customers)
    assert not everyone & away
    assert len(everyone) == sum(c.reachable for c in customers)


def test_another_stores_segments_see_only_its_customers(other_api, scripted):
    customers = scripted
    body = other_api.post("/api/v1/segments/preview", json={"definition": {}}).json()
    assert body["size"] == sum(1 for c in customers[:20] if c.reachable)  # its own story
    assert not {m["contact_id"] for m in body["sample"]} & {c.id for c in customers}


def currency(factory, store_id: int, code: str) -> None:
    with unit_of_work(factory) as session:
        session.get_one(Store, store_id).currency = code


def test_amounts_have_the_decimals_of_the_stores_currency(api, factory, store, scripted):
    """An IRHT store (thousand toman) asks for 2,500.5 thousand toman: 2,500,500 toman."""
    customers = scripted
    currency(factory, store.id, "IRHT")
    for typed in ("۲٬۵۰۰٫۵", "2500.5", 2500.5):
        assert members(api, {"purchases": {"spent_min": typed}}, customers) == hand(
            customers, lambda c: c.spent >= 2_500_500)
    saved = api.post("/api/v1/segments", json={"name": "دقیق", "definition": {
        "purchases": {"average_max": "0.0001", "spent_min": "1200"}}}).json()
    assert saved["definition"]["purchases"]["average_max"] == 0.0001  # a JSON number
    assert saved["definition"]["purchases"]["spent_min"] == 1200

    refused = api.post("/api/v1/segments/preview", json={
        "definition": {"purchases": {"spent_min": "1.00005"}}})
    assert refused.status_code == 422 and error_of(refused)["code"] == "invalid_request"
    # A toman store has a decimal (a rial); a rial store none.
    currency(factory, store.id, "IRT")
    assert members(api, {"purchases": {"spent_min": "2500500.5"}}, customers) == hand(
        customers, lambda c: c.spent * 10 >= 25_005_005)
    for code, amount in (("IRT", "12.25"), ("IRR", "12.5")):
        currency(factory, store.id, code)
        for method, path, body in (
                ("POST", "/api/v1/segments/preview", {"definition": {
                    "purchases": {"spent_max": amount}}}),
                ("POST", "/api/v1/segments", {"name": "x", "definition": {
                    "purchases": {"spent_max": amount}}}),
                ("PATCH", f"/api/v1/segments/{saved['id']}", {"definition": {
                    "purchases": {"spent_max": amount}}})):
            response = api.request(method, path, json=body)
            assert response.status_code == 422, (code, method, response.text)
            assert error_of(response) == {"code": "invalid_request", "message": (
                f"definition.purchases.spent_max: {amount} is no amount of {code}; its "
                f"amounts are {'at most 1 decimals' if code == 'IRT' else 'whole numbers'}")}
    assert api.get(f"/api/v1/segments/{saved['id']}").json() == saved  # nothing changed
