"""Predicted reorder dates: a tea shop's year of orders, delivered as WooCommerce sends them, and
each customer's predicted date worked out by hand (app/campaigns/replenish.py)."""

from datetime import date

import pytest

from app.campaigns import replenish
from app.stores.models import Store
from tests.campaigns.shop import Shop, tehran
from tests.factories import set_contact, set_product
from tests.helpers import error_of

NOW = tehran("2026-12-01T09:00")  # the store's today: 2026-12-01
TEA, COFFEE, TEAPOT = 11, 12, 13

A, B, C, D = "09121000001", "09121000002", "09121000003", "09121000004"
E, G, H, K, L = "09121000005", "09121000007", "09121000008", "09121000011", "09121000012"


def e164(phone: str) -> str:
    return "+98" + phone[1:]


class Year:
    """The store's year, one order at a time. wc ids are handed out in order."""

    def __init__(self, shop: Shop, first_id: int = 1000):
        self.shop, self.next_id = shop, first_id

    def order(self, phone: str, when: str, product: int, quantity: int = 1, **options):
        self.next_id += 1
        self.shop.order(self.next_id, tehran(when), phone=phone, items=((product, quantity),),
                        **options)


@pytest.fixture
def year(shop, factory):
    shop.product(TEA, name="چای سبز")
    shop.product(COFFEE, name="قهوه")
    shop.product(TEAPOT, name="قوری")
    y = Year(shop)
    # A: tea about every month. 2026-08-31 02:00 in Tehran is still 2026-08-30 in UTC: days
    # are the store's. Two orders on 2026-10-01 are one purchase; the one on 2026-11-05, two
    # days after the last, is a correction (a gap under 3 days is not counted), but it is the
    # last purchase. Refunded in full, cancelled, trashed and unpaid orders are no purchase.
    # Gaps 28, 31, 33 → 31; 2026-11-05 + 31 = 2026-12-06.
    y.order(A, "2026-08-03T10:00", TEA)
    y.order(A, "2026-08-31T02:00", TEA)
    y.order(A, "2026-10-01T09:00", TEA)
    y.order(A, "2026-10-01T23:30", TEA)
    y.order(A, "2026-11-03T10:00", TEA)
    y.order(A, "2026-11-05T10:00", TEA)
    y.order(A, "2026-11-20T10:00", TEA, status="completed", refunds=("600000",))
    y.order(A, "2026-11-22T10:00", TEA, status="refunded")
    y.order(A, "2026-11-25T10:00", TEA, status="cancelled")
    y.order(A, "2026-11-26T10:00", TEA, status="trash")
    y.order(A, "2026-11-27T10:00", TEA, status="pending")
    # B: two packs every 40 days (quantities do not scale the interval): 2026-11-17 + 40.
    for day in ("2026-06-10", "2026-07-20", "2026-08-29", "2026-10-08", "2026-11-17"):
        y.order(B, f"{day}T12:00", TEA, quantity=2)
    # C: one tea, one teapot. Tea's store median over its rebuyers' own intervals (A 31, B 40,
    # E 30, K 30) is 30.5 → 31 (a half rounds up): 2026-11-01 + 31 = 2026-12-02. Nobody
    # rebought a teapot: no prediction.
    y.order(C, "2026-10-01T10:00", TEAPOT)
    y.order(C, "2026-11-01T10:00", TEA)
    y.order(D, "2026-11-01T11:00", TEAPOT)
    # E: tea every 30 days, then unticked the SMS box at checkout: never listed, still counted
    # in the store's median.
    y.order(E, "2026-09-05T10:00", TEA)
    y.order(E, "2026-10-05T10:00", TEA)
    y.order(E, "2026-11-04T10:00", TEA, sms_consent="no")
    # K: tea every 30 days, promo-blocked (below): never listed, counted in the median.
    y.order(K, "2026-10-20T10:00", TEA)
    y.order(K, "2026-11-19T10:00", TEA)
    # G: coffee in spring, gaps 31 and 30 → 30.5 → 31; predicted 2026-06-01,
    # more than one interval ago: lapsed, never due.
    for day in ("2026-03-01", "2026-04-01", "2026-05-01"):
        y.order(G, f"{day}T10:00", COFFEE)
    # H: coffee every 20 days, 2026-11-10 + 20 = 2026-11-30: overdue by a day, still due.
    for day in ("2026-10-01", "2026-10-21", "2026-11-10"):
        y.order(H, f"{day}T10:00", COFFEE)
    # L: one coffee. Coffee's store median (G 31, H 20) is 25.5 → 26: 2026-11-10 + 26.
    y.order(L, "2026-11-10T15:00", COFFEE)
    set_contact(factory, shop.store.id, e164(K), promo_blocked_at=tehran("2026-11-21T10:00"))
    shop.clock.set(NOW)
    return shop


def row(phone, product, name, purchases, last, interval, source, predicted, days_until):
    return {"phone": e164(phone), "product_id": product, "product_name": name,
            "purchases": purchases, "last_purchase": last, "interval_days": interval,
            "source": source, "predicted": predicted, "days_until": days_until}


