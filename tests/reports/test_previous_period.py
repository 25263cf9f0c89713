"""A campaign's report carries its previous period: as many days, right before `from`, counted
exactly as the period itself (the hand count of conftest.py's November is in test_summary.py)."""

from tests.reports.conftest import NOVEMBER, headers
from tests.reports.test_summary import (
    CART,
    CART_1,
    CART_1_A,
    CART_1_B,
    CART_2,
    CART_3,
    figures,
    only_figures,
)

# m15 alone: cart 1 A, sent 31 October 23:59 (1 part, 1,200 Rial), clicked and credited with a
# 7,000,000 Rial order on 1 November; its contact opted out on 8 November (not in October).
OCTOBER_31 = figures(messages=1, sent=1, delivered=1, delivery_rate=1.0, parts=1, cost=1200,
                     clicks=1, click_rate=1.0, orders=1, revenue=7_000_000, recovered_carts=1,
                     conversion_rate=1.0, return_on_spend=5833.33)


def cart_report(client, seeded, **period) -> dict:
    response = client.get(f"/api/v1/reports/campaigns/{seeded.campaign_ids['abandoned_cart']}",
                          params=period, headers=headers(seeded.store))
    assert response.status_code == 200, response.text
    return response.json()


def test_the_previous_period_is_as_long_and_right_before(client, seeded):
    body = cart_report(client, seeded, **NOVEMBER)
    assert body["previous"]["range"] == {
        "from": "2026-10-02", "to": "2026-10-31", "from_jalali": "۱۴۰۵/۰۷/۱۰",
        "to_jalali": "۱۴۰۵/۰۸/۰۹", "timezone": "Asia/Tehran",
        "since": "2026-10-01T20:30:00+00:00", "until": "2026-10-31T20:30:00+00:00"}
    before = body["previous"]["campaign"]
    assert only_figures(before) == OCTOBER_31
    step1, step2, step3 = before["steps"]
    assert only_figures(step1) == OCTOBER_31 and only_figures(step2) == figures()
    assert [(v["name"], v["sent"], v["revenue"]) for v in step1["variants"]] == [
        ("A", 1, 7_000_000), ("B", 0, 0)]
    # The period's own figures are as they were: "previous" is one key more.
    assert only_figures(body["campaign"]) == CART
    assert body["range"]["from"] == "2026-11-01"


def test_decembers_previous_period_is_novembers_hand_count(client, seeded):
    """1-30 December: the 30 days before are 1-30 November, counted by hand in test_summary."""
    before = cart_report(client, seeded, **{"from": "2026-12-01", "to": "2026-12-30"})["previous"]
    assert (before["range"]["from"], before["range"]["to"]) == ("2026-11-01", "2026-11-30")
    row = before["campaign"]
    assert only_figures(row) == CART
    step1, step2, step3 = row["steps"]
    assert only_figures(step1) == CART_1 and only_figures(step2) == CART_2
    assert only_figures(step3) == CART_3
    assert only_figures(step1["variants"][0]) == CART_1_A
    assert only_figures(step1["variants"][1]) == CART_1_B
    assert row["revenue_taken_back"] == 900_000  # m4's cancelled order
    assert (row["id"], row["kind"]) == (seeded.campaign_ids["abandoned_cart"], "abandoned_cart")


def test_one_day_is_compared_with_the_day_before(client, seeded):
    body = cart_report(client, seeded, **{"from": "۱۴۰۵/۰۸/۱۰", "to": "۱۴۰۵/۰۸/۱۰"})
    assert (body["range"]["from"], body["previous"]["range"]["from"],
            body["previous"]["range"]["to"]) == ("2026-11-01", "2026-10-31", "2026-10-31")
    assert only_figures(body["previous"]["campaign"]) == OCTOBER_31
    assert body["campaign"]["sent"] == 1  # m1, 00:10 on 1 November


def test_another_campaigns_and_stores_messages_stay_out_of_the_previous_period(client, seeded):
    """The survey campaign's 30 days before December: only its own two November messages."""
    response = client.get(
        f"/api/v1/reports/campaigns/{seeded.campaign_ids['post_purchase_survey']}",
        params={"from": "2026-12-01", "to": "2026-12-30"}, headers=headers(seeded.store))
    before = response.json()["previous"]["campaign"]
    assert (before["sent"], before["cost"], before["orders"], before["survey_answers"]) == (
        2, 2600, 0, 2)
