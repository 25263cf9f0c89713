"""MeliPayamakGateway against the fake over real HTTP: what the campaign engine gets back for
each way a send, a question or a read can go."""

import pytest

from app.messaging.fake_melipayamak import DEFAULT_LINE, FakeMeliPayamak
from app.messaging.gateway import (
    CONFIRMED_AFTER_LOST_ANSWER,
    ErrorKind,
    GatewayError,
    Lookup,
    SendResult,
)
from app.messaging.melipayamak import MeliPayamakClient
from app.messaging.melipayamak_gateway import (
    DELIVERY_CODES,
    MeliPayamakGateway,
    delivery_code,
    pattern_args,
)

KEY = "gateway-melipayamak-token"
ALI, SARA, REZA = "+989121111111", "+989352222222", "+989193333333"


@pytest.fixture
def fake():
    with FakeMeliPayamak(api_key=KEY) as server:
        yield server


@pytest.fixture
def gateway(fake):
    with MeliPayamakClient(KEY, base_url=fake.base_url, connect_timeout=2,
                           read_timeout=2) as client:
        yield MeliPayamakGateway(client, sender=DEFAULT_LINE)


def sent(fake) -> list[tuple[str, str]]:
    return [(m.receptor, m.text) for m in fake.messages]


# -- sending --------------------------------------------------------------------------------------

def test_one_send_goes_as_the_panel_writes_the_number(gateway, fake):
    result = gateway.send(localid=1, receptor=ALI, text="سلام")
    assert result == SendResult(gateway_id=str(fake.messages[0].rec_id), status=1)
    assert sent(fake) == [("09121111111", "سلام")]


def test_items_sharing_a_text_go_in_one_advanced_call_the_rest_alone(gateway, fake):
    items = [(1, ALI, "تخفیف"), (2, SARA, "سلام سارا"), (3, REZA, "تخفیف")]
    results = gateway.send_many(items)

    assert all(isinstance(r, SendResult) for r in results)
    by_number = {m.receptor: str(m.rec_id) for m in fake.messages}
    assert [r.gateway_id for r in results] == [by_number["09121111111"],
                                               by_number["09352222222"],
                                               by_number["09193333333"]]
    [advanced] = fake.calls("send/advanced")
    assert advanced.body["to"] == ["09121111111", "09193333333"]
    assert len(fake.calls("send/simple")) == 1


def test_a_shared_text_beyond_one_call_is_split(gateway, fake):
    items = [(i, f"+98912{i:07d}", "همه") for i in range(1, 106)]
    results = gateway.send_many(items)
    assert all(isinstance(r, SendResult) for r in results)
    assert sorted(len(c.body["to"]) for c in fake.calls("send/advanced")) == [5, 100]


def test_a_shared_text_refused_for_one_number_is_sent_one_by_one(gateway, fake):
    fake.invalid_receptors.add("09352222222")
    results = gateway.send_many([(1, ALI, "تخفیف"), (2, SARA, "تخفیف"), (3, REZA, "تخفیف")])
    assert [isinstance(r, SendResult) for r in results] == [True, False, True]
    assert (results[1].kind, results[1].code) == (ErrorKind.RECIPIENT, 18)
    assert len(fake.messages) == 2


def test_a_number_refused_in_its_own_slot_fails_alone_without_a_resend(gateway, fake):
    fake.per_number_codes = True
    fake.blacklist_at_send = True
    fake.blacklisted.add("09352222222")
    results = gateway.send_many([(1, ALI, "تخفیف"), (2, SARA, "تخفیف")])
    assert isinstance(results[0], SendResult)
    assert (results[1].kind, results[1].code, results[1].blacklisted) == (ErrorKind.RECIPIENT, 35,
                                                                       True)
    assert len(fake.calls("send/advanced")) == 1 and fake.calls("send/simple") == []


def test_several_numbers_without_the_opt_out_go_one_per_call(gateway, fake):
    fake.require_opt_out = True
    results = gateway.send_many([(1, ALI, "تخفیف"), (2, SARA, "تخفیف")])
    assert all(isinstance(r, SendResult) for r in results)
    assert len(fake.calls("send/simple")) == 2