H_COFFEE = row(H, COFFEE, "قهوه", 3, "2026-11-10", 20, "own", "2026-11-30", -1)
C_TEA = row(C, TEA, "چای سبز", 1, "2026-11-01", 31, "store_median", "2026-12-02", 1)
A_TEA = row(A, TEA, "چای سبز", 5, "2026-11-05", 31, "own", "2026-12-06", 5)
L_COFFEE = row(L, COFFEE, "قهوه", 1, "2026-11-10", 26, "store_median", "2026-12-06", 5)
B_TEA = row(B, TEA, "چای سبز", 5, "2026-11-17", 40, "own", "2026-12-27", 26)


def listed(response) -> list[dict]:
    assert response.status_code == 200, response.text
    return [{key: item[key] for key in H_COFFEE} for item in response.json()["items"]]


def test_each_customer_is_due_on_the_day_worked_out_by_hand(year, api):
    assert listed(api.get("/api/v1/replenishment")) == [H_COFFEE, C_TEA, A_TEA, L_COFFEE]
    assert listed(api.get("/api/v1/replenishment", params={"due_within_days": "۳۰"})) == [
        H_COFFEE, C_TEA, A_TEA, L_COFFEE, B_TEA]
    # Today through tomorrow; an overdue one stays due for one interval.
    assert listed(api.get("/api/v1/replenishment", params={"due_within_days": 1})) == [
        H_COFFEE, C_TEA]
    assert listed(api.get("/api/v1/replenishment", params={"due_within_days": 0})) == [
        H_COFFEE]
    first = api.get("/api/v1/replenishment").json()["items"][0]
    assert first["name"] == "علی" and isinstance(first["contact_id"], int)


def test_the_service_predicts_lapsed_and_unsendable_customers_too_but_never_lists_them(
        year, factory):
    with factory() as session:
        store = session.get(Store, year.store.id)
        every = {(p.phone, p.product_id): p for p in replenish.predict(session, store=store,
                                                                       now=NOW)}
        due = replenish.due_within(session, store=store, now=NOW, days=90)
    # Opted-out (E) and promo-blocked (K) contacts have no prediction; a teapot has none.
    assert set(every) == {(e164(p), product) for p, product in (
        (A, TEA), (B, TEA), (C, TEA), (G, COFFEE), (H, COFFEE), (L, COFFEE))}
    lapsed = every[(e164(G), COFFEE)]
    assert (lapsed.interval_days, lapsed.predicted) == (31, date(2026, 6, 1))
    assert lapsed not in due and len(due) == 5
    # A product deleted from the store has nothing to reorder.
    set_product(factory, year.store.id, COFFEE, deleted_at=NOW)
    with factory() as session:
        store = session.get(Store, year.store.id)
        assert {p.product_id for p in replenish.predict(session, store=store, now=NOW)} == {TEA}


def test_an_order_after_now_or_in_another_store_never_counts(year, client, other_store,
                                                              other_api, factory, api):
    other = Year(Shop(client, other_store, factory, year.clock))
    other.order(A, "2026-11-05T10:00", TEA)  # the same phone, in another store
    other.order(A, "2026-11-25T10:00", TEA)
    year.clock.set(NOW)
    assert listed(api.get("/api/v1/replenishment", params={"due_within_days": 30})) == [
        H_COFFEE, C_TEA, A_TEA, L_COFFEE, B_TEA]
    [theirs] = other_api.get("/api/v1/replenishment", params={"due_within_days": 30}).json()[
        "items"]
    assert (theirs["phone"], theirs["interval_days"], theirs["predicted"], theirs["source"]) == (
        e164(A), 20, "2026-12-15", "own")
    # Seen from the day before the first order, A has bought nothing yet.
    with factory() as session:
        store = session.get(Store, year.store.id)
        early = replenish.predict(session, store=store, now=tehran("2026-08-02T10:00"))
    assert e164(A) not in {p.phone for p in early}


def test_pages_follow_the_cursor_and_bad_input_is_a_4xx_with_a_code(year, api, live_server):
    seen, cursor = [], None
    while True:
        params = {"due_within_days": 30, "limit": 2} | ({"cursor": cursor} if cursor else {})
        body = api.get("/api/v1/replenishment", params=params).json()
        assert len(body["items"]) <= 2
        seen += listed_items(body)
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [H_COFFEE, C_TEA, A_TEA, L_COFFEE, B_TEA]

    for bad in ("91", "-1", "سه", "7.5", ""):
        response = api.get("/api/v1/replenishment", params={"due_within_days": bad})
        assert response.status_code == 422, bad
        assert error_of(response)["code"] == "invalid_request"
    response = api.get("/api/v1/replenishment", params={"cursor": "not-a-cursor"})
    assert (response.status_code, error_of(response)["code"]) == (422, "invalid_cursor")
    anonymous = api.get("/api/v1/replenishment", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert "/api/v1/replenishment" in live_server.app.openapi()["paths"]


def listed_items(body: dict) -> list[dict]:
    return [{key: item[key] for key in H_COFFEE} for item in body["items"]]
