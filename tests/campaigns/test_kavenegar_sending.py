"""A store sending through Kavenegar (the fake, over real HTTP): batches, errors, pauses, reports,
replies."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.campaigns.models import Message
from app.contacts.models import Contact
from app.db import unit_of_work
from app.messaging.fake_kavenegar import DEFAULT_LINE
from app.messaging.models import InboundSms
from app.stores.models import Store
from tests.campaigns.shop import tehran
from tests.factories import store_settings

# The Kavenegar shop (`kshop`) and the fake (`kavenegar`) are in tests/campaigns/conftest.py.
AT = tehran("2026-11-24T10:00")  # carts abandoned; first step due an hour later
DUE = tehran("2026-11-24T11:00")


def test_messages_go_out_through_kavenegar_with_localid_cost_and_line(kshop, kavenegar):
    kshop.cart("kv-cart-000001", AT)
    kshop.tick(DUE)
    [sent] = kavenegar.messages
    first = kshop.messages()[0]
    assert sent.receptor == "+989123456789" and sent.sender == DEFAULT_LINE
    assert sent.localid == first.id and sent.message == first.text
    assert first.status == "sent" and first.gateway_id == str(sent.messageid)
    assert first.cost == sent.cost and first.cost > 0 and first.parts == 2


def abandon(kshop, n: int, prefix: str) -> list[str]:
    """n carts with distinct phones, abandoned at AT; returns the phones (E.164)."""
    for i in range(n):
        kshop.cart(f"{prefix}-{i:04d}", AT, phone=f"0912000{i:04d}")
    return [f"+98912000{i:04d}" for i in range(n)]


def firsts_by_phone(kshop) -> dict[str, Message]:
    with kshop.factory() as session:
        phones = dict(session.execute(select(Contact.id, Contact.phone)).all())
    return {phones[m.contact_id]: m for m in kshop.messages() if m.due_at <= DUE}


def sendarray_localids(kavenegar) -> list[list[int]]:
    return [json.loads(call.form["localmessageids"][0]) for call in kavenegar.calls("sendarray")]


def test_a_batch_goes_out_as_one_sendarray_with_each_localid_once_and_its_cost(kshop, kavenegar):
    abandon(kshop, 5, "kv-batch")
    kshop.tick(DUE)
    firsts = sorted(firsts_by_phone(kshop).values(), key=lambda m: m.id)
    assert len(firsts) == 5
    assert sendarray_localids(kavenegar) == [[m.id for m in firsts]]
    assert kavenegar.calls("send") == []
    by_localid = {m.localid: m for m in kavenegar.messages}
    for message in firsts:
        at_gateway = by_localid[message.id]
        assert kavenegar.sends_with_localid(message.id) == 1
        assert (message.status, message.gateway_id) == ("sent", str(at_gateway.messageid))
        assert message.cost == at_gateway.cost > 0 and at_gateway.message == message.text
        assert at_gateway.sender == DEFAULT_LINE


def test_a_transient_error_retries_later_without_losing_the_message(kshop, kavenegar):
    kshop.cart("kv-cart-000002", AT)
    kavenegar.fail_next("sms/send", 409)
    kshop.tick(DUE)
    first = kshop.messages()[0]
    assert first.status == "scheduled" and first.reason == "gateway_retry"
    assert "409" in first.reason_detail
    assert first.due_at == DUE + timedelta(seconds=5)  # backoff after the first attempt
    kshop.tick(DUE + timedelta(seconds=5))
    assert kshop.messages()[0].status == "sent"
    assert kavenegar.sends_with_localid(first.id) == 1


def test_an_invalid_number_fails_that_message_only(kshop, kavenegar):
    phones = abandon(kshop, 3, "kv-invalid")
    bad = phones[1]
    kavenegar.invalid_receptors.add(bad)  # the whole sendarray is refused because of it
    kshop.tick(DUE)
    firsts = firsts_by_phone(kshop)
    assert firsts[bad].status == "failed" and firsts[bad].reason == "gateway_refused"
    assert "411" in firsts[bad].reason_detail
    assert {firsts[p].status for p in phones if p != bad} == {"sent"}
    assert len(kavenegar.calls("sendarray")) == 1  # refused as a whole ...
    assert sorted(c.form["receptor"][0] for c in kavenegar.calls("send")) == sorted(phones)
    assert sorted(m.receptor for m in kavenegar.messages) == sorted(p for p in phones if p != bad)
    calls = len(kavenegar.requests)
    kshop.tick(DUE + timedelta(hours=1))
    assert [r for r in kavenegar.requests[calls:] if bad in str(r.form)] == []  # not retried
    assert len(kavenegar.messages) == 2


def test_no_credit_pauses_the_store_and_resumes_with_nothing_lost(kshop, kavenegar, receiver):
    # The merchant listens by SMS and webhook; only the webhook can tell of a refusing gateway.
    store_settings(kshop.factory, kshop.store.id, alert_phone="09120001111",
                   alert_webhook_url=f"{receiver.url}/hooks")
    abandon(kshop, 3, "kv-credit")
    kavenegar.credit = 0
    kshop.tick(DUE)
    assert len(kavenegar.calls("sendarray")) == 1  # one refused batch (418), nothing sent alone
    assert kavenegar.calls("send") == []
    rows = kshop.messages()
    firsts = [m for m in rows if m.due_at <= DUE or m.status == "held"]
    assert {m.status for m in firsts} == {"held"}
    with kshop.factory() as session:
        store = session.scalar(select(Store))
        assert store.sending_paused_at is not None and "418" in store.sending_paused_reason
    assert kavenegar.messages == []
    kshop.tick(DUE + timedelta(minutes=1))  # rechecked, still no credit: nothing moves
    assert kavenegar.messages == [] and len(kavenegar.calls("account/info")) == 1
    [paused] = [r.json() for r in receiver.requests]
    assert paused["event"] == "sending.paused" and "418" in paused["reason"]
    kavenegar.credit = 10_000_000  # the merchant tops up
    kshop.tick(DUE + timedelta(minutes=6))  # the paused store is rechecked, resumed and sends
    with kshop.factory() as session:
        assert session.scalar(select(Store.sending_paused_at)) is None
    assert len(kavenegar.messages) == 3  # the campaign's: no alert went by SMS
    assert all(kavenegar.sends_with_localid(m.localid) == 1 for m in kavenegar.messages)
    kshop.tick(DUE + timedelta(minutes=7))
    assert [r.json()["event"] for r in receiver.requests] == ["sending.paused", "sending.resumed"]
    assert sorted(sendarray_localids(kavenegar)[-1]) == sorted(m.id for m in firsts)
    assert {m.status for m in kshop.messages() if m.id in {f.id for f in firsts}} == {"sent"}


def test_a_paused_store_is_asked_again_within_seconds_then_less_and_less_often(kshop, kavenegar):
    abandon(kshop, 2, "kv-recheck")
    kavenegar.credit = 0
    kshop.tick(DUE)  # 418: paused
    asked = []
    for second in range(0, 601, 5):  # a tick every 5 seconds for 10 minutes
        before = len(kavenegar.calls("account/info"))
        kshop.tick(DUE + timedelta(seconds=second))
        if len(kavenegar.calls("account/info")) > before:
            asked.append(second)
    # 5 s after the pause, then after an eighth of the time paused at the last check (at
    # least 5 s, at most 5 min): an outage of a minute is noticed within 10 s of its end.
    assert asked == [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90, 105, 120, 135, 155,
                     175, 200, 225, 255, 290, 330, 375, 425, 480, 540]
    kavenegar.credit = 10_000_000
    kshop.tick(DUE + timedelta(seconds=600))  # not due again yet (540 + 67.5): still paused
    assert kavenegar.messages == []
    kshop.tick(DUE + timedelta(seconds=610))  # asked, accepted: resumed and sent
    assert len(kavenegar.messages) == 2


def test_a_resumed_store_wakes_the_senders_and_a_passing_error_is_asked_again(kshop,
                                                                              kavenegar):
    """Production: its held messages are due at once, so the senders are woken, not left to
    the next dispatch tick; a recheck answered by a proxy's 502 is asked again at once."""
    from app.scheduler import run_job

    abandon(kshop, 2, "kv-wake")
    kavenegar.credit = 0
    kshop.tick(DUE)  # 418: paused
    kavenegar.credit = 10_000_000
    kavenegar.fail_next("account/info", 502)
    woken = []
    report = run_job("paused_stores", kshop.factory, kshop.gateway, DUE + timedelta(seconds=15),
                     wake=lambda: woken.append(1) or 4)
    assert report.did == {"resumed": 1} and woken == [1]
    assert len(kavenegar.calls("account/info")) == 2  # the 502, then the answer
    assert run_job("paused_stores", kshop.factory, kshop.gateway, DUE + timedelta(seconds=30),
                   wake=lambda: woken.append(1) or 4).did == {"resumed": 0}
    assert woken == [1]  # nothing resumed: nobody woken


