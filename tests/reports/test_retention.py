"""Retention for a scripted shop: Mehr, Aban and Azar 1405 (Tehran time), asked for on
1405/12/10 (2027-03-01). Every figure is a hand count of the orders below.

Orders (amounts in Rial; purchase = an order that is one now):

| customer (who) | order | when | total | what |
|---|---|---|---|---|
| A (phone) | A1 | 1405/07/05 | 1,000,000 | first |
| A | A2 | 1405/07/20 | 2,000,000 | second, 15 days later |
| A | A3 | 1405/09/10 | 3,000,000 | third |
| B (phone) | B1 | 1405/07/10 | 4,000,000 | 1,000,000 refunded (still a purchase, net 3,000,000) |
| B | B2 | 1405/10/15 | 500,000 | second, 95 days later, after the period |
| B | — | 1405/08/15 | 9,000,000 | trashed: nothing |
| C (WooCommerce customer 42, and an e-mail) | C1 | 1405/08/03 | 1,500,000 | first |
| C | C2 | 1405/08/25 | 1,500,000 | second, 22 days later |
| D (e-mail only, in two cases) | D1 | 1405/08/12 | 2,500,000 | first |
| D | D2 | 1405/09/20 | 700,000 | second, 38 days later |
| D | D3 | 1405/11/10 | 400,000 | third, after the period |
| E (phone) | E1 | 1405/06/19 | 1,000,000 | first, before the period |
| E | E2 | 1405/08/05 | 2,000,000 | second, 47 days later: returning |
| F (phone) | F1 | 1405/09/05 | 6,000,000 | refunded in full: paid, not a purchase |
| G (phone) | — | 1405/09/08 | 900,000 | cancelled after payment: nothing |
| G | G1 | 1405/09/09 | 800,000 | first |
| G | — | 1405/09/12 | 600,000 | pending (never paid): nothing |
| guest (no phone, id or e-mail) | H1 | 1405/08/20 | 300,000 | orders and revenue only |

Survey answers: A1 5 (1405/07/25), C1 3 (1405/08/28), A3 4 (1405/09/15), G1 1 (1405/09/16),
D2 5 (1405/10/02, after the period).

Another shop's customer 42 (the same WooCommerce id as C) bought for 10,000,000 in Aban.
"""

import pytest

from app.db import unit_of_work
from tests.helpers import bearer, create_store, error_of
from tests.reports.retention_shop import PERIOD, two_shops

URL = "/api/v1/reports/retention"


@pytest.fixture
def shops(factory, clock):
    return two_shops(factory, clock)


MONTHS = [
    # Mehr: A1, B1 (net 3,000,000), A2; A and B new.
    dict(label="مهر ۱۴۰۵", **{"from": "2026-09-23"}, to="2026-10-22",
         from_jalali="۱۴۰۵/۰۷/۰۱", to_jalali="۱۴۰۵/۰۷/۳۰",
         orders=3, customers=2, new_customers=2, returning_customers=0,
         orders_without_customer=0, revenue=6_000_000, returning_revenue=0,
         returning_revenue_share=0.0, average_order_value=2_000_000, paid_orders=3,
         refunded_orders=1, refund_rate=0.3333, gross_revenue=7_000_000,
         refunded_amount=1_000_000, refunded_share=0.1429, survey_answers=1,
         average_rating=5.0, satisfied_share=1.0),
    # Aban: C1, E2, D1, H1, C2; C and D new, E returning (2,000,000).
    dict(label="آبان ۱۴۰۵", **{"from": "2026-10-23"}, to="2026-11-21",
         from_jalali="۱۴۰۵/۰۸/۰۱", to_jalali="۱۴۰۵/۰۸/۳۰",
         orders=5, customers=3, new_customers=2, returning_customers=1,
         orders_without_customer=1, revenue=7_800_000, returning_revenue=2_000_000,
         returning_revenue_share=0.2564, average_order_value=1_560_000, paid_orders=5,
         refunded_orders=0, refund_rate=0.0, gross_revenue=7_800_000, refunded_amount=0,
         refunded_share=0.0, survey_answers=1, average_rating=3.0, satisfied_share=0.0),
    # Azar: G1, A3, D2 (+ F1 refunded in full); G new, A and D returning (3,700,000).
    dict(label="آذر ۱۴۰۵", **{"from": "2026-11-22"}, to="2026-12-21",
         from_jalali="۱۴۰۵/۰۹/۰۱", to_jalali="۱۴۰۵/۰۹/۳۰",
         orders=3, customers=3, new_customers=1, returning_customers=2,
         orders_without_customer=0, revenue=4_500_000, returning_revenue=3_700_000,
         returning_revenue_share=0.8222, average_order_value=1_500_000, paid_orders=4,
         refunded_orders=1, refund_rate=0.25, gross_revenue=10_500_000,
         refunded_amount=6_000_000, refunded_share=0.5714, survey_answers=2,
         average_rating=2.5, satisfied_share=0.5),
]
# The period: A, B, C, D, G new in it; E returning (E2).
TOTALS = dict(orders=11, customers=6, new_customers=5, returning_customers=1,
              orders_without_customer=1, revenue=18_300_000, returning_revenue=2_000_000,
              returning_revenue_share=0.1093, average_order_value=1_663_636, paid_orders=12,
              refunded_orders=2, refund_rate=0.1667, gross_revenue=25_300_000,
              refunded_amount=7_000_000, refunded_share=0.2767, survey_answers=4,
              average_rating=3.25, satisfied_share=0.5)


