"""Broadcasts in the store's reports: each broadcast its own row in the summary and on the
panel's home page, so the rows add up to the totals again; and a broadcast's control share
(`control_percent`), whose lift its report shows like a campaign's, against figures counted by
hand."""

import hashlib
import re
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from app.broadcasts.models import Broadcast
from app.campaigns.models import Message
from app.commerce.models import Order
from app.contacts.models import Contact
from app.db import unit_of_work
from app.digits import latin_digits
from app.http import tls
from app.messaging.gateway import ConsoleGateway
from app.scheduler import tick
from tests.broadcasts.test_story import PHONE_UA, contacts, draft, segment
from tests.campaigns.shop import TEHRAN, tehran
from tests.helpers import bearer, error_of
from tests.reports.test_summary import ZERO


@pytest.fixture
def seeded_api(live_server, seeded):
    """The admin API of the panel's seeded shop."""
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      headers=bearer(seeded.store)) as client:
        yield client

# The message figures: each row's add up to the store's (opt-outs and survey answers do not:
# the totals count those that followed no message too).
ADDING_UP = [name for name in ZERO if not name.endswith("_rate") and name not in (
    "return_on_spend", "average_rating", "opt_outs", "survey_answers")]


def test_summary_rows_of_campaigns_and_broadcasts_add_up_to_the_totals(api, shop, client,
                                                                        live_server):
    # 10:00 a broadcast to the two customers there are; 10:05 a third leaves a cart, reminded
    # an hour later by the abandoned-cart campaign. One broadcast customer taps and buys, so
    # does the cart's.
    contacts(shop.factory, shop.store.id, "+989121110001", "+989121110002")
    at = tehran("2026-12-01T10:00")
    shop.clock.set(at)
    b = draft(api, segment(api), name="حراج زمستان")
    assert api.post(f"/api/v1/broadcasts/{b['id']}/schedule").status_code == 200
    shop.tick(at)
    shop.cart("winter-cart-1", tehran("2026-12-01T10:05"), phone="09121110003", total="550000")
    shop.tick(tehran("2026-12-01T11:06"))
    by_phone = {sms.receptor: sms.text for sms in shop.sms()}
    assert sorted(by_phone) == ["+989121110001", "+989121110002", "+989121110003"]
    shop.clock.set(tehran("2026-12-01T12:00"))
    for phone in ("+989121110001", "+989121110003"):
        tap = client.get(f"/{shop.link(by_phone[phone]).code}", headers={"User-Agent": PHONE_UA})
        assert tap.status_code == 302
    live_server.app.state.click_recorder.flush()
    shop.order(601, tehran("2026-12-01T13:00"), phone="09121110001", total="750000")
    shop.order(602, tehran("2026-12-01T13:30"), phone="09121110003", total="550000",
               cart_token="winter-cart-1")

    body = api.get("/api/v1/reports/summary",
                   params={"from": "۱۴۰۵/۰۹/۱۰", "to": "1405/09/10"}).json()
    [row] = body["broadcasts"]
    assert (row["id"], row["name"], row["status"]) == (b["id"], "حراج زمستان", "sent")
    assert row["scheduled_at"].startswith("2026-12-01T06:30")  # 10:00 in Tehran, UTC
    assert (row["messages"], row["sent"], row["clicks"], row["orders"], row["revenue"]) == \
        (2, 2, 1, 1, 7_500_000)
    [cart] = [c for c in body["campaigns"] if c["kind"] == "abandoned_cart"]
    assert (cart["sent"], cart["clicks"], cart["orders"], cart["revenue"]) == \
        (1, 1, 1, 5_500_000)
    rows = body["campaigns"] + body["broadcasts"]
    assert body["totals"]["sent"] == 3 and body["totals"]["revenue"] == 13_000_000
    for name in ADDING_UP:
        assert sum(r[name] for r in rows) == body["totals"][name], name
    # A draft, and a broadcast of another period, have no row.
    draft(api, segment(api), name="پیش‌نویس")
    assert [r["id"] for r in api.get("/api/v1/reports/summary", params={
        "from": "2026-12-01", "to": "2026-12-01"}).json()["broadcasts"]] == [b["id"]]
    assert api.get("/api/v1/reports/summary", params={
        "from": "2026-11-01", "to": "2026-11-30"}).json()["broadcasts"] == []


def _figure(html: str, table: str, label: str) -> list[int]:
    """The column `label` of the panel table `table`, as numbers."""
    body = re.search(rf'<table[^>]*id="{table}".*?</table>', html, re.S)
    assert body, f"no {table}"
    return [int(latin_digits(v).replace("٬", "")) for v in
            re.findall(rf'data-label="{label}">([۰-۹٬]+)<', body[0])]


