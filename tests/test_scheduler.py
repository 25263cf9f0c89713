"""The scheduler's jobs (app/scheduler.py): each on its own, so one that fails, one that runs
long, or one store whose gateway hangs holds up no other job and no other store."""

import threading
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from app.alerts.service import raise_alert
from app.campaigns.enroll import run_triggers
from app.campaigns.models import Message
from app.contacts.models import Contact
from app.db import unit_of_work
from app.messaging.fake_kavenegar import FakeKavenegar
from app.messaging.gateway import Gateways
from app.messaging.models import InboundSms
from app.ops.fanout import THREAD_PREFIX
from app.scheduler import JOBS, OWN_JOBS, TENANT_JOBS, Job, run_job, tick
from app.stores.models import Store
from tests.campaigns.shop import Shop, tehran
from tests.factories import store_settings, use_kavenegar
from tests.helpers import ALL_DONE, create_store
from tests.ops.conftest import UntilDoneOrHeld, wait_until

AT = tehran("2026-11-24T10:00")  # first carts abandoned: their reminders are due an hour later
DUE = tehran("2026-11-24T11:00")
SECOND_ROUND = DUE + timedelta(minutes=10)  # reports are due again; the second reminders too
SENDARRAY = "sms/sendarray"


def ticks(job: str, result: str) -> float:
    return REGISTRY.get_sample_value("bazgasht_ticks_total", {"job": job, "result": result}) or 0.0


def fan_out_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]


def reminders(factory, store_id: int) -> list[str]:
    """The statuses of the store's reminders due by the second round, oldest first."""
    with factory() as session:
        return list(session.scalars(select(Message.status).where(
            Message.store_id == store_id, Message.due_at <= SECOND_ROUND).order_by(Message.due_at)))


def opted_out(factory, phone: str) -> list[int]:
    """The stores where `phone` opted out."""
    with factory() as session:
        return list(session.scalars(select(Contact.store_id).where(
            Contact.phone == phone, Contact.opted_out_at.is_not(None))))


# -- a job that fails -------------------------------------------------------------------------

def _replies_with_a_bug(context, now):
    raise RuntimeError("the replies job hit a bug")


def test_a_job_that_raises_stops_no_other_and_what_is_due_still_goes_out(shop, caplog):
    shop.cart("sched-cart-0001", AT)
    failed_before = ticks("replies", "failed")
    jobs = [Job("replies", _replies_with_a_bug), *[j for j in JOBS if j.name != "replies"]]
    shop.clock.set(DUE)

    report = tick(shop.factory, shop.gateway, shop.clock.now(), jobs=jobs)

    assert report.failed == {"replies": "RuntimeError: the replies job hit a bug"}
    assert report.jobs == {job.name: "failed" if job.name == "replies" else "ran" for job in JOBS}
    assert (report.enrolled, report.claimed, report.outcome) == (1, 1, {"sent": 1})
    assert len(shop.sms()) == 1
    assert "job replies failed; the other jobs go on" in caplog.text
    assert ticks("replies", "failed") == failed_before + 1
    # Its lock was given back: the next round runs it.
    assert shop.tick(DUE + timedelta(minutes=1)).jobs["replies"] == "ran"


def test_a_round_runs_every_job_in_order(shop):
    report = shop.tick(DUE)
    assert list(report.jobs) == [job.name for job in JOBS]
    assert set(report.jobs.values()) == {"ran"} and report.skipped == [] and report.failed == {}


# -- each job its own lock --------------------------------------------------------------------

@pytest.fixture
def kavenegar():
    with FakeKavenegar(api_key="scheduler-test-key-0001") as fake:
        yield fake


def test_each_job_has_its_own_lock(shop, kavenegar):
    """While a dispatch round waits at the gateway, every other job runs; a second dispatch
    round does nothing."""
    for i in range(3):
        shop.cart(f"sched-lock-{i:04d}", AT, phone=f"0912300{i:04d}")
    use_kavenegar(shop.factory, shop.store.id, kavenegar.api_key)
    gateways = Gateways(shop.factory, kavenegar_base_url=kavenegar.base_url, read_timeout=60)
    with unit_of_work(shop.factory) as session:  # due now: what the dispatch below claims
        assert run_triggers(session, DUE) == 3
    kavenegar.hold(SENDARRAY)  # the gateway takes the batch; its answer waits for the test
    first: dict = {}
    thread = threading.Thread(target=lambda: first.update(
        report=run_job("dispatch", shop.factory, gateways, DUE)))
    thread.start()
    try:
        wait_until(lambda: kavenegar.calls("sendarray"), what="the first dispatch's send")
        others = {job.name: run_job(job.name, shop.factory, gateways, DUE).result
                  for job in JOBS if job.name != "dispatch"}
        again = run_job("dispatch", shop.factory, gateways, DUE)
    finally:
        kavenegar.release(SENDARRAY)
        thread.join(60)
    assert not thread.is_alive()
    assert set(others.values()) == {"ran"}, others
    assert (again.result, again.did) == ("skipped", {})
    assert first["report"].result == "ran" and first["report"].did["claimed"] == 3
    assert len(kavenegar.messages) == 3  # each once


