"""Enrolment in bulk (app/campaigns/enroll.py): a campaign's batch in one INSERT of enrollments
and one of messages."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, insert, select

from app.campaigns import enroll
from app.campaigns.enroll import in_control, run_triggers
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
                                 subjects) == {}
    assert count(factory, Enrollment) == 5 and count(factory, Message) == 5 * 3


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