def test_a_send_that_timed_out_but_went_through_is_not_sent_again(kshop, kavenegar):
    kshop.cart("kv-cart-000005", AT)
    kavenegar.delay("sms/send", 2.0)  # longer than the client's 0.5 s read timeout
    kshop.tick(DUE)
    kavenegar.delay("sms/send", 0)
    first = kshop.messages()[0]
    assert first.status == "sent" and first.reason == "confirmed_after_loss"
    kshop.tick(DUE + timedelta(minutes=30))
    assert kavenegar.sends_with_localid(first.id) == 1 and len(kavenegar.messages) == 1


def test_a_sendarray_that_timed_out_is_not_duplicated_and_all_end_sent(kshop, kavenegar):
    abandon(kshop, 4, "kv-lost")
    kavenegar.delay("sms/sendarray", 2.0)  # processed, then answered after the 0.5 s timeout
    kshop.tick(DUE)
    kavenegar.delay("sms/sendarray", 0)
    firsts = firsts_by_phone(kshop).values()
    assert {(m.status, m.reason) for m in firsts} == {("sent", "confirmed_after_loss")}
    assert len(kavenegar.calls("sendarray")) == 1 and kavenegar.calls("send") == []
    asked = [c.form["localid"][0].split(",") for c in kavenegar.calls("statuslocalmessageid")]
    assert [sorted(map(int, ids)) for ids in asked] == [sorted(m.id for m in firsts)]
    kshop.tick(DUE + timedelta(minutes=30))  # the reaper and later ticks find nothing to redo
    assert len(kavenegar.messages) == 4
    assert all(kavenegar.sends_with_localid(m.id) == 1 for m in firsts)
    gateway_ids = {k.localid: str(k.messageid) for k in kavenegar.messages}
    assert all(m.gateway_id == gateway_ids[m.id] for m in firsts)


