"""A campaign's control share: contacts drawn into control are enrolled, checked like everyone
else and never sent to (no SMS, coupon, link or charge), and still count in every other
campaign's frequency cap as if they had got the message."""

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.billing.models import LedgerEntry
from app.campaigns.enroll import control_bucket, in_control
from app.campaigns.models import Campaign, Coupon, Enrollment, Message
from app.contacts.models import Contact
from app.links.models import Link
from tests.campaigns.shop import tehran
from tests.factories import set_campaign, store_settings
from tests.helpers import error_of

AT = tehran("2026-11-24T10:00")     # the carts go quiet
FIRST = tehran("2026-11-24T11:00")  # step 1 is due
PERSONAL = {"mode": "personal", "discount_type": "percent", "amount": "10", "expires_days": 3,
            "on_failure": "fallback", "fallback_code": "off5"}


def test_the_draw_is_a_hash_of_campaign_and_contact_about_the_share_asked():
    campaign = Campaign(id=7, control_percent=10)
    drawn = [c for c in range(1, 1001) if in_control(campaign, c)]
    # The bucket is the first 8 bytes of sha256("campaign:contact"), modulo 10,000.
    expected = [c for c in range(1, 1001) if int.from_bytes(
        hashlib.sha256(f"7:{c}".encode()).digest()[:8], "big") % 10_000 < 1000]
    assert drawn == expected
    assert 70 <= len(drawn) <= 130  # about 10%
    assert all(control_bucket(7, c) == control_bucket(7, c) for c in drawn)  # stable
    # Another campaign draws its own, independent group; 0% draws nobody, 50% about half.
    assert [c for c in range(1, 1001) if in_control(Campaign(id=8, control_percent=10), c)] \
        != drawn
    assert not any(in_control(Campaign(id=7, control_percent=0), c) for c in range(1, 1001))
    assert 430 <= sum(in_control(Campaign(id=7, control_percent=50), c)
                      for c in range(1, 1001)) <= 570


def contact_id(shop, phone: str) -> int:
    with shop.factory() as session:
        return session.scalar(select(Contact.id).where(Contact.store_id == shop.store.id,
                                                       Contact.phone == phone))


def carts_on_both_sides(shop, prefix: str, percent: int = 50) -> tuple[list[str], list[str]]:
    """The abandoned-cart campaign holds `percent` out; carts (one phone each) go quiet at AT
    until at least one contact is in control and one is not. Returns (treated, control)
    phones, E.164."""
    set_campaign(shop.factory, shop.store.id, "abandoned_cart", control_percent=percent)
    campaign = shop.campaign("abandoned_cart")
    sides: dict[bool, list[str]] = {False: [], True: []}
    for i in range(60):
        shop.cart(f"{prefix}-{i:04d}", AT, phone=f"0912300{i:04d}")
        phone = f"+98912300{i:04d}"
        sides[in_control(campaign, contact_id(shop, phone))].append(phone)
        if sides[False] and sides[True]:
            break
    assert sides[False] and sides[True]
    return sides[False], sides[True]


def firsts(shop) -> dict[int, Message]:
    """Step 1's message of each contact, by contact id."""
    return {m.contact_id: m for m in shop.messages("abandoned_cart") if m.due_at <= FIRST}


def enrollments(shop) -> dict[int, Enrollment]:
    with shop.factory() as session:
        return {e.contact_id: e for e in session.scalars(select(Enrollment))}


