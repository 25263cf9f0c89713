"""RFM scores on small examples a person can check: quintiles within the store's buyers."""

from datetime import datetime, timedelta, timezone

from app.contacts.models import Contact
from app.db import unit_of_work
from app.segments import rfm
from app.segments.facts import Purchases
from tests.reports.retention_shop import Shop

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def test_five_distinct_values_score_one_to_five_and_equal_values_share_a_score():
    assert rfm.quintiles({1: 10, 2: 40, 3: 20, 4: 50, 5: 30}) == {1: 1, 3: 2, 5: 3, 2: 4, 4: 5}
    # Ten buyers: two a fifth. Three tie at 7: all take the score of the lowest of them
    # (two below them: 1 + 5·2//10 = 2).
    values = dict(enumerate([1, 2, 7, 7, 7, 8, 9, 10, 11, 12]))
    assert list(rfm.quintiles(values).values()) == [1, 1, 2, 2, 2, 3, 4, 4, 5, 5]
    assert rfm.quintiles({9: 5}) == {9: 1}  # a lone buyer is in the lowest fifth


def test_each_dimension_scores_its_own_value():
    last = NOW - timedelta(days=1)
    buyers = {1: Purchases(orders=1, spent=900, last_at=last - timedelta(days=300)),
              2: Purchases(orders=5, spent=100, last_at=last - timedelta(days=200)),
              3: Purchases(orders=2, spent=500, last_at=last),
              4: Purchases(orders=3, spent=300, last_at=last - timedelta(days=100)),
              5: Purchases(orders=4, spent=700, last_at=last - timedelta(days=50))}
    scores = rfm.scores(buyers)
    assert [(s.recency, s.frequency, s.monetary) for s in scores.values()] == [
        (1, 1, 5), (2, 5, 1), (5, 2, 3), (3, 3, 2), (4, 4, 4)]


def test_the_api_takes_the_minimum_scores(api, store, factory, clock):
    """Five buyers spending 1, 2, 3, 4 and 5 million (one opted out: still a buyer, so the
    scores stay where they are), one who never bought."""
    with unit_of_work(factory) as session:
        shop = Shop(session, store.id)
        ids = [shop.contact(f"+98912000000{n}") for n in range(1, 7)]
        for n, contact in enumerate(ids[:5], 1):
            for k in range(n % 3 + 1):  # 2, 3, 1, 2, 3 orders
                shop.order(f"1405/0{n}/1{k}", n * 1_000_000 // (n % 3 + 1), contact=contact)
        session.get(Contact, ids[3]).opted_out_at = NOW
    clock.set(NOW)

    def who(rfm_min: dict) -> list[int]:
        body = api.post("/api/v1/segments/preview", json={"definition": {"rfm": rfm_min}})
        return sorted(m["contact_id"] for m in body.json()["sample"])

    assert who({"monetary_min": 4}) == [ids[4]]  # ids[3] (score 4) opted out
    assert who({"monetary_min": 2}) == [ids[1], ids[2], ids[4]]
    # Orders 2, 3, 1, 2, 3: below them 1, 3, 0, 1, 3 → scores 2, 4, 1, 2, 4.
    assert who({"frequency_min": 4}) == [ids[1], ids[4]]
    # Last orders in months 1..5 of 1405: the latest scores 5.
    assert who({"recency_min": 5}) == [ids[4]]
    assert who({"recency_min": 3, "frequency_min": 4, "monetary_min": 3}) == [ids[4]]
    assert ids[5] not in who({"recency_min": 1})  # never bought: no score at all