def test_a_sendarray_lost_before_it_was_processed_is_sent_again_once(kshop, kavenegar):
    abandon(kshop, 4, "kv-reset")
    kavenegar.drop_next("sms/sendarray")  # the connection dies before the gateway acts
    kshop.tick(DUE)
    firsts = firsts_by_phone(kshop).values()
    assert {(m.status, m.reason) for m in firsts} == {("sent", None)}
    ids = sorted(m.id for m in firsts)
    assert [sorted(batch) for batch in sendarray_localids(kavenegar)] == [ids, ids]
    assert all(kavenegar.sends_with_localid(i) == 1 for i in ids) and len(kavenegar.messages) == 4


def test_delivery_reports_update_messages_and_blocked_receivers_get_no_more_ads(kshop, kavenegar):
    kshop.cart("kv-cart-000006", AT)
    kshop.cart("kv-cart-000007", AT, phone="09351234567")
    kavenegar.set_outcome(10)
    kavenegar.set_outcome(14, receptor="+989351234567")
    kshop.tick(DUE)
    kshop.tick(DUE + timedelta(minutes=6))  # reports are polled every 5 minutes
    firsts = {m.contact_id: m for m in kshop.messages() if m.due_at <= DUE}
    with kshop.factory() as session:
        contacts = {c.phone: c for c in session.scalars(select(Contact))}
    delivered = firsts[contacts["+989123456789"].id]
    blocked = firsts[contacts["+989351234567"].id]
    assert (delivered.status, delivered.delivery_status) == ("delivered", 10)
    assert (blocked.status, blocked.delivery_status) == ("failed", 14)
    assert contacts["+989351234567"].promo_blocked_at is not None
    kshop.tick(tehran("2026-11-25T11:00"))  # step 2 (promotional) for both
    second = [m for m in kshop.messages()
              if m.contact_id == contacts["+989351234567"].id and m.due_at > DUE][0]
    assert (second.status, second.reason) == ("skipped", "receiver_blocks_ads")


@pytest.mark.parametrize("reply", ["۱۱", "11", "لغو", "STOP", " لغو ۱۱ "])
def test_a_reply_of_eleven_opts_out_and_the_next_message_is_skipped(kshop, kavenegar, reply):
    kshop.cart("kv-cart-000008", AT)
    kshop.tick(DUE)
    kavenegar.push_inbound("09123456789", reply)
    kshop.tick(tehran("2026-11-25T11:00"))
    with kshop.factory() as session:
        contact = session.scalar(select(Contact))
        [inbound] = session.scalars(select(InboundSms)).all()
    assert contact.opted_out_at is not None and contact.opt_out_source == "sms reply"
    assert (inbound.action, inbound.text) == ("opt_out", reply)
    second = kshop.messages()[1]
    assert (second.status, second.reason) == ("skipped", "opted_out")
    assert len(kavenegar.messages) == 1


