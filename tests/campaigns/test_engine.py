"""A week in the life of a store: carts and orders come in by webhook, the tick sends SMS.

Time is a parameter: every tick gets its `now`, nothing sleeps.
"""

from datetime import date, datetime, timezone

from sqlalchemy import func, select, update

from app.broadcasts.service import of_campaigns
from app.campaigns.models import Campaign, CampaignStep, Enrollment, Message
from app.campaigns.service import set_campaign_active
from app.commerce.models import Cart
from app.db import unit_of_work
from app.reports.period import period_for
from app.reports.service import summary
from app.stores.models import Store
from tests.campaigns.shop import PHONE, tehran
from tests.factories import set_campaign, set_contact, store_settings


def test_new_store_starts_with_the_default_campaigns(shop):
    with shop.factory() as session:
        campaigns = {c.kind: c for c in session.scalars(select(Campaign))}
        steps = session.scalars(select(CampaignStep).order_by(CampaignStep.id)).all()
    assert set(campaigns) == {"abandoned_cart", "post_purchase_survey", "cross_sell", "win_back",
                              "lost_order"}
    assert campaigns["win_back"].active is False
    assert campaigns["abandoned_cart"].trigger_minutes == 60
    cart_steps = [s for s in steps if s.campaign_id == campaigns["abandoned_cart"].id]
    assert [s.delay_minutes for s in cart_steps] == [60, 1440, 4320]
    assert cart_steps[1].coupon is None  # no code the store may lack (see README «Coupons»)
    assert "سبد" in cart_steps[0].template


def test_cart_abandoned_at_night_gets_its_first_sms_at_nine(shop):
    shop.cart("night-cart-001", tehran("2026-11-24T23:00"))
    assert shop.tick(tehran("2026-11-24T23:30")).enrolled == 0  # not quiet long enough yet
    report = shop.tick(tehran("2026-11-25T00:30"))
    assert report.enrolled == 1 and report.claimed == 1
    [first, *_] = shop.messages("abandoned_cart")
    assert (first.status, first.reason) == ("scheduled", "quiet_hours")
    assert first.due_at == tehran("2026-11-25T09:00")
    assert first.attempts == 0  # moved, not tried: a later gateway error still gets retries
    shop.tick(tehran("2026-11-25T08:59"))
    assert shop.sms() == []
    shop.tick(tehran("2026-11-25T09:00"))
    [sms] = shop.sms()
    assert sms.receptor == PHONE and sms.localid == str(first.id)
    assert sms.text.startswith("علی عزیز")
    assert shop.link(sms.text).target.startswith("https://shop.example/?bazgasht_restore=")
    shop.tick(tehran("2026-11-25T09:05"))
    assert len(shop.sms()) == 1  # sent once, not at every tick