def test_the_home_page_lists_broadcasts_beside_campaigns_and_they_add_up(panel, seeded,
                                                                         factory, clock, seeded_api):
    # The seeded shop's last days (4 campaign SMS sent), and today at 10:00 a broadcast to
    # everyone reachable: two new customers and the seeded ones (some held by the frequency
    # cap, after the campaigns' SMS of the last days).
    today = datetime.now(TEHRAN).date()
    at = datetime(today.year, today.month, today.day, 10, 0, tzinfo=TEHRAN)
    clock.set(at)
    contacts(factory, seeded.store.id, "+989121110001", "+989121110002")
    b = draft(seeded_api, segment(seeded_api, {}, name="تازه‌ها"), name="حراج امروز")
    assert seeded_api.post(f"/api/v1/broadcasts/{b['id']}/schedule").status_code == 200
    tick(factory, ConsoleGateway(factory), at)
    tick(factory, ConsoleGateway(factory), at + timedelta(minutes=1))  # every SMS final: sent
    with factory() as session:
        sent = session.scalars(select(Message.id).where(
            Message.campaign_id == session.get_one(Broadcast, b["id"]).campaign_id,
            Message.sent_at.is_not(None))).all()
    assert len(sent) >= 2

    home = panel.get("/panel").text
    assert f'<a href="/panel/broadcasts/{b["id"]}">حراج امروز</a>' in home
    assert "ارسال‌های گروهی" in home
    status = seeded_api.get(f"/api/v1/broadcasts/{b['id']}").json()["status"]
    label = {"sending": "در حال ارسال", "sent": "ارسال شد"}[status]  # the cap holds some
    assert f'<td data-label="وضعیت"><span class="badge on">{label}</span></td>' in home
    campaigns = _figure(home, "campaign-table", "ارسالی")
    broadcasts = _figure(home, "broadcast-table", "ارسالی")
    total = int(latin_digits(re.search(r'id="fig-sent">([۰-۹٬]+)<', home)[1]))
    assert (sum(campaigns), broadcasts, total) == (4, [len(sent)], 4 + len(sent))


# -- the control share and its lift -------------------------------------------------------------

