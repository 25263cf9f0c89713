"""The daily chart: one row per store-local day, each message counted on the day it went out with
everything it brought (the hand count is in test_summary.py)."""


from app.db import unit_of_work
from tests.factories import store_settings
from tests.helpers import create_store
from tests.reports.conftest import NOVEMBER, headers
from tests.reports.history import History
from tests.reports.test_summary import TOTALS


def days_of(body) -> dict:
    return {d["date"]: {k: d[k] for k in ("sent", "delivered", "clicks", "orders", "revenue",
                                          "cost")} for d in body["days"]}


def day(sent=0, delivered=0, clicks=0, orders=0, revenue=0, cost=0) -> dict:
    return dict(sent=sent, delivered=delivered, clicks=clicks, orders=orders, revenue=revenue,
                cost=cost)


def test_november_day_by_day(client, seeded):
    response = client.get("/api/v1/reports/timeseries", params=NOVEMBER,
                          headers=headers(seeded.store))
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["days"]) == 30
    assert body["days"][0]["date"] == "2026-11-01" and body["days"][0]["jalali"] == "۱۴۰۵/۰۸/۱۰"
    assert body["days"][-1]["date"] == "2026-11-30" and body["days"][-1]["jalali"] == "۱۴۰۵/۰۹/۰۹"
    expected = {f"2026-11-{n:02d}": day() for n in range(1, 31)} | {
        # m1 went out at 00:10 Tehran time (20:40 UTC the day before).
        "2026-11-01": day(sent=1, delivered=1, clicks=1, orders=1, revenue=5_000_000, cost=1200),
        "2026-11-02": day(sent=1, delivered=1, clicks=1, cost=3000),
        "2026-11-03": day(sent=2, clicks=1, orders=1, revenue=2_000_000, cost=1250),
        "2026-11-10": day(sent=1, delivered=1, clicks=1, cost=1500),
        "2026-11-15": day(sent=1, delivered=1, orders=1, revenue=1_500_000, cost=3600),
        "2026-11-20": day(sent=1, delivered=1, clicks=1, cost=1100),
        "2026-11-25": day(sent=1, delivered=1, clicks=1, orders=1, revenue=3_000_000, cost=2400),
        # m14 at 23:59 Tehran time; m13 (26th) is still in flight: not sent yet.
        "2026-11-30": day(sent=1, delivered=1, cost=1200),
    }
    assert days_of(body) == expected
    # The days add up to the summary.
    assert body["totals"] == {k: TOTALS[k] for k in ("sent", "delivered", "clicks", "orders",
                                                     "revenue", "cost")}
    assert body["cost_source"] == "gateway_and_estimate"


def test_one_campaign_day_by_day(client, seeded):
    body = client.get("/api/v1/reports/timeseries",
                      params=NOVEMBER | {"campaign_id": seeded.campaign_ids["cross_sell"]},
                      headers=headers(seeded.store)).json()
    assert {d: f for d, f in days_of(body).items() if f != day()} == {
        "2026-11-25": day(sent=1, delivered=1, clicks=1, orders=1, revenue=3_000_000, cost=2400)}
    assert body["campaign_id"] == seeded.campaign_ids["cross_sell"]


def test_days_follow_the_store_clock_across_a_daylight_saving_change(client, factory):
    """Berlin leaves summer time at 03:00 on 25 October 2026 (UTC+2 → UTC+1)."""
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    with unit_of_work(factory) as session:
        store = create_store(session, timezone="Europe/Berlin")
        store_settings(session, store.id, sms_price_per_part=1000)
        h = History(session, store.id, zone=berlin)
        for at in ("2026-10-24 23:30",  # 21:30 UTC
                   "2026-10-25 00:30",  # 22:30 UTC the day before
                   "2026-10-25 23:30",  # 22:30 UTC: after the change
                   "2026-10-26 00:30"):  # 23:30 UTC the day before
            h.message("abandoned_cart", 1, status="delivered", sent=at, parts=1)
    body = client.get("/api/v1/reports/timeseries", params={"from": "2026-10-24",
                                                            "to": "2026-10-26"},
                      headers=headers(store)).json()
    assert [(d["date"], d["sent"], d["cost"]) for d in body["days"]] == [
        ("2026-10-24", 1, 1000), ("2026-10-25", 2, 2000), ("2026-10-26", 1, 1000)]
    assert body["range"]["since"] == "2026-10-23T22:00:00+00:00"
    assert body["range"]["until"] == "2026-10-26T23:00:00+00:00"
