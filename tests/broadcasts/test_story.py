"""Broadcasts as a merchant meets them: one SMS to a segment, scheduled, sent through the
campaign engine within the store's hours and cap, never twice, never to an opted-out contact,
refused above the money there is, credited with the orders its links brought, cancelled."""

import itertools
from datetime import timedelta

from sqlalchemy import func, select

from app.broadcasts.models import Broadcast
from app.campaigns.models import Enrollment, Message
from app.contacts.models import Contact
from app.db import unit_of_work
from app.stores.models import Store
from tests.campaigns.shop import tehran
from tests.factories import store_settings
from tests.helpers import error_of
from tests.segments.scripted import NOW, scripted_store

PHONE_UA = ("Mozilla/5.0 (Linux; Android 13; SM-A536E) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0 Mobile Safari/537.36")
TEXT = '{{ first_name or "مشتری" }} عزیز، حراج {{ store_name }}: {{ link }}'


def draft(api, segment_id: int, **fields) -> dict:
    created = api.post("/api/v1/broadcasts", json={"name": "حراج یلدا", "segment_id": segment_id,
                                                   "template": TEXT} | fields)
    assert created.status_code == 201, created.text
    return created.json()


_numbers = itertools.count(1)


def segment(api, definition: dict | None = None, name: str | None = None) -> int:
    """A segment, numbered unless named (a store's segment names are unique)."""
    created = api.post("/api/v1/segments", json={
        "name": name or f"گروه {next(_numbers)}",
        "definition": definition or {}})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def contacts(factory, store_id: int, *phones: str) -> list[int]:
    with unit_of_work(factory) as session:
        rows = [Contact(store_id=store_id, phone=p, first_name="مریم") for p in phones]
        session.add_all(rows)
        session.flush()
        return [c.id for c in rows]


def sent_to(shop) -> list[str]:
    return [sms.receptor for sms in shop.sms()]


def test_a_broadcast_reaches_exactly_the_hand_counted_members_once(api, shop, other_store):
    customers = scripted_store(shop.factory, shop.clock, shop.store.id, other_store.id)
    members = {c.phone for c in customers if c.reachable and c.orders >= 2}
    assert 5 < len(members) < 50  # the story has both sides
    b = draft(api, segment(api, {"purchases": {"orders_min": "۲"}}))
    assert b["status"] == "draft" and b["report"] is None

    estimate = api.post(f"/api/v1/broadcasts/{b['id']}/estimate").json()
    assert estimate["recipients"] == len(members)
    assert estimate["cost"] == len(members) * estimate["parts"] * estimate["price_per_part"]
    assert estimate["available"] is None and estimate["affordable"]  # the console tells none
    assert "لغو۱۱" in estimate["text"] or "11" in estimate["text"]  # promotional: opt-out line

    scheduled = api.post(f"/api/v1/broadcasts/{b['id']}/schedule")
    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["status"] == "scheduled"
    report = shop.tick(NOW)
    assert report.broadcasts_started == 1
    first = set(sent_to(shop))
    assert first <= members
    # Some got an SMS of the story a few hours ago: the frequency cap moves theirs, within
    # the day the broadcast may take.
    shop.tick(NOW + timedelta(hours=23, minutes=59))
    assert sorted(sent_to(shop)) == sorted(members)  # each member once, nobody else
    shop.tick(NOW + timedelta(days=2))
    assert len(shop.sms()) == len(members)

    done = api.get(f"/api/v1/broadcasts/{b['id']}").json()
    assert done["status"] == "sent" and done["recipients"] == len(members)
    assert done["definition"] == {"purchases": {"orders_min": 2}}
    assert done["report"]["sent"] == done["report"]["messages"] == len(members)
    assert done["report"]["cost"] == len(members) * estimate["parts"] * estimate["price_per_part"]


def test_scheduled_at_night_it_goes_out_when_the_window_opens(api, shop):
    ids = contacts(shop.factory, shop.store.id, "+989121110001", "+989121110002")
    b = draft(api, segment(api), scheduled_at="۲۰۲۶-۱۲-۰۱T۲۳:۳۰")  # Tehran, any digits
    assert b["scheduled_at"] == "2026-12-01T20:00:00Z"
    shop.clock.set(tehran("2026-12-01T20:00"))
    assert api.post(f"/api/v1/broadcasts/{b['id']}/schedule").status_code == 200
    shop.tick(tehran("2026-12-01T22:00"))  # not its time yet
    assert api.get(f"/api/v1/broadcasts/{b['id']}").json()["status"] == "scheduled"
    shop.tick(tehran("2026-12-01T23:30"))
    assert sent_to(shop) == []
    with shop.factory() as session:
        waiting = session.scalars(select(Message).order_by(Message.id)).all()
    assert [m.contact_id for m in waiting] == sorted(ids, reverse=True)
    assert {(m.status, m.reason, m.due_at) for m in waiting} == {
        ("scheduled", "quiet_hours", tehran("2026-12-02T09:00"))}
    shop.tick(tehran("2026-12-02T08:59"))
    assert sent_to(shop) == []
    shop.tick(tehran("2026-12-02T09:00"))
    assert sorted(sent_to(shop)) == ["+989121110001", "+989121110002"]


