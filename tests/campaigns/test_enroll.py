"""Enrolment in bulk (app/campaigns/enroll.py): a campaign's batch in one INSERT of enrollments
and one of messages, and rounds, each committed, while there is work."""

import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, insert, select

from app.campaigns import enroll
from app.campaigns.enroll import enroll_due, in_control, run_triggers
from app.campaigns.models import Campaign, CampaignStep, Enrollment, Message
from app.commerce.models import Cart, Order
from app.contacts.models import Contact
from app.db import unit_of_work
from tests.factories import set_step

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
QUIET = NOW - timedelta(hours=2)  # the default cart campaign waits an hour: due


def abandon(factory, store_id: int, n: int, *, first: int = 0,
            at: datetime = QUIET) -> list[int]:
    """n shoppers (new contacts) leave a cart each, quiet since `at` plus a second per cart;
    returns the carts' ids."""
    with unit_of_work(factory) as session:
        contacts = session.scalars(insert(Contact).returning(Contact.id), [
            dict(store_id=store_id, phone=f"+98912{i:07d}") for i in range(first, first + n)]
        ).all()
        return list(session.scalars(insert(Cart).returning(Cart.id), [
            dict(store_id=store_id, token=f"cart-{i:08d}", contact_id=contact_id,
                 total=550_000, modified_gmt=at + timedelta(seconds=i))
            for i, contact_id in enumerate(contacts, first)]).all())


def complete(factory, store_id: int, contact_id: int, wc_ids, at: datetime = QUIET) -> None:
    """The contact's orders `wc_ids`, completed at `at` plus a minute each."""
    with unit_of_work(factory) as session:
        session.execute(insert(Order), [
            dict(store_id=store_id, wc_id=wc_id, status="completed", purchased=True,
                 contact_id=contact_id, total=600_000, created_gmt=at, modified_gmt=at,
                 completed_gmt=at + timedelta(minutes=i)) for i, wc_id in enumerate(wc_ids)])


def campaign(factory, store_id: int, kind: str) -> Campaign:
    with factory() as session:
        return session.scalars(select(Campaign).where(Campaign.store_id == store_id,
                                                      Campaign.kind == kind)).one()


def count(factory, model, *where) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def only_carts(factory, store_id: int) -> None:
    """The other default campaigns off: the counts below are the cart campaign's."""
    with unit_of_work(factory) as session:
        for other in session.scalars(select(Campaign).where(Campaign.store_id == store_id,
                                                            Campaign.kind != "abandoned_cart")):
            other.active = False


def test_a_batch_is_enrolled_as_one_by_one_was(factory, store):
    """Each cart's enrollment and its messages, with what enrolling one at a time set: the due
    and latest times from the steps that are not deleted, the control draw, promotional."""
    with unit_of_work(factory) as session:
        cart_campaign = session.scalars(select(Campaign).where(
            Campaign.store_id == store.id, Campaign.kind == "abandoned_cart")).one()
        cart_campaign.control_percent = 50
    set_step(factory, store.id, "abandoned_cart", 2, send_within_minutes=90)
    set_step(factory, store.id, "abandoned_cart", 3, deleted_at=QUIET)
    carts = abandon(factory, store.id, 12)
    cart_campaign = campaign(factory, store.id, "abandoned_cart")

    with unit_of_work(factory) as session:
        assert run_triggers(session, NOW) == 12

    with factory() as session:
        steps = session.scalars(select(CampaignStep).where(
            CampaignStep.campaign_id == cart_campaign.id, CampaignStep.deleted_at.is_(None))
            .order_by(CampaignStep.position)).all()
        assert len(steps) == 2
        enrollments = session.scalars(select(Enrollment).order_by(Enrollment.id)).all()
        messages = session.scalars(select(Message).order_by(Message.id)).all()
        anchors = dict(session.execute(select(Cart.id, Cart.modified_gmt)).all())
        contacts = dict(session.execute(select(Cart.id, Cart.contact_id)).all())
    assert [(e.campaign_id, e.store_id, e.subject_type, e.subject_id, e.contact_id, e.anchor_at,
             e.status, e.control, e.exited_at, e.exit_reason) for e in enrollments] == [
        (cart_campaign.id, store.id, "cart", cart, contacts[cart], anchors[cart], "active",
         in_control(cart_campaign, contacts[cart]), None, None) for cart in carts]
    assert {e.control for e in enrollments} == {True, False}  # both sides drawn
    by_cart = {e.id: e.subject_id for e in enrollments}
    # Enrollment by enrollment, step by step: ids in the order one-by-one gave them.
    assert [(by_cart[m.enrollment_id], m.step_id, m.store_id, m.campaign_id, m.contact_id,
             m.promotional, m.status, m.due_at, m.latest_at, m.attempts, m.reason, m.sent_at)
            for m in messages] == [
        (cart, step.id, store.id, cart_campaign.id, contacts[cart], True, "scheduled",
         anchors[cart] + timedelta(minutes=step.delay_minutes),
         anchors[cart] + timedelta(minutes=step.delay_minutes + step.send_within_minutes),
         0, None, None)
        for cart in carts for step in steps]
    assert messages[1].latest_at - messages[1].due_at == timedelta(minutes=90)


