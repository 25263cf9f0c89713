"""The reorder_due trigger reads the store's purchases (every paid order) only when its
predictions may have moved: at most once an hour per automation, on the first tick of each
store-local day (reminders turn due at its midnight), and at the tick after its params change;
the ticks between (every 15 s) read nothing. An order that arrives is answered within the hour
(README «Automations»)."""

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from app.campaigns.models import Campaign
from tests.campaigns.shop import tehran
from tests.campaigns.test_triggers import COFFEE, TEA, automation, enrolled, sent

A, B, C = "09121000001", "09121000002", "09121000003"
SECONDS = timedelta(seconds=15)


@pytest.fixture
def purchase_reads(shop):
    """How many times the store's purchases were read (replenish.py's one query: every paid
    order's items with its contact's consent), counted as PostgreSQL or SQLite runs them."""
    engine = shop.factory.kw["bind"]
    seen: list[str] = []

    def count(conn, cursor, statement, *_):
        if "orders.items" in statement and "promo_blocked_at" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_ticks_between_looks_read_nothing_and_an_order_is_answered_within_the_hour(
        shop, api, purchase_reads):
    shop.product(TEA, name="چای سبز")
    shop.product(COFFEE, name="قهوه")
    # A: tea every 20 days, last 10-21: due 11-10 − 3 = 11-07. C: coffee every 21 days, last
    # 10-21: due 11-11 − 3 = 11-08.
    for wc_id, (phone, day, product) in enumerate([
            (A, "2026-10-01", TEA), (A, "2026-10-21", TEA),
            (C, "2026-09-30", COFFEE), (C, "2026-10-21", COFFEE)], start=3001):
        shop.order(wc_id, tehran(f"{day}T10:00"), phone=phone, items=((product, 1),))
    shop.clock.set(tehran("2026-11-01T08:00"))
    reminder = automation(api, "replenishment")

    shop.tick(tehran("2026-11-07T09:00"))
    assert len(purchase_reads) == 1 and [p for p, *_ in sent(shop, reminder["id"])] == [
        "+989121000001"]
    for at in ("2026-11-07T09:00:15", "2026-11-07T09:30"):
        shop.tick(tehran(at))
    assert len(purchase_reads) == 1  # within the hour: nothing read

    # B's tea of 10-21 reaches bazgasht late, at 09:05 (a webhook held up): tea's median, 20
    # days, makes it due today. Answered at the first tick an hour after the last look.
    shop.order(3005, tehran("2026-10-21T10:00"), phone=B, items=((TEA, 1),),
               arrived=tehran("2026-11-07T09:05"))
    shop.tick(tehran("2026-11-07T09:59:45"))
    assert len(purchase_reads) == 1 and len(sent(shop, reminder["id"])) == 1
    shop.tick(tehran("2026-11-07T10:00"))
    assert len(purchase_reads) == 2
    assert [(p, at) for p, at, _ in sent(shop, reminder["id"])] == [
        ("+989121000001", "11-07 09:00"), ("+989121000002", "11-07 10:00")]

    # The evening's last look, then midnight: a new day looks at once, and finds C due.
    shop.tick(tehran("2026-11-07T23:40"))
    assert len(purchase_reads) == 3 and [w for w, *_ in enrolled(shop, reminder["id"])] == [
        3002, 3005]
    shop.tick(tehran("2026-11-08T00:00:15"))
    assert len(purchase_reads) == 4
    assert [w for w, *_ in enrolled(shop, reminder["id"])] == [3002, 3004, 3005]
    shop.tick(tehran("2026-11-08T00:00:30"))
    assert len(purchase_reads) == 4

    # New params look at the next tick, whenever the last look was.
    changed = api.patch(f"/api/v1/campaigns/{reminder['id']}",
                        json={"trigger_params": {"days_before": "۵"}})
    assert changed.status_code == 200, changed.text
    shop.tick(tehran("2026-11-08T00:00:45"))
    assert len(purchase_reads) == 5
    with shop.factory() as session:
        looked = session.scalar(select(Campaign.trigger_looked_at)
                                .where(Campaign.id == reminder["id"]))
    assert looked == tehran("2026-11-08T00:00:45")
    shop.tick(tehran("2026-11-08T00:01") + SECONDS)
    assert len(purchase_reads) == 5


def test_a_look_with_more_due_than_a_batch_predicts_once(shop, api, purchase_reads,
                                                          monkeypatch):
    """Three customers due, a batch of one: the look's three rounds (and the empty fourth that
    ends it) enroll all three from one prediction."""
    from app.campaigns import enroll

    monkeypatch.setattr(enroll, "BATCH", 1)
    shop.product(TEA, name="چای سبز")
    for wc_id, (phone, day) in enumerate([
            (A, "2026-10-01"), (A, "2026-10-21"), (B, "2026-10-02"), (B, "2026-10-22"),
            (C, "2026-10-03"), (C, "2026-10-23")], start=4001):
        shop.order(wc_id, tehran(f"{day}T10:00"), phone=phone, items=((TEA, 1),))
    shop.clock.set(tehran("2026-11-01T08:00"))
    reminder = automation(api, "replenishment")
    shop.tick(tehran("2026-11-09T09:00"))  # all three due (11-10, 11-11, 11-12 − 3 days)
    assert [wc for wc, status, *_ in enrolled(shop, reminder["id"])] == [4002, 4004, 4006]
    assert len(purchase_reads) == 1