def test_a_contact_at_the_frequency_cap_gets_no_more_and_an_opted_out_one_never(api, shop):
    capped, leaving, other = contacts(shop.factory, shop.store.id, "+989121110001",
                                      "+989121110002", "+989121110003")
    store_settings(shop.factory, shop.store.id, cap_per_day=1)
    shop.clock.set(tehran("2026-12-01T10:00"))
    b1 = draft(api, segment(api))
    api.post(f"/api/v1/broadcasts/{b1['id']}/schedule")
    shop.tick(tehran("2026-12-01T10:00"))
    assert len(shop.sms()) == 3
    # A second broadcast the same day, its SMS allowed only until the evening: the cap (one a
    # day) keeps everyone from a second SMS; one opts out meanwhile.
    b2 = draft(api, segment(api), send_within_minutes="۶۰")
    assert api.post(f"/api/v1/broadcasts/{b2['id']}/schedule").status_code == 200
    with unit_of_work(shop.factory) as session:
        session.get_one(Contact, leaving).opted_out_at = tehran("2026-12-01T09:00")
    shop.tick(tehran("2026-12-01T10:01"))
    assert len(shop.sms()) == 3
    with shop.factory() as session:
        second = {m.contact_id: (m.status, m.reason) for m in session.scalars(
            select(Message).join(Broadcast, Broadcast.campaign_id == Message.campaign_id)
            .where(Broadcast.id == b2["id"]))}
    # The opted-out one is in no segment any more: not even enrolled.
    assert second == {capped: ("skipped", "too_late"), other: ("skipped", "too_late")}
    report = api.get(f"/api/v1/broadcasts/{b2['id']}").json()["report"]
    assert report["sent"] == 0 and report["skipped"] == 2


def test_an_opt_out_between_start_and_send_is_never_sent(api, shop):
    staying, leaving = contacts(shop.factory, shop.store.id, "+989121110001", "+989121110002")
    shop.clock.set(tehran("2026-12-01T22:00"))
    b = draft(api, segment(api))
    api.post(f"/api/v1/broadcasts/{b['id']}/schedule")
    shop.tick(tehran("2026-12-01T22:00"))  # started: both enrolled, due in the morning
    with unit_of_work(shop.factory) as session:
        session.get_one(Contact, leaving).opted_out_at = tehran("2026-12-01T23:00")
    shop.tick(tehran("2026-12-02T09:00"))
    assert sent_to(shop) == ["+989121110001"]
    with shop.factory() as session:
        reasons = dict(session.execute(select(Message.contact_id, Message.reason)).all())
    assert reasons[leaving] == "opted_out"


def on_platform(admin_client, store_id: int, balance: int, price: int = 1000) -> None:
    assert admin_client.put(f"/platform/v1/stores/{store_id}/sms-gateway",
                            json={"provider": "platform", "price_per_part": price}
                            ).status_code == 200
    if balance:
        admin_client.post(f"/platform/v1/stores/{store_id}/credit", json={"amount": balance})


def test_above_the_balance_it_is_refused_when_scheduled_and_when_it_starts(api, shop,
                                                                           admin_client):
    contacts(shop.factory, shop.store.id, "+989121110001", "+989121110002", "+989121110003")
    on_platform(admin_client, shop.store.id, balance=2_500)  # two SMS of one part: not three
    shop.clock.set(tehran("2026-12-01T10:00"))
    b = draft(api, segment(api), template="حراج {{ store_name }}: {{ link }}")
    estimate = api.post(f"/api/v1/broadcasts/{b['id']}/estimate").json()
    assert (estimate["recipients"], estimate["parts"], estimate["cost"]) == (3, 1, 3000)
    assert (estimate["available"], estimate["affordable"]) == (2_500, False)
    refused = api.post(f"/api/v1/broadcasts/{b['id']}/schedule")
    assert refused.status_code == 409 and error_of(refused)["code"] == "over_balance"
    assert api.get(f"/api/v1/broadcasts/{b['id']}").json()["status"] == "draft"

    admin_client.post(f"/platform/v1/stores/{shop.store.id}/credit", json={"amount": 1_000})
    ok = api.post(f"/api/v1/broadcasts/{b['id']}/schedule",
                  json={"scheduled_at": "2026-12-01T12:00:00+03:30"})
    assert ok.status_code == 200, ok.text
    with unit_of_work(shop.factory) as session:  # another broadcast spent it meanwhile
        session.scalars(select(Store)).one().balance = 2_000
    shop.tick(tehran("2026-12-01T12:00"))
    refused_at_start = api.get(f"/api/v1/broadcasts/{b['id']}").json()
    assert refused_at_start["status"] == "refused"
    assert refused_at_start["refused_reason"] == "over_balance"
    with shop.factory() as session:
        assert session.scalar(select(func.count()).select_from(Enrollment)) == 0
    assert shop.sms() == []