def test_a_subject_already_enrolled_is_skipped_messages_and_all(factory, store):
    abandon(factory, store.id, 5)
    cart_campaign = campaign(factory, store.id, "abandoned_cart")
    with unit_of_work(factory) as session:
        assert run_triggers(session, NOW) == 5
    with unit_of_work(factory) as session:
        assert run_triggers(session, NOW) == 0
    # A second scheduler that read the same carts before the first committed: the unique
    # (campaign, subject) constraint skips them.
    with unit_of_work(factory) as session:
        subjects = [enroll.Subject(cart.id, cart.contact_id, cart.modified_gmt)
                    for cart in session.scalars(select(Cart).order_by(Cart.id))]
        assert enroll.enroll_all(session, session.get(Campaign, cart_campaign.id), "cart",
                                 subjects, NOW) == {}
    assert count(factory, Enrollment) == 5 and count(factory, Message) == 5 * 3


def test_one_call_enrolls_every_due_subject_beyond_a_batch(factory, store):
    only_carts(factory, store.id)
    n = 2 * enroll.BATCH + 1
    abandon(factory, store.id, n)
    rounds: list[int] = []
    assert enroll_due(factory, NOW, on_round=rounds.append) == n
    assert rounds == [enroll.BATCH, enroll.BATCH, 1]
    assert count(factory, Enrollment) == n and count(factory, Message) == 3 * n
    assert enroll_due(factory, NOW) == 0


def test_each_round_is_committed_before_the_next(factory, store, monkeypatch):
    """Dispatch sees a round's messages as soon as it commits: on_round is told after."""
    monkeypatch.setattr(enroll, "BATCH", 2)
    only_carts(factory, store.id)
    abandon(factory, store.id, 5)
    seen: list[tuple[int, int]] = []
    assert enroll_due(factory, NOW, on_round=lambda n: seen.append(
        (n, count(factory, Message, Message.due_at <= NOW)))) == 5
    assert seen == [(2, 2), (2, 4), (1, 5)]  # the first reminders are due: an hour on


def test_the_budget_stops_the_rounds_and_the_next_call_goes_on(factory, store, monkeypatch):
    monkeypatch.setattr(enroll, "BATCH", 2)
    only_carts(factory, store.id)
    abandon(factory, store.id, 7)
    assert enroll_due(factory, NOW, budget_seconds=0) == 2  # one round, whatever the budget
    readings = iter([100.0, 101.0, 104.5])  # the clock, read before and after each round
    assert enroll_due(factory, NOW, budget_seconds=4, clock=lambda: next(readings)) == 4
    assert enroll_due(factory, NOW) == 1
    assert count(factory, Enrollment) == 7


