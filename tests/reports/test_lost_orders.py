"""November's lost orders in the reports (the story and its hand count:
tests/campaigns/lost_orders.py): how many were lost, and what the reminders brought back."""

import csv
import io

import pytest
from sqlalchemy import func, select

from app.campaigns.models import Attribution, Enrollment
from app.commerce.models import Order
from tests.campaigns import lost_orders
from tests.helpers import bearer
from tests.reports.conftest import NOVEMBER

RECOVERED = 12_000_000 + 25_000_000 + 9_000_000  # 801 (step 1), 802 and 807 (step 2)


@pytest.fixture
def campaign_id(shop) -> int:
    lost_orders.november(shop)
    return shop.campaign("lost_order").id


def get(client, shop, path: str, **params):
    response = client.get(path, params=NOVEMBER | params, headers=bearer(shop.store))
    assert response.status_code == 200, response.text
    return response


def test_the_campaign_counts_its_lost_orders_and_what_it_recovered(client, shop, campaign_id):
    row = get(client, shop, f"/api/v1/reports/campaigns/{campaign_id}").json()["campaign"]
    assert (row["lost_orders"], row["orders"], row["revenue"]) == (6, 3, RECOVERED)
    assert row["recovered_carts"] == 0
    assert [(s["position"], s["sent"], s["orders"], s["revenue"]) for s in row["steps"]] == [
        (1, 5, 1, 12_000_000), (2, 3, 2, 34_000_000), (3, 1, 0, 0)]


def test_recovered_revenue_is_the_sum_of_the_credited_lost_orders_still_paid(
        client, shop, factory, campaign_id):
    """Counted from the orders themselves: those the campaign enrolled, credited to it, and
    neither refunded nor cancelled since."""
    with factory() as session:
        paid = session.execute(
            select(func.count(), func.sum(Order.total))
            .join(Enrollment, (Enrollment.subject_type == "order")
                  & (Enrollment.subject_id == Order.id))
            .join(Attribution, Attribution.order_id == Order.id)
            .where(Enrollment.campaign_id == campaign_id,
                   Attribution.campaign_id == campaign_id, Attribution.removed_at.is_(None),
                   Order.status.not_in(["refunded", "cancelled"]))).one()
    row = get(client, shop, f"/api/v1/reports/campaigns/{campaign_id}").json()["campaign"]
    assert (row["orders"], row["revenue"]) == tuple(paid) == (3, RECOVERED)


def test_the_summary_agrees_and_other_kinds_have_no_lost_orders(client, shop, campaign_id):
    report = get(client, shop, "/api/v1/reports/summary").json()
    rows = {c["kind"]: c for c in report["campaigns"]}
    assert (rows["lost_order"]["lost_orders"], rows["lost_order"]["revenue"]) == (6, RECOVERED)
    assert {kind: row["lost_orders"] for kind, row in rows.items() if kind != "lost_order"} == {
        "abandoned_cart": None, "post_purchase_survey": None, "cross_sell": None,
        "win_back": None}
    assert (report["totals"]["orders"], report["totals"]["revenue"]) == (3, RECOVERED)
    days = get(client, shop, "/api/v1/reports/timeseries", campaign_id=campaign_id).json()
    assert sum(d["revenue"] for d in days["days"]) == days["totals"]["revenue"] == RECOVERED


def test_a_lost_order_is_counted_in_the_period_it_was_placed(client, shop, campaign_id):
    october = {"from": "2026-10-01", "to": "2026-10-31"}
    row = get(client, shop, f"/api/v1/reports/campaigns/{campaign_id}", **october).json()
    # 807 was placed on October 31st; what recovered it went out in November.
    assert (row["campaign"]["lost_orders"], row["campaign"]["orders"]) == (1, 0)


def test_the_orders_file_names_the_lost_order_basis(client, shop, campaign_id):
    body = get(client, shop, "/api/v1/reports/orders.csv", campaign_id=campaign_id).text
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"), newline="")))
    assert sorted((r["order_number"], r["basis"], r["step"], r["revenue_rial"]) for r in rows) == [
        ("801", "lost_order", "1", "12000000"), ("802", "lost_order", "2", "25000000"),
        ("807", "lost_order", "2", "9000000")]
