"""The campaign report's lift: the campaign's enrollments against its control group.

The simulation: 1,000 contacts of an abandoned-cart campaign, every tenth held out as control;
each converts (a purchase two days after its anchor) with a known chance, 10% in control and 18%
treated, drawn from a seeded generator. The true uplift is 8 points: the interval must cover it.
"""

import random
from dataclasses import dataclass
from datetime import timedelta

import pytest

from app.campaigns.models import Campaign
from app.db import unit_of_work
from app.reports.lift import Group, compare
from tests.factories import set_campaign, store_settings
from tests.helpers import create_store
from tests.reports.conftest import NOVEMBER, headers
from tests.reports.history import local
from tests.reports.trial import buy, campaign_id_of, enroll_many

ANCHOR = local("2026-11-10 12:00")
CONTROL_RATE, TREATED_RATE = 0.10, 0.18
MEAN_ORDER = 1_000_000  # Rial: orders of 500,000 to 1,500,000, the same in both groups


@dataclass
class Trial:
    store: object
    campaign_id: int
    converted: dict  # control (bool) → how many converted
    revenue: dict    # control (bool) → their revenue


@pytest.fixture
def trial(factory) -> Trial:
    rng = random.Random(20261207)
    with unit_of_work(factory) as session:
        store = create_store(session)
        campaign_id = campaign_id_of(session, store.id)
        set_campaign(session, store.id, "abandoned_cart", control_percent=10)
        people = enroll_many(session, store.id, campaign_id, [i % 10 == 0 for i in range(1000)],
                             anchor=ANCHOR)
        converted = {False: 0, True: 0}
        revenue = {False: 0, True: 0}
        for n, (_, contact_id, control) in enumerate(people):
            if rng.random() < (CONTROL_RATE if control else TREATED_RATE):
                total = rng.randrange(500_000, 1_500_001, 1000)
                buy(session, store.id, contact_id, ANCHOR + timedelta(days=2), total,
                    wc_id=10_000 + n)
                converted[control] += 1
                revenue[control] += total
        session.flush()
    return Trial(store, campaign_id, converted, revenue)


def lift_of(client, store, campaign_id: int, params=NOVEMBER) -> dict:
    response = client.get(f"/api/v1/reports/campaigns/{campaign_id}", params=params,
                          headers=headers(store))
    assert response.status_code == 200, response.text
    return response.json()["lift"]


def test_a_known_uplift_is_covered_by_the_interval(client, trial):
    lift = lift_of(client, trial.store, trial.campaign_id)
    assert (lift["control_percent"], lift["confidence"]) == (10, 0.95)
    assert lift["window_days"] == 8  # the last step at 3 days + the 5-day attribution window
    treated, control = lift["treated"], lift["control"]
    assert (treated["contacts"], control["contacts"]) == (900, 100)
    assert (treated["converted"], control["converted"]) == (trial.converted[False],
                                                            trial.converted[True])
    assert treated["orders"] == treated["converted"]
    assert (treated["revenue"], control["revenue"]) == (trial.revenue[False], trial.revenue[True])
    assert treated["conversion_rate"] == round(trial.converted[False] / 900, 4)
    assert control["revenue_per_contact"] == round(trial.revenue[True] / 100)
    rates = lift["conversion_rate_difference"]
    truth = TREATED_RATE - CONTROL_RATE
    assert rates["low"] < truth < rates["high"]
    assert rates["estimate"] == round(treated["conversion_rate"] - control["conversion_rate"], 4)
    orders = lift["incremental_orders"]
    assert orders["low"] < truth * 900 < orders["high"]
    assert orders["estimate"] == pytest.approx(rates["estimate"] * 900, abs=0.1)
    money = lift["incremental_revenue"]
    assert money["low"] < truth * MEAN_ORDER * 900 < money["high"]
    significant = rates["low"] > 0
    assert lift["verdict"] == ("significant" if significant else "not_significant")
    if significant:
        assert "واقعاً فروش آورده" in lift["message"] and "سفارش بیشتر" in lift["message"]
    assert any("\u06f0" <= ch <= "\u06f9" for ch in lift["message"])  # Persian digits


def test_the_interval_covers_the_truth_about_95_times_in_100():
    """The same trial drawn 400 times (seeded): the conversion interval covers the true uplift
    in about 95% of them, the revenue interval likewise."""
    rng = random.Random(7)
    covered_rate = covered_revenue = 0
    campaign = Campaign(control_percent=10)
    for _ in range(400):
        groups = []
        for n, p in ((900, TREATED_RATE), (100, CONTROL_RATE)):
            totals = [rng.randrange(500_000, 1_500_001) if rng.random() < p else 0
                      for _ in range(n)]
            bought = [t for t in totals if t]
            groups.append(Group(n, len(bought), len(bought), sum(bought),
                                float(sum(t * t for t in bought))))
        lift = compare(campaign, *groups, window_days=8)
        rates, money = lift["conversion_rate_difference"], lift["incremental_revenue"]
        covered_rate += rates["low"] < 0.08 < rates["high"]
        covered_revenue += money["low"] < 0.08 * MEAN_ORDER * 900 < money["high"]
    assert 0.91 <= covered_rate / 400 <= 0.98
    assert 0.91 <= covered_revenue / 400 <= 0.98


