"""The daily rollup never changes a report: after every kind of write, with the rollup job run
and without (the days the write touched are dirty), each report equals the one computed from the
raw tables alone. Writes go through the real writers (lifecycle, click recorder, attribution).

The tea shop's November (conftest.py) is rolled up on 5 December, 12:00 Tehran time: every day up
to 4 December is in `report_days`, the 5th is read raw.
"""

import json
import os
import subprocess
import sys
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.broadcasts.service import of_campaigns
from app.campaigns import lifecycle
from app.campaigns.attribution import attribute_order
from app.campaigns.lifecycle import Taken
from app.campaigns.models import SCHEDULED, Message
from app.campaigns.reasons import SendMode
from app.commerce.models import Order
from app.db import unit_of_work
from app.links.clicks import ClickRecorder, Hit
from app.links.models import Link
from app.report_marks.models import ReportDirtyDay
from app.reports import rollup, service
from app.reports.models import ReportDay, ReportWatermark
from app.reports.period import Period
from app.scheduler import run_job
from app.stores.models import Store
from tests.reports.history import History, local

NOW = local("2026-12-05 12:00")
PERIODS = [(date(2026, 11, 1), date(2026, 11, 30)),  # the month, every day rolled up
           (date(2026, 10, 1), date(2026, 12, 5))]   # rolled-up days, dirty ones and today
KINDS = ("abandoned_cart", "post_purchase_survey", "cross_sell")  # those with a history


def reports(session, store_id: int, raw: bool) -> list:
    store = session.get_one(Store, store_id)
    campaigns = [c for c, _ in service.repo.campaigns_with_steps(session, store_id=store.id)
                 if c.kind in KINDS]
    out = []
    for first, last in PERIODS:
        period = Period(first, last, store.timezone)
        out.append(service.summary(session, store=store, period=period, raw=raw,
                                   broadcasts_of=of_campaigns))
        out.append(service.timeseries(session, store=store, period=period, raw=raw))
        out.append(service.ab_tests(session, store=store, period=period, raw=raw))
        for campaign in campaigns:
            out.append(service.campaign_report(session, store=store, period=period,
                                               campaign=campaign, raw=raw))
        out.append(service.timeseries(session, store=store, period=period,
                                      campaign_id=campaigns[0].id, raw=raw))
    return out


def assert_exact(factory, store_id: int) -> None:
    with factory() as session:
        assert reports(session, store_id, raw=False) == reports(session, store_id, raw=True)


def dirty_days(factory, store_id: int) -> set[date]:
    with factory() as session:
        return set(session.scalars(select(ReportDirtyDay.day)
                                   .where(ReportDirtyDay.store_id == store_id)))


def rolled_rows(factory, store_id: int) -> list:
    with factory() as session:
        return [tuple(getattr(r, c.key) for c in ReportDay.__table__.columns)
                for r in session.scalars(select(ReportDay).where(ReportDay.store_id == store_id)
                                         .order_by(ReportDay.day, ReportDay.campaign_id,
                                                   ReportDay.step_id, ReportDay.variant))]


def roll(factory, store_id: int, now=NOW) -> None:
    """The job's round, then: nothing dirty, and the reports still equal the raw ones."""
    report = run_job("report_rollup", factory, None, now)
    assert report.result == "ran", report.error
    assert dirty_days(factory, store_id) == set()
    assert_exact(factory, store_id)


def both_ways(factory, store_id: int, *dirty: date) -> None:
    """After a write: the days it touched are dirty and the reports exact; after the job
    likewise, with nothing dirty."""
    assert set(dirty) <= dirty_days(factory, store_id)
    assert_exact(factory, store_id)
    roll(factory, store_id)


@pytest.fixture
def rolled(factory, seeded):
    roll(factory, seeded.store.id)
    with factory() as session:
        mark = session.get_one(ReportWatermark, seeded.store.id)
        assert (mark.through, mark.timezone) == (date(2026, 12, 4), "Asia/Tehran")
        assert session.scalar(select(func.count()).select_from(ReportDay)
                              .where(ReportDay.store_id == seeded.store.id)) > 0
    return seeded


def scheduled(factory, store_id: int, due: str) -> int:
    with unit_of_work(factory) as session:
        message = History(session, store_id).message("abandoned_cart", 2, status=SCHEDULED,
                                                     due=due)
        return message.id


def send(factory, message_id: int, at) -> None:
    """Claimed, approved (sending, sent_at set), then taken by the gateway: each step is a
    transaction of its own, and the reports are exact after each."""
    assert message_id in lifecycle.claim_due(factory, at)
    with unit_of_work(factory) as session:
        message = session.get_one(Message, message_id)
        lifecycle.approve(message, text="سبد شما", parts=2, mode=SendMode.TEXT, via="console",
                          now=at)
        store_id = message.store_id
    assert_exact(factory, store_id)
    with unit_of_work(factory) as session:
        lifecycle.mark_sent(session, [Taken(message_id, "g-1", None, 1)])