def test_rounds_whose_orders_were_all_asked_already_do_not_end_the_call(factory, store,
                                                                        monkeypatch):
    """Once per customer: a customer's five completed orders get one survey; the other four
    are enrolled and exited at once. With batches of two, the second round starts nothing, and
    the third still runs."""
    monkeypatch.setattr(enroll, "BATCH", 2)
    with unit_of_work(factory) as session:
        for other in session.scalars(select(Campaign).where(
                Campaign.store_id == store.id, Campaign.kind != "post_purchase_survey")):
            other.active = False
    with unit_of_work(factory) as session:
        contact_id = session.scalars(insert(Contact).returning(Contact.id),
                                     [dict(store_id=store.id, phone="+989120000001")]).one()
    complete(factory, store.id, contact_id, range(501, 506))
    rounds: list[int] = []
    assert enroll_due(factory, NOW, on_round=rounds.append) == 1
    assert rounds == [1]
    with factory() as session:
        enrollments = session.execute(select(Enrollment.subject_id, Enrollment.status,
                                             Enrollment.exit_reason)
                                      .order_by(Enrollment.subject_id)).all()
        orders = session.scalars(select(Order.id).order_by(Order.id)).all()
    assert enrollments == [(orders[0], "active", None)] + [
        (order, "exited", "once_per_customer") for order in orders[1:]]


def test_two_runs_at_once_enroll_each_subject_once(factory, store):
    only_carts(factory, store.id)
    n = 3 * enroll.BATCH
    carts = abandon(factory, store.id, n)
    start = threading.Barrier(2)
    enrolled: list[int] = []
    errors: list[Exception] = []

    def run():
        try:
            start.wait()
            enrolled.append(enroll_due(factory, NOW))
        except Exception as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == [] and len(enrolled) == 2
    assert sum(enrolled) == n  # each subject counted by the run that enrolled it
    with factory() as session:
        assert sorted(session.scalars(select(Enrollment.subject_id))) == carts
        per_enrollment = session.execute(select(Message.enrollment_id, func.count())
                                         .group_by(Message.enrollment_id)).all()
    assert len(per_enrollment) == n and {c for _, c in per_enrollment} == {3}


def test_only_campaigns_with_a_full_batch_run_again(factory, store, monkeypatch):
    """The cart campaign has more than a batch; the others have nothing and are asked once."""
    monkeypatch.setattr(enroll, "BATCH", 2)
    abandon(factory, store.id, 5)
    asked: list[list[int] | None] = []
    real_round = enroll.enroll_round

    def counting_round(session, now, campaign_ids=None):
        asked.append(None if campaign_ids is None else list(campaign_ids))
        return real_round(session, now, campaign_ids)

    monkeypatch.setattr(enroll, "enroll_round", counting_round)
    assert enroll_due(factory, NOW) == 5
    # Every active campaign, then the carts' full batches; the round that took one ends it.
    cart_campaign = campaign(factory, store.id, "abandoned_cart").id
    assert asked == [None, [cart_campaign], [cart_campaign]]


def test_two_lost_orders_of_one_customer_in_a_batch_hand_over_in_order(factory, store):
    """Two unpaid attempts placed in the same second (so neither is newer): as one by one, the
    second one's sequence ends the first's, and not the other way round."""
    with unit_of_work(factory) as session:
        for other in session.scalars(select(Campaign).where(Campaign.store_id == store.id,
                                                            Campaign.kind != "lost_order")):
            other.active = False
        contact_id = session.scalars(insert(Contact).returning(Contact.id),
                                     [dict(store_id=store.id, phone="+989120000002")]).one()
        placed = NOW - timedelta(hours=1)
        session.execute(insert(Order), [
            dict(store_id=store.id, wc_id=wc_id, status="pending", contact_id=contact_id,
                 total=600_000, created_gmt=placed, modified_gmt=placed)
            for wc_id in (701, 702)])
    with unit_of_work(factory) as session:
        assert run_triggers(session, NOW) == 2
    with factory() as session:
        assert session.execute(select(Order.wc_id, Enrollment.status, Enrollment.exit_reason)
                               .join(Order, Order.id == Enrollment.subject_id)
                               .order_by(Order.wc_id)).all() == [
            (701, "exited", "superseded"), (702, "active", None)]
