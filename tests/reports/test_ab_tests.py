"""A/B variants: who leads, and is it luck? Constructed cases with hand-computed z-tests."""

import math

import pytest

from app.db import unit_of_work
from app.reports import stats
from tests.factories import set_step
from tests.reports.conftest import NOVEMBER, headers
from tests.reports.history import History


@pytest.fixture
def tested(factory, store):
    """Cart step 1: A and B, 1,000 each; B clicked 150 times against A's 100, orders 12 vs 10.
    Cart step 2: X and Y with 50 and 60 messages: too few to tell."""
    with unit_of_work(factory) as session:
        h = History(session, store.id)
        for position, names in ((1, ("A", "B")), (2, ("X", "Y"))):
            set_step(session, store.id, "abandoned_cart", position,
                     variants=[{"name": n, "template": "t", "weight": 50} for n in names])
        h.many("abandoned_cart", 1, variant="A", sent="2026-11-05 10:00", count=1000, clicks=100,
               orders=10)
        h.many("abandoned_cart", 1, variant="B", sent="2026-11-06 10:00", count=1000, clicks=150,
               orders=12)
        h.many("abandoned_cart", 2, variant="X", sent="2026-11-07 10:00", count=50, clicks=10,
               orders=1)
        h.many("abandoned_cart", 2, variant="Y", sent="2026-11-07 10:00", count=60, clicks=5,
               orders=0)
        # Sent before the test began (no variant): no arm of it.
        h.many("abandoned_cart", 1, variant=None, sent="2026-11-02 10:00", count=300, clicks=0,
               orders=0)
    return store


def test_the_leader_and_whether_it_is_significant(client, tested):
    response = client.get("/api/v1/reports/ab-tests", params=NOVEMBER, headers=headers(tested))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["test"]["alpha"] == 0.05 and body["test"]["min_sent_per_variant"] == 100
    step1, step2 = body["steps"]
    assert (step1["campaign_kind"], step1["position"]) == ("abandoned_cart", 1)
    assert [(v["name"], v["sent"], v["clicks"], v["orders"], v["click_rate"],
             v["conversion_rate"]) for v in step1["variants"]] == [
        ("A", 1000, 100, 10, 0.1, 0.01), ("B", 1000, 150, 12, 0.15, 0.012)]
    # Clicks: pooled 0.125, se = sqrt(0.125 × 0.875 × 2/1000) = 0.014790, z = 0.05 / se = 3.381,
    # p = erfc(3.381 / √2) = 0.000723.
    clicks = step1["clicks"]
    assert (clicks["leader"], clicks["verdict"], clicks["significant"]) == ("B", "significant", True)
    assert clicks["z"] == pytest.approx(3.381, abs=0.001)
    assert clicks["p_value"] == pytest.approx(0.000723, abs=0.000002)
    # Orders: pooled 0.011, se = 0.004665, z = 0.002 / se = 0.429, p = 0.668: not yet.
    orders = step1["orders"]
    assert (orders["leader"], orders["verdict"], orders["significant"]) == (
        "B", "not_significant", False)
    assert orders["p_value"] == pytest.approx(0.668, abs=0.001)
    # Step 2: X leads on clicks (20% vs 8%), but 50 and 60 messages are too few to say.
    assert step2["clicks"] == {"leader": "X", "verdict": "not_enough_data", "significant": False,
                               "p_value": None, "z": None, "alpha": 0.05}


def test_one_campaign_only(client, tested, factory):
    with factory() as session:
        cross_sell = History(session, tested.id).campaigns["cross_sell"].id
    body = client.get("/api/v1/reports/ab-tests", params=NOVEMBER | {"campaign_id": cross_sell},
                      headers=headers(tested)).json()
    assert body["steps"] == []


def test_more_variants_need_a_stronger_lead():
    """Three variants: the leader is held to 0.05 / 2 against each of the other two."""
    arms = [stats.Arm("A", 1000, 100), stats.Arm("B", 1000, 128), stats.Arm("C", 1000, 95)]
    _, p = stats.two_proportion_z(arms[1], arms[0])
    assert 0.025 < p < 0.05  # significant for two variants, not for three
    verdict = stats.compare(arms)
    assert (verdict.leader, verdict.verdict, verdict.alpha) == ("B", "not_significant", 0.025)
    assert verdict.p_value == pytest.approx(p)
    assert stats.compare(arms[:2]).verdict == "significant"


def test_a_tie_has_no_leader():
    verdict = stats.compare([stats.Arm("A", 500, 50), stats.Arm("B", 500, 50)])
    assert (verdict.leader, verdict.verdict, verdict.p_value) == (None, "not_significant", 1.0)
    assert stats.two_proportion_z(stats.Arm("A", 200, 0), stats.Arm("B", 300, 0)) == (0.0, 1.0)
    # The p-value is the normal distribution's two tails.
    assert math.erfc(1.959964 / math.sqrt(2)) == pytest.approx(0.05, abs=1e-6)