def test_a_store_error_stops_the_calls_not_yet_made(gateway, fake):
    fake.credit = 0
    gateway.PARALLEL = 1
    gateway._pool = type(gateway._pool)(1)
    results = gateway.send_many([(1, ALI, "a"), (2, SARA, "b"), (3, REZA, "c")])
    assert all(isinstance(r, GatewayError) and r.kind == ErrorKind.STORE and r.code == 2
               for r in results)
    assert len(fake.calls("send/simple")) == 1


def test_a_passing_refusal_is_a_plain_retry_for_the_call(gateway, fake):
    fake.fail_next("send/advanced", 6)
    results = gateway.send_many([(1, ALI, "x"), (2, SARA, "x")])
    assert all(r.kind == ErrorKind.RETRY and not r.ambiguous for r in results)
    assert fake.messages == []


def test_no_line_is_the_store_s_to_fix(fake):
    with MeliPayamakClient(KEY, base_url=fake.base_url) as client:
        gateway = MeliPayamakGateway(client, sender=None)
        [error] = gateway.send_many([(1, ALI, "x")])
        assert error.kind == ErrorKind.STORE and gateway.receive() == []


# -- lost answers: found in the outbox, never resent ----------------------------------------------

def test_a_lost_advanced_call_is_found_in_the_outbox(gateway, fake):
    fake.drop_next("send/advanced", after_work=True)
    items = [(1, ALI, "x"), (2, SARA, "x")]
    results = gateway.send_many(items)
    assert [r.note for r in results] == [CONFIRMED_AFTER_LOST_ANSWER] * 2
    assert [r.gateway_id for r in results] == [str(m.rec_id) for m in fake.messages]
    assert len(fake.messages) == 2


def test_a_lost_send_the_outbox_does_not_show_is_left_ambiguous(gateway, fake):
    fake.list_outbox = False
    fake.drop_next("send/simple", after_work=True)
    [result] = gateway.send_many([(1, ALI, "x")])
    assert isinstance(result, GatewayError) and result.ambiguous
    assert len(fake.messages) == 1  # taken once, and not sent again
    assert gateway.knows_absence is False


def test_the_outbox_tells_identical_messages_apart(gateway, fake):
    gateway.send_many([(1, ALI, "x"), (2, ALI, "x")])
    found = gateway.accepted([(1, ALI, "x"), (2, ALI, "x"), (3, SARA, "x")])
    assert sorted(found) == [1, 2]
    assert found[1].gateway_id != found[2].gateway_id


# -- patterns -------------------------------------------------------------------------------------

def test_a_lookup_goes_as_a_shared_pattern_with_values_in_order(gateway, fake):
    fake.patterns[3003] = 2
    [result] = gateway.lookup_many([(1, ALI, Lookup("3003", {"token2": "۱۲", "token": "علی"}))])
    assert isinstance(result, SendResult)
    assert fake.calls("send/shared")[0].body == {"to": "09121111111", "bodyId": 3003,
                                                 "args": ["علی", "۱۲"]}


@pytest.mark.parametrize(("lookup", "why"), [
    (Lookup("cart", {"token": "x"}), "bodyId is a number"),
    (Lookup("1", {"token": "x", "token3": "y"}), "without a gap"),
    (Lookup("1", {"name": "x"}), "not a position"),
    (Lookup("1", {}), "no values"),
    (Lookup("1", {"0": " "}), "empty"),
    (Lookup("1", {"token": "https://s.example/c"}), "link"),
])
def test_values_melipayamak_would_refuse_fail_here_saying_why(gateway, fake, lookup, why):
    assert why in pattern_args(lookup)
    [error] = gateway.lookup_many([(1, ALI, lookup)])
    assert error.kind == ErrorKind.INVALID and why in str(error)
    assert fake.requests == []


def test_an_unknown_pattern_is_our_configuration_error(gateway, fake):
    [error] = gateway.lookup_many([(1, ALI, Lookup("4040", {"token": "x"}))])
    assert (error.kind, error.code) == (ErrorKind.INVALID, -4)