def test_rollup_is_read_and_rebuilds_to_the_same_rows(factory, rolled):
    store_id = rolled.store.id
    rows = rolled_rows(factory, store_id)
    assert any(r[1] == date(2026, 11, 3) for r in rows)
    # Idempotent: a second round changes nothing.
    assert run_job("report_rollup", factory, None, NOW).did == {"rolled_up_days": 0}
    assert rolled_rows(factory, store_id) == rows
    # A change behind the writers' back does not show: the report reads the rollup.
    with unit_of_work(factory) as session:
        session.get_one(Message, rolled.ids[4]).parts = 9
    with factory() as session:
        assert reports(session, store_id, raw=False) != reports(session, store_id, raw=True)
    # Rebuilt from raw: the rows of an up-to-date rollup come back the same.
    with unit_of_work(factory) as session:
        session.get_one(Message, rolled.ids[4]).parts = 1
        rollup.forget(session, store_id)
    assert_exact(factory, store_id)  # no watermark: raw
    roll(factory, store_id)
    assert rolled_rows(factory, store_id) == rows


def test_sends_today_and_on_rolled_up_days(factory, rolled):
    store_id = rolled.store.id
    today = scheduled(factory, store_id, "2026-12-05 11:00")
    send(factory, today, NOW)
    both_ways(factory, store_id, date(2026, 12, 5))
    # 23:59 Tehran time is 20:29 UTC the same day; 00:10 is 20:40 UTC the day before.
    late = scheduled(factory, store_id, "2026-12-03 23:59")
    send(factory, late, local("2026-12-03 23:59"))
    both_ways(factory, store_id, date(2026, 12, 3))
    early = scheduled(factory, store_id, "2026-12-04 00:10")
    send(factory, early, local("2026-12-04 00:10"))
    assert dirty_days(factory, store_id) == {date(2026, 12, 4)}
    both_ways(factory, store_id, date(2026, 12, 4))


def test_a_send_that_fails_and_a_retry_that_kept_its_sent_at(factory, rolled):
    store_id = rolled.store.id
    message_id = scheduled(factory, store_id, "2026-12-02 10:00")
    at = local("2026-12-02 10:00")
    assert message_id in lifecycle.claim_due(factory, at)
    with unit_of_work(factory) as session:
        lifecycle.approve(session.get_one(Message, message_id), text="سبد", parts=1,
                          mode=SendMode.TEXT, via="console", now=at)
    roll(factory, store_id)
    # It may have gone out: scheduled again with its sent_at (it counts as scheduled that day).
    with unit_of_work(factory) as session:
        assert lifecycle.settle_sending(session, message_id, lifecycle.Move(
            SCHEDULED, lifecycle.Reason.GATEWAY_RETRY, due_at=at), keep_sent_at=True)
    both_ways(factory, store_id, date(2026, 12, 2))
    assert message_id in lifecycle.claim_due(factory, NOW)  # sending again
    both_ways(factory, store_id, date(2026, 12, 2))
    with unit_of_work(factory) as session:  # refused this time: no longer went out
        assert lifecycle.settle_sending(session, message_id, lifecycle.Move(
            SCHEDULED, lifecycle.Reason.GATEWAY_RETRY, due_at=NOW))
        assert session.get_one(Message, message_id).sent_at is None
    both_ways(factory, store_id, date(2026, 12, 2))


def test_delivery_reports_and_parts(factory, rolled):
    store_id = rolled.store.id
    with unit_of_work(factory) as session:  # m4 went out on 3 November: delivered now
        lifecycle.record_delivery(session, rolled.ids[4], code=10, delivered=True, final=True,
                                  now=NOW)
    both_ways(factory, store_id, date(2026, 11, 3))
    with unit_of_work(factory) as session:
        lifecycle.record_parts(session, {rolled.ids[2]: 5})
    both_ways(factory, store_id, date(2026, 11, 2))


def test_first_click_credit_partial_refund_and_removal(factory, rolled):
    store_id = rolled.store.id
    m5 = rolled.ids[5]  # sent 15 November, never clicked
    with factory() as session:
        link_id = session.scalar(select(Link.id).where(Link.message_id == m5))
        contact_id = session.get_one(Message, m5).contact_id
    clicks = ClickRecorder(factory)
    clicks.record(Hit(link_id, store_id, m5, local("2026-11-17 10:00"), False, "Mozilla/5.0"))
    assert clicks.flush() == 1
    both_ways(factory, store_id, date(2026, 11, 15))
    clicks.record(Hit(link_id, store_id, m5, local("2026-11-17 11:00"), False, "Mozilla/5.0"))
    clicks.flush()  # not a first click: the report does not change, nothing is marked
    assert dirty_days(factory, store_id) == set()

    with unit_of_work(factory) as session:
        session.add(Order(store_id=store_id, wc_id=77_001, number="77001", status="processing",
                          purchased=True, currency="IRT", total=4_000_000, contact_id=contact_id,
                          created_gmt=local("2026-11-18 09:00"), items=[]))
        session.flush()
        credit = attribute_order(session, store_id=store_id, wc_id=77_001, now=NOW)
        assert credit is not None and credit.message_id == m5
    both_ways(factory, store_id, date(2026, 11, 15))

    with unit_of_work(factory) as session:  # a partial refund
        order = session.scalar(select(Order).where(Order.wc_id == 77_001))
        order.refunded = 1_000_000
        attribute_order(session, store_id=store_id, wc_id=77_001, now=NOW)
    both_ways(factory, store_id, date(2026, 11, 15))

    with unit_of_work(factory) as session:  # cancelled: the credit is removed
        order = session.scalar(select(Order).where(Order.wc_id == 77_001))
        order.status, order.purchased = "cancelled", False
        attribute_order(session, store_id=store_id, wc_id=77_001, now=NOW)
    both_ways(factory, store_id, date(2026, 11, 15))