def _in_control(campaign_id: int, contact_id: int, percent: int) -> bool:
    """The draw as README «Lift» states it: a hash of (campaign, contact) into 10,000 buckets,
    the first `percent` hundredths of them in control."""
    digest = hashlib.sha256(f"{campaign_id}:{contact_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 < percent * 100


def _customers(factory, store_id: int, campaign_id: int, each: int) -> dict[bool, list[int]]:
    """Exactly `each` reachable contacts on each side of the broadcast's 50% draw (the others
    made opted out: no segment's members)."""
    sides: dict[bool, list[int]] = {False: [], True: []}
    n = 0
    with unit_of_work(factory) as session:
        while min(len(ids) for ids in sides.values()) < each:
            n += 1
            contact = Contact(store_id=store_id, phone=f"+98912300{n:04d}", first_name="مریم")
            session.add(contact)
            session.flush()
            side = sides[_in_control(campaign_id, contact.id, 50)]
            if len(side) < each:
                side.append(contact.id)
            else:
                contact.opted_out_at = datetime(2026, 11, 1, tzinfo=TEHRAN)
    return sides


def test_a_broadcasts_control_share_shows_its_lift_counted_by_hand(panel, seeded, factory,
                                                                   clock, seeded_api):
    at = tehran("2026-12-01T10:00")
    clock.set(at)
    everyone = segment(seeded_api, {}, name="همه")
    made = panel.post("/panel/broadcasts/new", {
        "name": "حراج یلدا", "segment_id": str(everyone), "template": "حراج {{ link }}",
        "date": "۱۴۰۵/۰۹/۱۰", "time": "۱۰:۰۰", "within_hours": "۲۴", "control_percent": "۵۰"})
    assert made.status_code == 303, made.text
    broadcast_id = int(made.headers["location"].split("/")[-1].split("?")[0])
    assert seeded_api.get(f"/api/v1/broadcasts/{broadcast_id}").json()["control_percent"] == 50
    with factory() as session:
        campaign_id = session.get_one(Broadcast, broadcast_id).campaign_id
        # The seeded customers would be members too: opted out, they are not.
        session.execute(update(Contact).where(Contact.store_id == seeded.store.id)
                        .values(opted_out_at=at - timedelta(days=1)))
        session.commit()
    sides = _customers(factory, seeded.store.id, campaign_id, 120)
    assert seeded_api.post(f"/api/v1/broadcasts/{broadcast_id}/schedule").status_code == 200
    tick(factory, ConsoleGateway(factory), at)

    # A day later 30 of the treated and 12 of the control group buy, 600,000 toman each; one
    # more treated buys 6 days after the SMS, beyond the 5-day window, and is not counted.
    with unit_of_work(factory) as session:
        buyers = [(c, 1) for c in sides[False][:30]] + [(c, 1) for c in sides[True][:12]]
        buyers.append((sides[False][40], 6))
        for n, (contact_id, days) in enumerate(buyers, start=1):
            placed = at + timedelta(days=days)
            session.add(Order(store_id=seeded.store.id, wc_id=9000 + n, status="processing",
                              purchased=True, total=6_000_000, contact_id=contact_id,
                              created_gmt=placed, paid_gmt=placed, items=[]))
    clock.set(at + timedelta(days=7))
    report = seeded_api.get(f"/api/v1/broadcasts/{broadcast_id}").json()["report"]
    assert (report["messages"], report["sent"], report["skipped"]) == (240, 120, 120)
    lift = report["lift"]
    assert (lift["control_percent"], lift["window_days"]) == (50, 5)
    assert lift["treated"] == {"contacts": 120, "converted": 30, "conversion_rate": 0.25,
                               "orders": 30, "revenue": 180_000_000,
                               "revenue_per_contact": 1_500_000}
    assert lift["control"] == {"contacts": 120, "converted": 12, "conversion_rate": 0.1,
                               "orders": 12, "revenue": 72_000_000,
                               "revenue_per_contact": 600_000}
    # 0.25 − 0.10 = 0.15 ± 1.96 × √(0.25·0.75/120 + 0.1·0.9/120) = ± 0.0943 (Wald).
    assert lift["conversion_rate_difference"] == {"estimate": 0.15, "low": 0.0557,
                                                  "high": 0.2443}
    assert lift["incremental_orders"] == {"estimate": 18.0, "low": 6.7, "high": 29.3}
    # Revenue per contact: 1,500,000 − 600,000 = 900,000 ± t(211.8) × √(s²ₜ/120 + s²꜀/120),
    # s²ₜ = (30 × 6,000,000² − 120 × 1,500,000²) / 119, s²꜀ = (12 × 6,000,000² − 120 ×
    # 600,000²) / 119: ± 571,121 Rial per contact; × 120 treated.
    assert lift["incremental_revenue"]["estimate"] == 108_000_000
    assert abs(lift["incremental_revenue"]["low"] - 39_465_000) < 5_000
    assert abs(lift["incremental_revenue"]["high"] - 176_535_000) < 5_000
    assert lift["verdict"] == "significant"
    assert lift["message"].startswith("این ارسال گروهی واقعاً فروش آورده است")

    page = panel.get(f"/panel/broadcasts/{broadcast_id}").text
    assert "اثر واقعی ارسال گروهی: مقایسه با گروه کنترل" in page
    assert 'id="lift-table"' in page and "سهم گروه کنترل: ۵۰٪" in page
    assert "این ارسال گروهی واقعاً فروش آورده است" in page


def test_a_control_share_out_of_range_is_refused_and_nothing_changes(panel, seeded, clock,
                                                                      seeded_api):
    clock.set(tehran("2026-12-01T10:00"))
    everyone = segment(seeded_api, {}, name="همه")
    b = draft(seeded_api, everyone, control_percent="۱۰")
    assert b["control_percent"] == 10
    for bad in (51, -1, "ده", None):
        refused = seeded_api.patch(f"/api/v1/broadcasts/{b['id']}", json={"control_percent": bad})
        assert refused.status_code == 422, bad
        assert error_of(refused)["code"] == "invalid_request" and "control_percent" in \
            error_of(refused)["message"]
    made = seeded_api.post("/api/v1/broadcasts", json={"name": "x", "segment_id": everyone,
                                                "template": "حراج {{ link }}",
                                                "control_percent": 60})
    assert made.status_code == 422 and "control_percent" in error_of(made)["message"]
    assert seeded_api.patch(f"/api/v1/broadcasts/{b['id']}",
                     json={"control_percent": "۲۵"}).json()["control_percent"] == 25

    form = {"name": "حراج", "segment_id": str(everyone), "template": "حراج {{ link }}",
            "within_hours": "۲۴", "control_percent": "۷۰"}
    wrong = panel.post(f"/panel/broadcasts/{b['id']}", form)
    assert wrong.status_code == 200  # the form again, its problem beside the field
    assert re.search(r'id="control_percent".*?<p class="field-error" role="alert">عددی از',
                     wrong.text, re.S)
    assert seeded_api.get(f"/api/v1/broadcasts/{b['id']}").json()["control_percent"] == 25
    page = panel.get(f"/panel/broadcasts/{b['id']}").text
    assert 'id="control_percent" name="control_percent" value="۲۵"' in page