def test_a_cart_bought_between_steps_gets_no_more_sms(shop):
    shop.cart("bought-cart-01", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:00"))
    assert len(shop.sms()) == 1
    shop.order(501, tehran("2026-11-24T15:00"), cart_token="bought-cart-01")
    with shop.factory() as session:
        assert session.scalar(select(Cart.converted_at)) is not None
        enrollment = session.scalar(select(Enrollment))
        assert (enrollment.status, enrollment.exit_reason) == ("exited", "purchased")
    for day in ("2026-11-25T10:00", "2026-11-27T10:00", "2026-11-28T10:00"):
        shop.tick(tehran(day))
    assert len(shop.sms()) == 1
    assert [(m.status, m.reason) for m in shop.messages("abandoned_cart")] == [
        ("delivered", None), ("skipped", "purchased"), ("skipped", "purchased")]


def test_the_whole_sequence_goes_out_when_nobody_buys(shop):
    shop.cart("lost-cart-0001", tehran("2026-11-24T10:00"))
    for at in ("2026-11-24T11:00", "2026-11-25T10:00", "2026-11-25T11:00", "2026-11-27T10:00"):
        shop.tick(tehran(at))
    texts = [s.text for s in shop.sms()]
    assert len(texts) == 3
    assert "هنوز برات نگه داشته شده" in texts[1] and "آخرین فرصت" in texts[2]
    # Step 2 fell 23 hours after step 1: the daily cap moved it by an hour, it did not drop it.
    sent_at = [m.sent_at for m in shop.messages()]
    assert sent_at == [tehran("2026-11-24T11:00"), tehran("2026-11-25T11:00"),
                       tehran("2026-11-27T10:00")]


def test_a_replayed_cart_and_a_second_scheduler_enroll_once(shop):
    for _ in range(2):
        shop.cart("replayed-cart1", tehran("2026-11-24T10:00"))
    assert shop.tick(tehran("2026-11-24T11:30")).enrolled == 1
    assert shop.tick(tehran("2026-11-24T11:31")).enrolled == 0
    with shop.factory() as session:
        assert session.scalar(select(func.count()).select_from(Enrollment)) == 1
        assert session.scalar(select(func.count()).select_from(Message)) == 3
    assert len(shop.sms()) == 1


def test_new_activity_on_the_cart_postpones_the_sequence(shop):
    shop.cart("busy-cart-0001", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:00"))  # step 1 sent at 11:00
    shop.cart("busy-cart-0001", tehran("2026-11-24T20:00"), total="800000")  # came back
    shop.tick(tehran("2026-11-25T10:00"))  # step 2 was due now; the cart changed since
    second = shop.messages("abandoned_cart")[1]
    assert (second.status, second.reason) == ("scheduled", "postponed")
    assert second.due_at == tehran("2026-11-25T20:00")
    shop.tick(tehran("2026-11-25T20:00"))
    assert len(shop.sms()) == 2


def test_a_cart_without_a_valid_phone_is_not_enrolled(shop):
    shop.cart("no-phone-cart1", tehran("2026-11-24T10:00"), phone="")
    shop.cart("landline-cart1", tehran("2026-11-24T10:00"), phone="02188776655")
    assert shop.tick(tehran("2026-11-24T12:00")).enrolled == 0


def test_an_opted_out_contact_gets_nothing(shop):
    shop.cart("optout-cart-01", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:00"))  # step 1 goes out
    set_contact(shop.factory, shop.store.id, PHONE, opted_out_at=datetime.now(timezone.utc),
                opt_out_source="sms")
    shop.tick(tehran("2026-11-25T11:00"))
    shop.tick(tehran("2026-11-27T11:00"))
    assert len(shop.sms()) == 1
    assert [(m.status, m.reason) for m in shop.messages()][1:] == [("skipped", "opted_out"),
                                                                    ("skipped", "opted_out")]
    # And an opted-out contact's new cart does not enroll at all.
    shop.cart("optout-cart-02", tehran("2026-11-28T10:00"))
    assert shop.tick(tehran("2026-11-28T12:00")).enrolled == 0


def test_a_paused_campaign_holds_its_messages_until_resumed(shop):
    shop.cart("paused-cart-01", tehran("2026-11-24T10:00"))
    campaign = shop.campaign("abandoned_cart")
    with unit_of_work(shop.factory) as session:
        set_campaign_active(session, store_id=shop.store.id, campaign_id=campaign.id,
                            active=False, now=tehran("2026-11-24T10:10"))
    shop.cart("other-cart-001", tehran("2026-11-24T10:00"), phone="09351234567")
    assert shop.tick(tehran("2026-11-24T11:00")).enrolled == 0  # paused: nothing new enrolls
    with unit_of_work(shop.factory) as session:
        set_campaign_active(session, store_id=shop.store.id, campaign_id=campaign.id,
                            active=True, now=tehran("2026-11-24T11:05"))
    # Carts abandoned during a short pause are picked up once it ends.
    assert shop.tick(tehran("2026-11-24T11:10")).enrolled == 2
    assert len(shop.sms()) == 2


def test_carts_older_than_a_day_are_not_enrolled(shop):
    """After a long pause (or a store connecting), old carts must not get a burst of SMS."""
    shop.cart("stale-cart-001", tehran("2026-11-20T10:00"))
    assert shop.tick(tehran("2026-11-24T10:00")).enrolled == 0


def test_a_message_claimed_while_paused_is_held_then_sent(shop):
    shop.cart("held-cart-0001", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:00"))  # step 1 goes out
    campaign = shop.campaign("abandoned_cart")
    with unit_of_work(shop.factory) as session:
        set_campaign_active(session, store_id=shop.store.id, campaign_id=campaign.id,
                            active=False, now=tehran("2026-11-24T12:00"))
    shop.tick(tehran("2026-11-25T11:00"))
    assert [(m.status, m.reason) for m in shop.messages()][1] == ("held", "campaign_paused")
    assert len(shop.sms()) == 1
    with unit_of_work(shop.factory) as session:
        set_campaign_active(session, store_id=shop.store.id, campaign_id=campaign.id,
                            active=True, now=tehran("2026-11-25T12:00"))
    shop.tick(tehran("2026-11-25T12:00"))
    assert len(shop.sms()) == 2


def test_survey_after_three_days_and_the_cap_defers_a_colliding_cross_sell(shop):
    shop.product(11, cross_sells=[12], name="چای سبز")
    shop.product(12, name="قوری چینی")
    # Lands two hours after the survey.
    shop.set_step("cross_sell", 1, delay_minutes=3 * 24 * 60 + 120)
    shop.order(600, tehran("2026-11-24T10:00"), status="completed")
    assert shop.tick(tehran("2026-11-24T10:05")).enrolled == 2
    shop.tick(tehran("2026-11-27T10:00"))
    [survey] = shop.sms()
    assert "نظرت" in survey.text
    shop.tick(tehran("2026-11-27T12:00"))
    cross = shop.messages("cross_sell")[0]
    assert (cross.status, cross.reason) == ("scheduled", "frequency_cap")
    assert cross.due_at == tehran("2026-11-28T10:00")  # 24 h after the survey
    shop.tick(tehran("2026-11-28T10:00"))
    assert len(shop.sms()) == 2 and "قوری چینی" in shop.sms()[1].text
    assert shop.link(shop.sms()[1].text).target.startswith("https://shop.example/p/12/?utm_")


def test_cross_sell_with_nothing_to_recommend_skips_with_a_reason(shop):
    shop.product(11, cross_sells=[99])  # 99 is not in the catalog
    shop.order(601, tehran("2026-11-24T10:00"), status="completed")
    shop.tick(tehran("2026-11-24T10:05"))
    shop.tick(tehran("2026-12-01T10:00"))
    cross = shop.messages("cross_sell")[0]
    assert (cross.status, cross.reason) == ("skipped", "nothing_to_recommend")


def test_orders_that_are_not_completed_trigger_no_survey(shop):
    shop.order(602, tehran("2026-11-24T10:00"), status="processing")
    assert shop.tick(tehran("2026-11-24T10:05")).enrolled == 0


def test_a_refunded_order_skips_its_survey(shop):
    shop.order(603, tehran("2026-11-24T10:00"), status="completed")
    shop.tick(tehran("2026-11-24T10:05"))
    shop.order(603, tehran("2026-11-25T10:00"), status="refunded")
    shop.tick(tehran("2026-11-27T10:00"))
    survey = shop.messages("post_purchase_survey")[0]
    assert (survey.status, survey.reason, survey.reason_detail) == ("skipped", "order_changed",
                                                              "refunded")


def test_win_back_reaches_a_customer_silent_for_sixty_days(shop):
    set_campaign(shop.factory, shop.store.id, "win_back", active=True)
    shop.order(700, tehran("2026-09-01T10:00"))
    shop.order(701, tehran("2026-09-20T10:00"), phone="09351234567")
    assert shop.tick(tehran("2026-10-31T10:30")).enrolled == 1  # 60 days after 1 September
    [sms] = shop.sms()
    assert sms.receptor == PHONE and "دلمون" in sms.text
    # The other customer buys again before their 60 days: no win-back for them.
    shop.order(702, tehran("2026-11-10T10:00"), phone="09351234567")
    shop.tick(tehran("2026-11-19T10:30"))
    assert len(shop.sms()) == 1


def test_a_store_that_sends_only_on_weekdays_moves_friday_to_saturday(shop):
    store_settings(shop.factory, shop.store.id, send_weekdays=[0, 1, 2, 3, 5, 6])  # not Friday
    shop.set_step("abandoned_cart", 1, send_within_minutes=2 * 24 * 60)  # may wait a day
    shop.cart("friday-cart-01", tehran("2026-11-27T10:00"))  # a Friday
    shop.tick(tehran("2026-11-27T11:00"))
    assert shop.messages()[0].due_at == tehran("2026-11-28T09:00")


def test_a_reminder_that_could_only_go_past_its_deadline_is_skipped_at_once(shop):
    # The 1-hour reminder goes within 12 hours of its due time or not at all: on a store
    # that does not send on Fridays, Friday's is skipped, and the 1-day one follows on Saturday.
    store_settings(shop.factory, shop.store.id, send_weekdays=[0, 1, 2, 3, 5, 6])
    shop.cart("friday-cart-02", tehran("2026-11-27T10:00"))
    shop.tick(tehran("2026-11-27T11:00"))
    first, second = shop.messages()[:2]
    assert (first.status, first.reason) == ("skipped", "too_late")
    assert first.latest_at == tehran("2026-11-27T23:00")
    assert second.status == "scheduled" and second.latest_at == tehran("2026-11-29T10:00")
    shop.tick(tehran("2026-11-28T10:00"))
    [sms] = shop.sms()
    assert shop.messages()[1].status in ("sent", "delivered") and sms.localid == str(second.id)
    with shop.factory() as session:  # the report says how many were too late
        store = session.get_one(Store, shop.store.id)
        report = summary(session, store=store, period=period_for(
            first="2026-11-27", last="2026-11-28", tz=store.timezone, today=date(2026, 11, 28)),
            broadcasts_of=of_campaigns)
    assert report["totals"]["too_late"] == 1 and report["totals"]["skipped"] == 1


def test_an_order_by_the_same_phone_ends_the_sequence_without_a_cart_token(shop):
    shop.cart("phone-cart-001", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:00"))
    shop.order(800, tehran("2026-11-24T13:00"), phone="+98 912 345 6789")  # no plugin token
    shop.tick(tehran("2026-11-25T11:00"))
    assert len(shop.sms()) == 1
    assert shop.messages()[1].reason == "purchased"


def test_an_unpaid_order_does_not_end_the_sequence(shop):
    # Two a day allowed: with one, the cap would push the lost-order reminder past its 12 hours.
    store_settings(shop.factory, shop.store.id, cap_per_day=2)
    shop.cart("unpaid-cart-01", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:00"))
    shop.order(801, tehran("2026-11-24T13:00"), status="pending", cart_token="unpaid-cart-01")
    shop.tick(tehran("2026-11-24T14:00"))  # the lost-order reminder is due
    shop.tick(tehran("2026-11-25T11:00"))
    assert len(shop.sms()) == 2


def test_ab_variants_split_by_weight_and_stick_to_their_message(shop):
    shop.set_step("abandoned_cart", 1, variants=[
        {"name": "A", "template": "A {{ store_name }}", "weight": 70},
        {"name": "B", "template": "B {{ store_name }}", "weight": 30}])
    for i in range(40):
        shop.cart(f"ab-cart-{i:06d}", tehran("2026-11-24T10:00"), phone=f"0935{i:07d}")
    shop.tick(tehran("2026-11-24T11:00"))
    firsts = [m for m in shop.messages() if m.status == "delivered"]
    assert len(firsts) == 40
    assert {m.variant for m in firsts} == {"A", "B"}
    assert all(m.text == f"{m.variant} چای‌خانه\nلغو۱۱" for m in firsts)
    share_a = sum(m.variant == "A" for m in firsts) / len(firsts)
    assert 0.45 <= share_a <= 0.95  # seeded by message id: reproducible, roughly 70/30


def test_a_cart_whose_paid_order_arrived_first_is_never_reminded(shop):
    shop.order(802, tehran("2026-11-24T10:05"), cart_token="late-cart-0001", phone="09131112233")
    shop.cart("late-cart-0001", tehran("2026-11-24T10:00"))  # the plugin's delivery came late
    assert shop.tick(tehran("2026-11-24T12:00")).enrolled == 0
    assert shop.sms() == []


def test_promotional_texts_end_with_the_opt_out_line_and_surveys_do_not(shop):
    shop.cart("optline-cart01", tehran("2026-11-24T10:00"))
    shop.order(900, tehran("2026-11-24T10:00"), status="completed", phone="09351234567")
    shop.tick(tehran("2026-11-24T11:00"))
    shop.tick(tehran("2026-11-27T11:00"))
    cart_sms, *_ = [m for m in shop.sms() if m.receptor == PHONE]
    [survey_sms] = [m for m in shop.sms() if m.receptor == "+989351234567"]
    assert cart_sms.text.endswith("\nلغو۱۱") and "لغو" not in survey_sms.text
    cart_message = shop.messages("abandoned_cart")[0]
    assert cart_message.parts == 2 and cart_message.status == "delivered"


def test_a_message_of_a_step_deleted_after_its_claim_is_skipped_not_sent(shop):
    """The admin API skips a deleted step's scheduled messages; one a worker had already
    claimed meets the guard, which skips it too."""
    shop.cart("deleted-step-01", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:05"))  # the first reminder; the second is due tomorrow
    # Raw, not the admin API's delete_step (which skips the step's messages itself): the guard
    # at sending is what is tested.
    with unit_of_work(shop.factory) as session:
        campaign = session.scalar(select(Campaign).where(Campaign.kind == "abandoned_cart"))
        session.execute(update(CampaignStep).where(CampaignStep.campaign_id == campaign.id,
                                                   CampaignStep.position == 2)
                        .values(deleted_at=tehran("2026-11-25T09:59")))
    shop.tick(tehran("2026-11-25T10:05"))
    assert len(shop.sms()) == 1
    second = shop.messages("abandoned_cart")[1]
    assert (second.status, second.reason) == ("skipped", "step_deleted")


def test_two_orders_completed_together_get_one_survey_and_one_cross_sell(shop):
    shop.product(11, cross_sells=[12], name="چای سبز")
    shop.product(12, name="قوری چینی")
    shop.order(610, tehran("2026-11-24T10:00"), status="completed")
    shop.order(611, tehran("2026-11-24T10:01"), status="completed")
    # Each campaign takes the customer once; the other order is looked at, and says why not.
    assert shop.tick(tehran("2026-11-24T10:05")).enrolled == 2
    for kind in ("post_purchase_survey", "cross_sell"):
        assert sorted((m.status, m.reason) for m in shop.messages(kind)) == [
            ("scheduled", None), ("skipped", "once_per_customer")]
    shop.tick(tehran("2026-11-27T10:05"))
    shop.tick(tehran("2026-11-28T10:05"))
    shop.tick(tehran("2026-12-02T10:05"))
    texts = [sms.text for sms in shop.sms()]
    assert len(texts) == 2 and len(set(texts)) == 2  # one survey, one cross-sell: never twice

    # A month on, a new order is a new occasion to ask.
    shop.order(612, tehran("2026-12-30T10:00"), status="completed")
    assert shop.tick(tehran("2026-12-30T10:05")).enrolled == 2


def test_a_trashed_product_is_not_recommended_until_it_is_restored(shop, client, store):
    from tests.helpers import deliver

    shop.product(11, cross_sells=[12], name="چای سبز")
    shop.product(12, name="قوری چینی")
    assert deliver(client, store, "product.deleted", {"id": 12}).status_code == 200
    shop.apply(tehran("2026-11-24T09:00"))
    shop.order(620, tehran("2026-11-24T10:00"), status="completed")
    shop.tick(tehran("2026-11-24T10:05"))
    shop.tick(tehran("2026-12-01T10:05"))
    [cross] = shop.messages("cross_sell")
    assert (cross.status, cross.reason) == ("skipped", "nothing_to_recommend")

    # Restored from the trash (WooCommerce sends the whole product again): recommended again.
    assert deliver(client, store, "product.restored", {
        "id": 12, "name": "قوری چینی", "permalink": "https://shop.example/p/12/",
        "price": "1600000", "stock_status": "instock", "status": "publish",
        "date_modified_gmt": "2026-12-02T00:00:00"}).status_code == 200
    shop.apply(tehran("2026-12-02T04:00"))
    shop.order(621, tehran("2027-01-10T10:00"), status="completed", phone="09351234567")
    for day in ("2027-01-10", "2027-01-13", "2027-01-17"):
        shop.tick(tehran(f"{day}T10:05"))
    assert "قوری چینی" in shop.sms()[-1].text


def test_an_order_restored_from_the_trash_counts_again(shop, client, store, factory):
    from app.commerce.models import Order
    from tests.helpers import deliver

    shop.order(630, tehran("2026-11-24T10:00"))
    assert deliver(client, store, "order.deleted", {"id": 630}).status_code == 200
    shop.apply(tehran("2026-11-24T11:00"))
    with factory() as session:
        assert session.scalar(select(Order.purchased).where(Order.wc_id == 630)) is False
    shop.order(630, tehran("2026-11-24T12:00"))  # order.restored carries the whole order
    with factory() as session:
        order = session.scalars(select(Order).where(Order.wc_id == 630)).one()
        assert order.purchased and order.deleted_at is None