# -- one store's gateway hangs ----------------------------------------------------------------

class KavenegarPerStore:
    """Each store's account on a Kavenegar of its own (a fake server each), reached through the
    production gateways: one can hang while the other answers."""

    def __init__(self, factory, fakes: dict[int, FakeKavenegar]):
        self._gateways = {store_id: Gateways(factory, kavenegar_base_url=fake.base_url,
                                             read_timeout=60)
                          for store_id, fake in fakes.items()}

    def for_store(self, store):
        return self._gateways[store.id].for_store(store)

    def platform(self):
        return next(iter(self._gateways.values())).platform()

    def via(self, store, provider):
        return self._gateways[store.id].via(store, provider)

    def fallback_for(self, store):
        return self._gateways[store.id].fallback_for(store)


@pytest.fixture
def two_shops(shop, client, factory, clock):
    """Two stores, each with its own fake Kavenegar; in each, a shopper abandoned a cart at AT
    and another at 10:10."""
    other = Shop(client, _another_store(factory), factory, clock)
    with FakeKavenegar(api_key="scheduler-slow-key-0001") as slow, \
            FakeKavenegar(api_key="scheduler-well-key-0001") as well:
        for one, fake in ((shop, slow), (other, well)):
            use_kavenegar(factory, one.store.id, fake.api_key)
            one.cart(f"sched-first-{one.store.id}", AT, phone="09124000001")
            one.cart(f"sched-second-{one.store.id}", AT + timedelta(minutes=10),
                     phone="09124000002")
        yield (shop, slow), (other, well), KavenegarPerStore(factory, {shop.store.id: slow,
                                                                       other.store.id: well})


def _another_store(factory):
    with unit_of_work(factory) as session:
        return create_store(session, name="دکان دیگر", url="https://other.example")


def test_a_store_whose_gateway_hangs_holds_up_no_other_store(two_shops, factory, clock):
    (slow_shop, slow), (well_shop, well), gateways = two_shops
    clock.set(DUE)
    first = tick(factory, gateways, clock.now())  # both first reminders go out; no report yet
    assert first.claimed == 2 and reminders(factory, slow_shop.store.id) == ["sent"]
    for fake in (slow, well):
        fake.set_outcome(10)  # delivered, from the next poll on
        fake.push_inbound("09124000001", "۱۱")  # the first shopper replies «stop»
    slow.hold("sms/receive")  # the slow store's gateway takes the calls and never answers
    slow.hold("sms/status")
    clock.set(SECOND_ROUND)
    try:
        report = tick(factory, gateways, clock.now(),
                      deadline=UntilDoneOrHeld({slow_shop.store.id: slow}, {
                          "replies": "sms/receive", "delivery reports": "sms/status"}))

        assert set(report.jobs.values()) == {"ran"}, report
        # The other store's reply was read and acted on, its report recorded...
        assert opted_out(factory, "+989124000001") == [well_shop.store.id]
        assert report.replies == 1
        # ...and both stores' due reminders went out in the same round (the other store's
        # reported delivered at once, the slow store's reports not heard yet).
        assert (report.claimed, report.outcome) == (2, {"sent": 2})
        assert report.delivery_updates == 2
        assert reminders(factory, well_shop.store.id) == ["delivered", "delivered"]
        assert reminders(factory, slow_shop.store.id) == ["sent", "sent"]
        assert [m.receptor for m in well.messages] == ["+989124000001", "+989124000002"]
        assert [m.receptor for m in slow.messages] == ["+989124000001", "+989124000002"]
    finally:
        slow.release("sms/receive")
        slow.release("sms/status")
        wait_until(lambda: not fan_out_threads(), what="the slow store's work to end")
    # Late, not lost: the slow store's work recorded what its gateway said when it answered,
    # and the next round acts on the reply it kept.
    assert reminders(factory, slow_shop.store.id) == ["delivered", "delivered"]
    with factory() as session:
        assert session.scalar(select(InboundSms.store_id).where(
            InboundSms.processed_at.is_(None))) == slow_shop.store.id
    tick(factory, gateways, SECOND_ROUND + timedelta(minutes=1))  # every store answers now
    assert sorted(opted_out(factory, "+989124000001")) == sorted(
        [slow_shop.store.id, well_shop.store.id])