def _ltv(*values) -> list[dict]:
    """(revenue, per customer) after 1, 2, 3, 6 and 12 months; None: not ended yet."""
    return [{"months": n, "revenue": v and v[0], "per_customer": v and v[1]}
            for n, v in zip((1, 2, 3, 6, 12), values, strict=True)]


COHORTS = [
    # A, B: Mehr 6,000,000; Azar A3 3,000,000; Dey B2 500,000. By 1405/12/10 the months up to
    # Bahman have ended; 90 days after Mehr ended (1405/10/30) too: A's second came in 15 days,
    # B's in 95.
    dict(label="مهر ۱۴۰۵", customers=2, repeat_customers=2, repeat_rate=1.0,
         repeat_within_90_days=1,
         lifetime_value=_ltv((6_000_000, 3_000_000), (9_000_000, 4_500_000),
                             (9_500_000, 4_750_000), None, None)),
    # C, D: Aban 5,500,000; Azar D2 700,000; Bahman D3 400,000.
    dict(label="آبان ۱۴۰۵", customers=2, repeat_customers=2, repeat_rate=1.0,
         repeat_within_90_days=2,
         lifetime_value=_ltv((6_200_000, 3_100_000), (6_200_000, 3_100_000),
                             (6_600_000, 3_300_000), None, None)),
    # G: Azar 800,000; Esfand has not ended, nor 90 days since Azar did.
    dict(label="آذر ۱۴۰۵", customers=1, repeat_customers=0, repeat_rate=0.0,
         repeat_within_90_days=None,
         lifetime_value=_ltv((800_000, 800_000), (800_000, 800_000), None, None, None)),
]


def test_every_figure_is_the_hand_count(client, shops):
    store, _ = shops
    response = client.get(URL, params=PERIOD, headers=bearer(store))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["amounts_in"] == "rial"
    assert (body["range"]["from"], body["range"]["to"]) == ("2026-09-23", "2026-12-21")
    assert body["months"] == MONTHS
    assert body["totals"] == TOTALS
    assert body["repeat_purchase"] == {
        "customers": 5, "repeat_customers": 4, "rate": 0.8,  # G never bought again
        "within_90_days": {"cohorts": ["2026-09-23", "2026-10-23"], "customers": 4,
                           "repeat_customers": 3, "rate": 0.75}}
    # Second purchases in the period: A 15, C 22, D 38, E 47 days after the first (B's is later).
    assert body["second_order"] == {"customers": 4, "median_days": 30.0, "average_days": 30.5}
    cohorts = [{k: c[k] for k in COHORTS[0]} for c in body["cohorts"]]
    assert cohorts == COHORTS
    assert [(c["from"], c["to"], c["from_jalali"]) for c in body["cohorts"]] == [
        (m["from"], m["to"], m["from_jalali"]) for m in MONTHS]