def test_control_contacts_are_enrolled_and_skipped_with_the_reason_never_sent(shop):
    treated, control = carts_on_both_sides(shop, "ctl-a")
    shop.tick(FIRST)
    by_contact, enrolled = firsts(shop), enrollments(shop)
    for phone in treated:
        message = by_contact[contact_id(shop, phone)]
        assert enrolled[message.contact_id].control is False
        assert message.status == "delivered" and message.sent_at == FIRST
        assert message.withheld_at is None
    for phone in control:
        message = by_contact[contact_id(shop, phone)]
        assert enrolled[message.contact_id].control is True
        assert (message.status, message.reason) == ("skipped", "control")
        assert message.sent_at is None and message.withheld_at == FIRST
        assert message.text is None and message.attempts == 0
    assert sorted(s.receptor for s in shop.sms()) == sorted(treated)
    with shop.factory() as session:  # no short link was minted for a control message
        linked = set(session.scalars(select(Link.message_id)))
    assert {by_contact[contact_id(shop, p)].id for p in control}.isdisjoint(linked)
    # Later steps go the same way; the enrollment stays in its group.
    shop.tick(FIRST + timedelta(days=1))
    assert sorted(s.receptor for s in shop.sms()) == sorted(treated * 2)
    for phone in control:
        mine = [m for m in shop.messages("abandoned_cart")
                if m.contact_id == contact_id(shop, phone) and m.due_at <= FIRST + timedelta(days=1)]
        assert [(m.status, m.reason) for m in mine] == [("skipped", "control")] * 2


def test_a_new_share_applies_to_enrollments_from_then_on(shop):
    # Allowed to wait a day (its default, 12 hours, would skip it as too late instead).
    shop.set_step("abandoned_cart", 1, send_within_minutes=2 * 24 * 60)
    treated, control = carts_on_both_sides(shop, "ctl-b")
    shop.tick(FIRST)  # enrolled at the 50% share
    set_campaign(shop.factory, shop.store.id, "abandoned_cart", control_percent=0)
    second = FIRST + timedelta(days=1)
    shop.tick(second)
    assert sorted(s.receptor for s in shop.sms()) == sorted(treated * 2)  # control stays so
    shop.cart("ctl-b-late", second, phone="0" + control[0][3:])  # a new cart, same contact
    shop.tick(second + timedelta(hours=1, minutes=30))
    with shop.factory() as session:
        old, late = session.scalars(select(Enrollment).where(
            Enrollment.contact_id == contact_id(shop, control[0])).order_by(Enrollment.id)).all()
    assert (old.control, late.control) == (True, False)
    # The new sequence is treated: its reminder will go out, once the daily cap allows after
    # the reminder withheld this morning (withheld counts as sent).
    new = next(m for m in shop.messages("abandoned_cart") if m.enrollment_id == late.id)
    assert (new.status, new.reason, new.due_at) == ("scheduled", "frequency_cap",
                                                    FIRST + timedelta(days=2))


def test_control_messages_never_reach_kavenegar(kshop, kavenegar):
    treated, control = carts_on_both_sides(kshop, "ctl-k")
    kshop.tick(FIRST)
    by_contact = firsts(kshop)
    sent = {by_contact[contact_id(kshop, p)].id for p in treated}
    withheld = {by_contact[contact_id(kshop, p)].id for p in control}
    assert {m.localid for m in kavenegar.messages} == sent
    assert all(kavenegar.sends_with_localid(m) == 0 for m in withheld)
    assert {m.receptor for m in kavenegar.messages} == set(treated)


KEY = "ck_" + "7a2b" * 10
SECRET = "cs_" + "3d4e" * 10


@pytest.fixture
def woo():
    from app.commerce.fake_woocommerce import FakeWooCommerce
    with FakeWooCommerce(consumer_key=KEY, consumer_secret=SECRET) as fake:
        yield fake


def test_no_personal_coupon_is_made_in_the_store_for_a_control_message(shop, woo):
    store_settings(shop.factory, shop.store.id, url=woo.base_url, wc_consumer_key=KEY,
                   wc_consumer_secret=SECRET)
    shop.set_step("abandoned_cart", 1, coupon=PERSONAL,
                  template="با کد {{ coupon_code }} بخر: {{ link }}")
    treated, control = carts_on_both_sides(shop, "ctl-c")
    shop.tick(FIRST - timedelta(minutes=10))  # due within the lead: coupons made ahead
    shop.tick(FIRST)
    by_contact = firsts(shop)
    with shop.factory() as session:
        with_coupon = set(session.scalars(select(Coupon.message_id)))
    assert with_coupon == {by_contact[contact_id(shop, p)].id for p in treated}
    assert len(woo.coupons) == len(treated)
    assert len(shop.sms()) == len(treated)
    assert all(by_contact[contact_id(shop, p)].reason == "control" for p in control)