def test_a_store_whose_gateway_hangs_mid_send_holds_up_no_other_stores_sms(two_shops, factory,
                                                                            clock):
    """Both stores' first reminders are due in one batch; one store's gateway takes the send and
    never answers: the other store's SMS go out and are recorded in that round, and the slow
    store's are recorded when its gateway answers."""
    (slow_shop, slow), (well_shop, well), gateways = two_shops
    slow.hold("sms/send")  # no line set: each SMS through sms/send
    clock.set(DUE)
    try:
        report = tick(factory, gateways, clock.now(),
                      deadline=UntilDoneOrHeld({slow_shop.store.id: slow},
                                               {"send batch": "sms/send"}))
        assert report.claimed == 2 and report.outcome == {"sent": 1}
        assert reminders(factory, well_shop.store.id) == ["sent"]
        assert reminders(factory, slow_shop.store.id) == ["sending"]  # its answer is awaited
        assert [m.receptor for m in well.messages] == ["+989124000001"]
    finally:
        slow.release("sms/send")
        wait_until(lambda: not fan_out_threads(), what="the slow store's send to end")
    assert reminders(factory, slow_shop.store.id) == ["sent"]  # late, not lost, not twice
    assert [m.receptor for m in slow.messages] == ["+989124000001"]


# -- jobs that call tenants' URLs --------------------------------------------------------------

def test_jobs_that_call_tenants_urls_hold_no_lock_and_their_work_is_leased(shop, receiver):
    """A merchant's alert endpoint takes the POST and never answers: the round waiting on it
    holds no lock, so another round of the same job runs at once — and leaves the alert that
    is being delivered alone."""
    assert {job.name for job in TENANT_JOBS} == {"coupons", "alerts", "connections"}
    assert not set(OWN_JOBS) & set(TENANT_JOBS) and set(OWN_JOBS) | set(TENANT_JOBS) == set(JOBS)
    store_settings(shop.factory, shop.store.id, alert_webhook_url=f"{receiver.url}/hooks")
    with unit_of_work(shop.factory) as session:
        store = session.get_one(Store, shop.store.id)
        raise_alert(session, store, "connection.healed", {"broken_since": None, "topics": []},
                    DUE)
    receiver.hold()
    first: dict = {}
    thread = threading.Thread(target=lambda: first.update(report=run_job(
        "alerts", shop.factory, shop.gateway, DUE, deadline=ALL_DONE)))
    thread.start()
    try:
        wait_until(lambda: receiver.requests, what="the alert's POST")
        again = run_job("alerts", shop.factory, shop.gateway, DUE)
        others = {name: run_job(name, shop.factory, shop.gateway, DUE).result
                  for name in ("coupons", "connections", "dispatch")}
    finally:
        receiver.release()
        thread.join(60)
    assert (again.result, again.did) == ("ran", {"alerts": 0})
    assert set(others.values()) == {"ran"}
    assert first["report"].did == {"alerts": 1}
    assert len(receiver.requests) == 1


def test_enrolment_wakes_the_senders_as_its_rounds_commit_at_most_once_a_second(shop,
                                                                                 monkeypatch):
    """Production: messages enrolled in a round go out without waiting for dispatch's tick."""
    from app import scheduler
    from app.campaigns import enroll

    monkeypatch.setattr(enroll, "BATCH", 2)  # five carts: three rounds
    for i in range(5):
        shop.cart(f"wake-cart-{i:04d}", AT, phone=f"0912555{i:04d}")
    woken = []

    def wake() -> int:
        with shop.factory() as session:  # what a sender woken now would find
            woken.append(len(session.scalars(select(Message.id).where(
                Message.due_at <= DUE)).all()))
        return 4

    monkeypatch.setattr(scheduler, "WAKE_EVERY", 3600.0)  # no machine is that slow
    report = run_job("enrolment", shop.factory, shop.gateway, DUE, wake=wake)
    assert report.did == {"enrolled": 5}
    assert woken == [2]  # after the first round's commit; the next two within WAKE_EVERY
    monkeypatch.setattr(scheduler, "WAKE_EVERY", 0.0)
    for i in range(5, 8):
        shop.cart(f"wake-cart-{i:04d}", AT, phone=f"0912555{i:04d}")
    woken.clear()
    assert run_job("enrolment", shop.factory, shop.gateway, DUE, wake=wake).did == \
        {"enrolled": 3}
    assert woken == [7, 8]  # after each round that enrolled