def test_a_new_price_per_part_and_a_new_timezone(factory, rolled):
    store_id = rolled.store.id
    with unit_of_work(factory) as session:  # estimated costs follow the price: nothing to mark
        session.get_one(Store, store_id).sms_price_per_part = 2_000
    assert dirty_days(factory, store_id) == set()
    assert_exact(factory, store_id)

    with unit_of_work(factory) as session:  # m1 (00:10 on 1 November in Tehran) moves a day
        session.get_one(Store, store_id).timezone = "Europe/Berlin"
    assert_exact(factory, store_id)  # the rollup is in Tehran's days: read raw
    roll(factory, store_id)
    with factory() as session:
        mark = session.get_one(ReportWatermark, store_id)
        assert (mark.through, mark.timezone) == (date(2026, 12, 4), "Europe/Berlin")
        day_of_m1 = session.scalars(select(ReportDay.day).where(
            ReportDay.store_id == store_id, ReportDay.day < date(2026, 11, 2))).all()
    assert date(2026, 10, 31) in day_of_m1


def test_a_store_rolled_up_before_its_days_went_by(factory, rolled):
    """The next day the job catches up: yesterday, with today's sends, joins the rollup."""
    store_id = rolled.store.id
    send(factory, scheduled(factory, store_id, "2026-12-05 11:00"), NOW)
    roll(factory, store_id, now=NOW + timedelta(days=1))
    with factory() as session:
        assert session.get_one(ReportWatermark, store_id).through == date(2026, 12, 5)
        assert session.scalar(select(func.sum(ReportDay.sent)).where(
            ReportDay.store_id == store_id, ReportDay.day == date(2026, 12, 5))) == 1


def test_a_mark_made_while_the_job_runs_is_not_lost(factory, rolled, engine):
    """A writer changes a rolled-up day and marks it, and commits only after the job read the
    raw tables and deleted the marks it saw: its mark stays, so the day is read raw."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the job waits for the writer")
    store_id = rolled.store.id
    with unit_of_work(factory) as session:
        lifecycle.record_parts(session, {rolled.ids[4]: 3})  # 3 November dirty
    writer = factory()
    try:
        lifecycle.record_delivery(writer, rolled.ids[4], code=10, delivered=True, final=True,
                                  now=NOW)
        writer.flush()
        run_job("report_rollup", factory, None, NOW)  # rolls 3 November up, without it
        writer.commit()
    finally:
        writer.close()
    assert dirty_days(factory, store_id) == {date(2026, 11, 3)}
    assert_exact(factory, store_id)
    roll(factory, store_id)


def test_the_rebuild_command(factory, rolled, database_url):
    store_id = rolled.store.id
    rows = rolled_rows(factory, store_id)
    with unit_of_work(factory) as session:  # behind the writers' back: only a rebuild sees it
        session.get_one(Message, rolled.ids[4]).parts = 7
    env = os.environ | {"DATABASE_URL": database_url}
    run = [sys.executable, "-m", "app", "rebuild-report-rollup", "--now",
           "2026-12-05T12:00:00+03:30"]
    result = subprocess.run([*run, "--store", str(store_id)], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["store"] == store_id and report["rolled_up_days"] > 30
    assert rolled_rows(factory, store_id) != rows
    assert_exact(factory, store_id)
    result = subprocess.run([*run, "--store", "987654"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 2 and "no store 987654" in result.stderr


def test_an_estimated_cost_without_a_delivery_report_follows_the_price(factory, seeded):
    """A message the gateway took without saying its cost, and with no delivery report yet: it
    is an estimate (counted as one), so a new price per part reprices it in the rollup too."""
    store_id = seeded.store.id
    with unit_of_work(factory) as session:
        History(session, store_id).message("abandoned_cart", 1, status="sent", parts=3,
                                           sent="2026-11-05 10:00")
    roll(factory, store_id)
    with factory() as session:
        before = reports(session, store_id, raw=False)[0]["totals"]
    with unit_of_work(factory) as session:
        session.get_one(Store, store_id).sms_price_per_part = 2_000
    assert_exact(factory, store_id)
    with factory() as session:
        after = reports(session, store_id, raw=False)[0]["totals"]
    # m2 and m6 (2 and 1 parts, conftest) and this one (3 parts) are the estimates.
    assert after["cost_estimated_messages"] == before["cost_estimated_messages"] == 3
    assert after["cost"] - before["cost"] == (2 + 1 + 3) * (2_000 - 1_500)