def test_a_reply_of_twelve_opts_back_in(kshop, kavenegar):
    kshop.cart("kv-cart-000009", AT)
    kavenegar.push_inbound("09123456789", "۱۱")
    kshop.tick(tehran("2026-11-24T10:30"))
    kavenegar.push_inbound("09123456789", "۱۲")
    kshop.tick(DUE)
    with kshop.factory() as session:
        assert session.scalar(select(Contact.opted_out_at)) is None
    assert len(kavenegar.messages) == 1


def test_retries_come_in_seconds_after_a_blip_and_span_minutes_of_an_outage():
    from app.campaigns.dispatch import MAX_ATTEMPTS, retry_after

    waits = [retry_after(n) for n in range(1, MAX_ATTEMPTS)]
    assert waits[:6] == [timedelta(seconds=s) for s in (5, 10, 20, 40, 80, 160)]
    assert waits[6:] == [timedelta(minutes=5)] * (MAX_ATTEMPTS - 7)
    assert timedelta(minutes=18) < sum(waits, timedelta()) < timedelta(minutes=22)


def test_a_lost_batch_the_gateway_could_not_account_for_is_asked_about_once_more(kshop,
                                                                                kavenegar):
    """The gateway's own questions after the lost answer all failed (502s): the engine asks
    once more, for the whole batch, before anything is sent again; nothing is resent."""
    abandon(kshop, 3, "kv-unsure")
    kavenegar.drop_next("sms/sendarray", after_work=True)
    kavenegar.fail_next("sms/statuslocalmessageid", 502, times=3)
    kshop.tick(DUE)
    firsts = [m for m in kshop.messages() if m.reason == "confirmed_after_loss"]
    assert len(firsts) == 3 and {m.status for m in firsts} == {"sent"}
    assert len(kavenegar.calls("statuslocalmessageid")) == 4  # three in vain, then the answer
    assert len(kavenegar.calls("sendarray")) == 1
    assert all(kavenegar.sends_with_localid(m.id) == 1 for m in firsts)


def test_a_lost_answer_a_gateway_cannot_account_for_is_never_sent_again(kshop, kavenegar):
    """A gateway without our ids (knows_absence False) that cannot find a message after a lost
    answer may still have sent it: the message fails as unknown, keeps its sent_at (it counts
    in the frequency cap) and is never offered again."""
    abandon(kshop, 3, "kv-blind")
    with kshop.factory() as session:
        store = session.get_one(Store, kshop.store.id)
    kshop.gateway.for_store(store).knows_absence = False
    kavenegar.stall("sms/sendarray", 30)  # held past the 0.5 s read timeout, nothing taken
    kshop.tick(DUE)
    kavenegar.stall("sms/sendarray", 0)
    firsts = [m for m in kshop.messages() if m.reason == "send_unknown"]
    assert len(firsts) == 3
    assert {m.status for m in firsts} == {"failed"} and all(m.sent_at for m in firsts)
    kshop.tick(DUE + timedelta(hours=2))
    assert len(kavenegar.calls("sendarray")) == 1 and kavenegar.messages == []


def test_the_reaper_never_resends_what_a_gateway_without_our_ids_cannot_find(kshop, kavenegar):
    """A worker died between handing a message over and the answer: a gateway whose silence
    proves nothing cannot clear it, so it fails as unknown; one never handed over (no sent_at)
    is scheduled again."""
    abandon(kshop, 2, "kv-stall")
    kshop.tick(DUE)  # the first steps go out; the later ones wait
    handed, never = sorted(m.id for m in kshop.messages() if m.due_at > DUE)[:2]
    with kshop.factory() as session:
        store = session.get_one(Store, kshop.store.id)
    kshop.gateway.for_store(store).knows_absence = False
    with unit_of_work(kshop.factory) as session:  # claimed by a worker that died
        session.execute(update(Message).where(Message.id == handed).values(
            status="sending", claimed_at=DUE, sent_at=DUE, send_mode="text", text="سلام"))
        session.execute(update(Message).where(Message.id == never).values(
            status="sending", claimed_at=DUE))
    kshop.tick(DUE + timedelta(minutes=20))  # the reaper asks
    rows = {m.id: m for m in kshop.messages()}
    assert (rows[handed].status, rows[handed].reason) == ("failed", "send_unknown")
    assert rows[handed].sent_at is not None  # it may have gone out: it counts in the cap
    assert rows[never].status == "scheduled"  # returned (then held back by the frequency cap)
    assert kavenegar.sends_with_localid(handed) == 0