def test_above_its_own_budget_it_is_refused(api, shop):
    contacts(shop.factory, shop.store.id, "+989121110001", "+989121110002")
    shop.clock.set(tehran("2026-12-01T10:00"))
    b = draft(api, segment(api), max_cost="۱٬۰۰۰")  # Rial: less than two SMS
    assert b["max_cost"] == 1000
    refused = api.post(f"/api/v1/broadcasts/{b['id']}/schedule")
    assert refused.status_code == 409 and error_of(refused)["code"] == "over_budget"
    raised = api.patch(f"/api/v1/broadcasts/{b['id']}", json={"max_cost": "1,000,000"})
    assert raised.json()["max_cost"] == 1_000_000
    assert api.post(f"/api/v1/broadcasts/{b['id']}/schedule").status_code == 200


def test_an_order_after_a_click_is_credited_to_the_broadcast(api, shop, client, live_server):
    contacts(shop.factory, shop.store.id, "+989123456789")
    at = tehran("2026-12-01T10:00")
    shop.clock.set(at)
    b = draft(api, segment(api))
    api.post(f"/api/v1/broadcasts/{b['id']}/schedule")
    shop.tick(at)
    [sms] = shop.sms()
    link = shop.link(sms.text)
    assert link.kind == "store"
    shop.clock.set(at + timedelta(hours=1))
    tap = client.get(f"/{link.code}", headers={"User-Agent": PHONE_UA})
    assert tap.status_code == 302 and tap.headers["location"].startswith("https://shop.example")
    live_server.app.state.click_recorder.flush()
    shop.order(501, at + timedelta(hours=2), total="750000")
    report = api.get(f"/api/v1/broadcasts/{b['id']}").json()["report"]
    assert (report["sent"], report["clicks"], report["orders"]) == (1, 1, 1)
    assert report["revenue"] == 7_500_000  # Rial


def test_cancel_skips_what_is_not_sent_yet(api, shop):
    contacts(shop.factory, shop.store.id, "+989121110001", "+989121110002", "+989121110003")
    shop.clock.set(tehran("2026-12-01T22:00"))
    b = draft(api, segment(api))
    api.post(f"/api/v1/broadcasts/{b['id']}/schedule")
    shop.tick(tehran("2026-12-01T22:00"))
    cancelled = api.post(f"/api/v1/broadcasts/{b['id']}/cancel")
    assert cancelled.json() == {"status": "cancelled", "skipped_messages": 3}
    shop.tick(tehran("2026-12-02T09:00"))
    assert shop.sms() == []
    with shop.factory() as session:
        assert set(session.scalars(select(Message.reason))) == {"broadcast_cancelled"}
    again = api.post(f"/api/v1/broadcasts/{b['id']}/cancel")
    assert again.status_code == 409 and error_of(again)["code"] == "broadcast_not_cancellable"


def test_its_hidden_campaign_is_in_no_campaign_list(api, shop):
    contacts(shop.factory, shop.store.id, "+989121110001")
    b = draft(api, segment(api))
    with shop.factory() as session:
        hidden = session.get_one(Broadcast, b["id"]).campaign_id
    kinds = [c["kind"] for c in api.get("/api/v1/campaigns").json()["items"]]
    assert "broadcast" not in kinds and len(kinds) == 5
    for path in (f"/api/v1/campaigns/{hidden}", f"/api/v1/reports/campaigns/{hidden}"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "campaign_not_found"
    summary = api.get("/api/v1/reports/summary").json()
    assert "broadcast" not in [c["kind"] for c in summary["campaigns"]]


def test_a_test_sms_goes_to_the_phone_given(api, shop):
    contacts(shop.factory, shop.store.id, "+989121110001")
    b = draft(api, segment(api))
    sent = api.post(f"/api/v1/broadcasts/{b['id']}/test-send", json={"phone": "۰۹۱۲۹۹۹۸۸۷۷"})
    assert sent.status_code == 200, sent.text
    [sms] = shop.sms()
    assert sms.receptor == "+989129998877" and "عزیز، حراج چای‌خانه" in sms.text
    assert sent.json()["text"] == sms.text
    assert api.get(f"/api/v1/broadcasts/{b['id']}").json()["status"] == "draft"