def test_a_tiny_sample_says_plainly_it_is_too_small(client, factory):
    with unit_of_work(factory) as session:
        store = create_store(session)
        campaign_id = campaign_id_of(session, store.id)
        set_campaign(session, store.id, "abandoned_cart", control_percent=20)
        people = enroll_many(session, store.id, campaign_id, [i % 5 == 0 for i in range(40)],
                             anchor=ANCHOR)
        for n, (_, contact_id, _) in enumerate(people[:12]):
            buy(session, store.id, contact_id, ANCHOR + timedelta(days=1), 800_000, wc_id=n + 1)
    lift = lift_of(client, store, campaign_id)
    assert (lift["treated"]["contacts"], lift["control"]["contacts"]) == (32, 8)
    assert lift["verdict"] == "not_enough_data"
    assert lift["conversion_rate_difference"] is None and lift["incremental_orders"] is None
    assert lift["incremental_revenue"] is None
    assert "نمونه برای نتیجه‌گیری کوچک است" in lift["message"] and "۸ نفر" in lift["message"]


def test_a_campaign_without_control_says_how_to_turn_it_on(client, factory):
    with unit_of_work(factory) as session:
        store = create_store(session)
        campaign_id = campaign_id_of(session, store.id)
        enroll_many(session, store.id, campaign_id, [False] * 3, anchor=ANCHOR)
    lift = lift_of(client, store, campaign_id)
    assert lift["verdict"] == "no_control" and lift["control_percent"] == 0
    assert lift["treated"]["contacts"] == 3 and lift["control"] == {
        "contacts": 0, "converted": 0, "conversion_rate": None, "orders": 0, "revenue": 0,
        "revenue_per_contact": None}
    assert "گروه کنترل این کمپین خاموش است" in lift["message"]


def test_what_counts_as_a_conversion(client, factory):
    """One enrollment per case (all in control, anchored 10 November 12:00 on): only purchases
    that still stand, placed from the anchor to 8 days after it, by the enrolled contact."""
    with unit_of_work(factory) as session:
        store = create_store(session)
        other = create_store(session, name="دیگری", url="https://other.example")
        campaign_id = campaign_id_of(session, store.id)
        store_settings(session, store.id, attribution_window_days=2)  # window: 3 + 2 days
        people = enroll_many(session, store.id, campaign_id, [True] * 8, anchor=ANCHOR)
        survey = campaign_id_of(session, store.id, "post_purchase_survey")
        enroll_many(session, store.id, survey, [True], anchor=ANCHOR, serial=500)  # another campaign's
        enroll_many(session, store.id, campaign_id, [True], serial=600,
                    anchor=local("2026-10-20 12:00"))  # before the period
        contacts = [c for _, c, _ in people]
        at = [ANCHOR + timedelta(minutes=i) for i in range(8)]
        buy(session, store.id, contacts[0], at[0] + timedelta(days=1), 1_000_000, wc_id=1)
        buy(session, store.id, contacts[0], at[0] + timedelta(days=4), 500_000, wc_id=2)
        buy(session, store.id, contacts[1], at[1] - timedelta(minutes=1), 700_000, wc_id=3)
        buy(session, store.id, contacts[2], at[2] + timedelta(days=5, minutes=1), 700_000,
            wc_id=4)
        buy(session, store.id, contacts[3], at[3] + timedelta(days=1), 700_000, wc_id=5,
            purchased=False)  # cancelled, refunded or failed since
        buy(session, store.id, contacts[4], at[4] + timedelta(days=1), 700_000, wc_id=6,
            deleted=True)
        buy(session, store.id, contacts[5], at[5] + timedelta(days=2), 900_000, wc_id=7,
            refunded=400_000)  # a partial refund
        buy(session, store.id, contacts[6], at[6] + timedelta(days=5), 300_000, wc_id=8)
        buy(session, store.id, contacts[7], at[7], 200_000, wc_id=9, refunded=900_000)
        buy(session, other.id, contacts[7], at[7] + timedelta(days=1), 9_000_000, wc_id=10)
    lift = lift_of(client, store, campaign_id)
    assert lift["window_days"] == 5
    assert lift["control"] == {"contacts": 8, "converted": 4, "conversion_rate": 0.5,
                               "orders": 5,
                               "revenue": 1_500_000 + 500_000 + 300_000 + 0,
                               "revenue_per_contact": round(2_300_000 / 8)}
    assert lift["treated"]["contacts"] == 0 and lift["verdict"] == "not_enough_data"


def test_no_difference_and_a_harmful_campaign_are_said_plainly():
    campaign = Campaign(control_percent=10)
    same = compare(campaign, Group(900, 90, 90, 90_000_000, 90 * 1e12),
                   Group(100, 10, 10, 10_000_000, 10 * 1e12), window_days=8)
    assert same["verdict"] == "not_significant"
    assert same["conversion_rate_difference"]["estimate"] == 0
    low, high = same["incremental_orders"]["low"], same["incremental_orders"]["high"]
    assert low < 0 < high and low == -high
    assert same["message"].startswith("هنوز نمی‌توان گفت این کمپین فروش را بیشتر کرده است")
    assert "سفارش کمتر تا" in same["message"] and "سفارش بیشتر" in same["message"]
    harmful = compare(campaign, Group(900, 45, 45, 45_000_000, 45 * 1e12),
                      Group(100, 20, 20, 20_000_000, 20 * 1e12), window_days=8)
    assert harmful["verdict"] == "significant"
    assert harmful["conversion_rate_difference"]["high"] < 0
    assert harmful["incremental_revenue"]["high"] < 0
    assert "کمتر از گروه کنترل خریدند" in harmful["message"] and "سفارش کمتر" in harmful["message"]