def test_a_period_cut_inside_months(client, shops):
    """1405/07/15 to 1405/08/10: Mehr from its 15th, Aban to its 10th. A (first on 07/05) is
    returning here; B's first (07/10) is before the period too."""
    store, _ = shops
    body = client.get(URL, params={"from": "۱۴۰۵/۰۷/۱۵", "to": "1405-08-10"},
                      headers=bearer(store)).json()
    assert [(m["label"], m["from"], m["to"]) for m in body["months"]] == [
        ("مهر ۱۴۰۵", "2026-10-07", "2026-10-22"), ("آبان ۱۴۰۵", "2026-10-23", "2026-11-01")]
    # A2 (returning); C1 (new), E2 (returning).
    assert [(m["orders"], m["customers"], m["new_customers"], m["returning_revenue"])
            for m in body["months"]] == [(1, 1, 0, 2_000_000), (2, 2, 1, 2_000_000)]
    assert body["repeat_purchase"]["customers"] == 1  # C, who bought again
    assert body["repeat_purchase"]["repeat_customers"] == 1
    # A's second (07/20, 15 days) and E's (08/05, 47 days) fall in the period.
    assert body["second_order"] == {"customers": 2, "median_days": 31.0, "average_days": 31.0}


def test_an_empty_store(client, shops, factory):
    with unit_of_work(factory) as session:
        empty = create_store(session, name="دکان خالی", url="https://empty.example")
    body = client.get(URL, params=PERIOD, headers=bearer(empty)).json()
    assert [m["label"] for m in body["months"]] == ["مهر ۱۴۰۵", "آبان ۱۴۰۵", "آذر ۱۴۰۵"]
    zero = dict(orders=0, customers=0, new_customers=0, returning_customers=0,
                orders_without_customer=0, revenue=0, returning_revenue=0,
                returning_revenue_share=None, average_order_value=None, paid_orders=0,
                refunded_orders=0, refund_rate=None, gross_revenue=0, refunded_amount=0,
                refunded_share=None, survey_answers=0, average_rating=None,
                satisfied_share=None)
    assert body["totals"] == zero
    assert all({k: m[k] for k in zero} == zero for m in body["months"])
    assert body["repeat_purchase"]["rate"] is None
    assert body["second_order"] == {"customers": 0, "median_days": None, "average_days": None}
    assert [c["customers"] for c in body["cohorts"]] == [0, 0, 0]
    assert body["cohorts"][0]["lifetime_value"][0] == {"months": 1, "revenue": 0,
                                                       "per_customer": None}


def test_another_store_sees_only_its_own(client, shops):
    store, other = shops
    body = client.get(URL, params=PERIOD, headers=bearer(other)).json()
    assert (body["totals"]["orders"], body["totals"]["revenue"],
            body["totals"]["customers"]) == (1, 10_000_000, 1)
    assert body["totals"]["survey_answers"] == 0
    assert [c["customers"] for c in body["cohorts"]] == [0, 1, 0]
    assert body["repeat_purchase"]["repeat_customers"] == 0
    # Its customer 42 never joins this shop's customer 42 (C): C is still new in Aban.
    mine = client.get(URL, params=PERIOD, headers=bearer(store)).json()
    assert mine["months"][1]["new_customers"] == 2 and mine["totals"]["revenue"] == 18_300_000


@pytest.mark.parametrize("params, code", [
    ({"from": "1405/13/01"}, "invalid_date"),
    ({"to": "yesterday"}, "invalid_date"),
    ({"from": "2026-12-01", "to": "2026-11-01"}, "invalid_range"),
    ({"from": "2025-01-01", "to": "2026-11-01"}, "invalid_range"),
])
def test_bad_dates_are_422_with_a_reason(client, shops, params, code):
    store, _ = shops
    response = client.get(URL, params=params, headers=bearer(store))
    assert response.status_code == 422
    assert error_of(response)["code"] == code


def test_a_store_key_is_required(client, shops):
    response = client.get(URL, params=PERIOD)
    assert response.status_code == 401 and error_of(response)["code"] == "missing_api_key"


def test_the_report_is_in_the_openapi_document(client):
    operation = client.get("/openapi.json").json()["paths"][URL]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"from", "to"}
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Retention"}


@pytest.mark.parametrize("params", [{"from": "2999-12-01"}, {"from": "1970-01-01",
                                                               "to": "1970-12-31"}])
def test_the_edges_of_the_calendar_answer(client, shops, params):
    store, _ = shops
    response = client.get(URL, params=params, headers=bearer(store))
    assert response.status_code == 200, response.text
    assert response.json()["totals"]["orders"] == 0