def test_a_control_message_costs_nothing_on_the_prepaid_ledger(shop, admin_client, factory):
    price = 1_500
    shop.set_step("abandoned_cart", 1, template="سبدت منتظرته: {{ link }}")
    answer = admin_client.put(f"/platform/v1/stores/{shop.store.id}/sms-gateway",
                              json={"provider": "platform", "price_per_part": price})
    assert answer.status_code == 200, answer.text
    admin_client.post(f"/platform/v1/stores/{shop.store.id}/credit", json={"amount": 100_000})
    treated, control = carts_on_both_sides(shop, "ctl-l")
    shop.tick(FIRST)
    with factory() as session:
        entries = session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).all()
    by_contact = firsts(shop)
    assert [(e.kind, e.amount) for e in entries] == [("topup", 100_000)] + \
        [("charge", -price)] * len(treated)
    assert {e.message_id for e in entries[1:]} == {by_contact[contact_id(shop, p)].id
                                                    for p in treated}


def test_a_withheld_message_counts_in_another_campaigns_cap_exactly_like_a_sent_one(shop):
    """Both contacts' abandoned-cart reminder is due at 11:00: the treated one gets it, the
    control one does not. Each then leaves an order unpaid; its reminder is due at 12:00 the
    same day, and the cap (one a day) moves both to 11:00 the next morning."""
    store_settings(shop.factory, shop.store.id, cap_per_day=1, cap_per_week=3)
    # Allowed to wait a day (its default, 12 hours, would skip it as too late instead).
    shop.set_step("lost_order", 1, send_within_minutes=2 * 24 * 60)
    treated, control = carts_on_both_sides(shop, "ctl-f")
    shop.tick(FIRST)
    for n, phone in enumerate([treated[0], control[0]]):
        shop.order(9100 + n, tehran("2026-11-24T11:30"), status="pending",
                   phone="0" + phone[3:])
    shop.tick(tehran("2026-11-24T12:00"))  # enrolled: the lost-order reminder is due at 12:00
    shop.tick(tehran("2026-11-24T12:01"))
    lost: dict[int, Message] = {}
    for message in shop.messages("lost_order"):  # in id order: step 1 first
        lost.setdefault(message.contact_id, message)
    mine = [lost[contact_id(shop, p)] for p in (treated[0], control[0])]
    assert [(m.status, m.reason, m.due_at) for m in mine] == \
        [("scheduled", "frequency_cap", tehran("2026-11-25T11:00"))] * 2


def test_the_campaign_api_sets_the_control_share(api, factory):
    [cart] = [c for c in api.get("/api/v1/campaigns").json()["items"]
              if c["kind"] == "abandoned_cart"]
    assert cart["control_percent"] == 0  # off by default
    url = f"/api/v1/campaigns/{cart['id']}"
    for sent, stored in ((10, 10), ("۱۵", 15), ("٢٠", 20), ("۲۵٪", 25), ("50", 50), (0, 0)):
        response = api.patch(url, json={"control_percent": sent})
        assert response.status_code == 200, response.text
        assert response.json()["control_percent"] == stored
        assert api.get(url).json()["control_percent"] == stored
    api.patch(url, json={"control_percent": 10})
    for bad in (51, -1, 10.5, "ده", True, "", [10]):
        response = api.patch(url, json={"control_percent": bad, "name": "نباید"})
        assert response.status_code == 422, (bad, response.text)
        error = error_of(response)
        assert error["code"] == "invalid_request" and "control_percent" in error["message"]
    read = api.get(url).json()
    assert (read["control_percent"], read["name"]) == (10, cart["name"])  # nothing changed
    created = api.post("/api/v1/campaigns", json={"kind": "win_back", "name": "با کنترل",
                                                  "control_percent": "۱۰"})
    assert created.status_code == 201 and created.json()["control_percent"] == 10