# -- delivery -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("theirs", "ours"), sorted(DELIVERY_CODES.items()))
def test_each_delivery_code_maps_to_ours(gateway, fake, theirs, ours):
    fake.set_outcome(theirs)
    result = gateway.send(localid=1, receptor=ALI, text="x")
    assert gateway.statuses([result.gateway_id]) == {result.gateway_id: ours}
    assert delivery_code(theirs) == ours


def test_a_state_we_do_not_know_is_still_on_its_way(gateway, fake):
    assert delivery_code(77) == 5 and delivery_code(None) == 1


def test_statuses_are_pending_until_final_and_unknown_ids_are_final(gateway, fake):
    fake.set_outcome(1, after_polls=1)
    result = gateway.send(localid=1, receptor=ALI, text="x")
    assert gateway.statuses([result.gateway_id, "999999999999", "console-1"]) == {
        result.gateway_id: 4, "999999999999": 100, "console-1": 100}
    assert gateway.statuses([result.gateway_id]) == {result.gateway_id: 10}


# -- replies --------------------------------------------------------------------------------------

def test_replies_come_oldest_first_and_once(gateway, fake):
    fake.push_inbound("09121111111", "۱۱")
    fake.push_inbound("09352222222", "لغو")
    fake.push_inbound("09193333333", "other line", line="50009999")
    first = gateway.receive()
    assert [(m.sender, m.text, m.line) for m in first] == [
        ("09121111111", "۱۱", DEFAULT_LINE), ("09352222222", "لغو", DEFAULT_LINE)]
    assert gateway.receive() == []
    fake.push_inbound("09121111111", "بعدی")
    assert [m.text for m in gateway.receive()] == ["بعدی"]


def test_a_lost_read_loses_nothing_when_reading_does_not_consume(gateway, fake):
    fake.push_inbound("09121111111", "۱۱")
    fake.drop_next("receive/messages", after_work=True, times=3)
    with pytest.raises(GatewayError) as lost:
        gateway.receive()
    assert lost.value.ambiguous
    assert [m.text for m in gateway.receive()] == ["۱۱"]


def test_a_consuming_inbox_is_read_once(gateway, fake):
    fake.inbox_consumes = True
    fake.push_inbound("09121111111", "۱۱")
    assert [m.text for m in gateway.receive()] == ["۱۱"]
    assert gateway.receive() == []


def test_a_new_process_reads_on_from_its_cursor_across_pages(fake):
    ids = [fake.push_inbound(f"0912{i:07d}", f"r{i}") for i in range(150)]
    with MeliPayamakClient(KEY, base_url=fake.base_url) as client:
        gateway = MeliPayamakGateway(client, sender=DEFAULT_LINE, inbox_cursor=ids[9])
        texts = [m.text for m in gateway.receive()]
    assert texts == [f"r{i}" for i in range(10, 150)]


# -- credit ---------------------------------------------------------------------------------------

def test_the_credit_is_rial_unless_told_otherwise(gateway, fake):
    fake.credit = 250_000
    assert gateway.credit() == 250_000
    with MeliPayamakClient(KEY, base_url=fake.base_url) as client:
        assert MeliPayamakGateway(client, sender=DEFAULT_LINE, rial_per_unit=10).credit() == \
            2_500_000


def test_a_passing_error_on_a_question_is_asked_again(gateway, fake):
    fake.fail_next("receive/credit", 502, raw_body="<html>502</html>")
    assert gateway.credit() == fake.credit
    assert len(fake.calls("receive/credit")) == 2


def test_a_new_process_reads_on_from_the_reply_kept_last(fake):
    """`since` (the newest reply the store kept, app/messaging/inbound.py) seeds a process
    that has no cursor yet: what came while no process read is not skipped."""
    ids = [fake.push_inbound(f"0912{i:07d}", f"r{i}") for i in range(150)]
    with MeliPayamakClient(KEY, base_url=fake.base_url) as client:
        texts = [m.text for m in MeliPayamakGateway(client, sender=DEFAULT_LINE)
                 .receive(since=str(ids[9]))]
    assert texts == [f"r{i}" for i in range(10, 150)]
