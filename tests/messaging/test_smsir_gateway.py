"""SmsIrGateway against the fake SMS.ir over real HTTP: batching with send/likeToLike, what a
failed batch means for each message, why a lost answer is never sent again, delivery states,
templates, replies and credit."""

from decimal import Decimal

import pytest

from app.messaging.fake_smsir import DEFAULT_LINE, FakeSmsIr
from app.messaging.gateway import (
    CONFIRMED_AFTER_LOST_ANSWER,
    ErrorKind,
    GatewayError,
    Lookup,
    SendResult,
)
from app.messaging.smsir import SmsIrClient
from app.messaging.smsir_gateway import (
    DELIVERY_STATES,
    SmsIrGateway,
    from_smsir,
    to_smsir,
)

KEY = "gateway-test-key-0123"


@pytest.fixture
def fake():
    with FakeSmsIr(api_key=KEY) as server:
        yield server


def gateway_for(fake, *, sender: str | None = DEFAULT_LINE, read_timeout: float = 5.0,
                rial_per_credit=None) -> SmsIrGateway:
    client = SmsIrClient(KEY, base_url=f"{fake.base_url}/v1", connect_timeout=2,
                         read_timeout=read_timeout)
    return SmsIrGateway(client, sender=sender, rial_per_credit=rial_per_credit)


@pytest.fixture
def gateway(fake):
    return gateway_for(fake)


def items(n: int, first: int = 1) -> list[tuple[int, str, str]]:
    return [(i, f"+98912{i:07d}", f"سلام {i}") for i in range(first, first + n)]


def batches(fake) -> list[int]:
    return [len(c.json["mobiles"]) for c in fake.calls("send/likeToLike")]


def errors(results) -> list[GatewayError]:
    assert all(isinstance(r, GatewayError) for r in results)
    return results


# -- numbers ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("ours", "theirs"), [
    ("+989121234567", "09121234567"), ("989121234567", "09121234567"),
    ("00989121234567", "09121234567"), ("09121234567", "09121234567"),
    ("9121234567", "09121234567"), ("+44 7700 900123", "+44 7700 900123"),
])
def test_numbers_go_to_smsir_as_its_samples_write_them(ours, theirs):
    assert to_smsir(ours) == theirs


def test_numbers_from_smsir_come_back_in_e164():
    assert from_smsir("9121234567") == "+989121234567"


# -- sending ------------------------------------------------------------------------------------

def test_many_messages_go_out_in_like_to_like_calls_of_at_most_100(gateway, fake):
    batch = items(250)
    results = gateway.send_many(batch)

    assert batches(fake) == [100, 100, 50] and fake.calls("send/bulk") == []
    assert fake.calls("send/likeToLike")[0].json["mobiles"][0] == "09120000001"
    by_id = {m.message_id: m for m in fake.messages}
    for (_, receptor, text), result in zip(batch, results, strict=True):
        sent = by_id[int(result.gateway_id)]
        assert (sent.mobile, sent.text, sent.line) == (to_smsir(receptor), text, DEFAULT_LINE)
        assert (result.status, result.cost) == (1, None)  # no Rial rate configured


def test_costs_are_in_rial_once_the_credit_unit_is_known(fake):
    gateway = gateway_for(fake, rial_per_credit=1_500)
    short, long = gateway.send_many([(1, "+989121111111", "Hi"), (2, "+989122222222", "س" * 100)])
    assert (short.cost, long.cost) == (1_500, 3_000)  # the pack's cost, split by parts
    assert gateway.credit() == int(fake.credit * 1_500)
    assert gateway_for(fake).credit() is None  # a number in an unknown unit would mislead
    fake.credit = 0
    assert gateway_for(fake).credit() == 0  # but empty is empty: a paused store stays paused


def test_a_lone_message_goes_out_through_send_bulk(gateway, fake):
    [result] = gateway.send_many(items(1))
    assert fake.calls("send/likeToLike") == [] and len(fake.calls("send/bulk")) == 1
    assert result.gateway_id == str(fake.messages[0].message_id)


def test_without_a_line_the_accounts_first_line_is_used(fake):
    fake.lines = ["30001111", DEFAULT_LINE]
    gateway = gateway_for(fake, sender=None)
    gateway.send_many(items(2))
    gateway.send_many(items(2, first=3))
    assert {m.line for m in fake.messages} == {"30001111"} and len(fake.calls("line")) == 1


@pytest.mark.parametrize(("trap", "code"), [("invalid_mobiles", 104), ("blacklist", 115)])
def test_a_batch_refused_for_one_number_is_sent_one_by_one(gateway, fake, trap, code):
    batch = items(4)
    getattr(fake, trap).add(batch[2][1][-10:])
    results = gateway.send_many(batch)

    assert batches(fake) == [4] and len(fake.calls("send/bulk")) == 4
    refused = results[2]
    assert isinstance(refused, GatewayError)
    assert (refused.kind, refused.code, refused.ambiguous) == (ErrorKind.RECIPIENT, code, False)
    assert refused.blacklisted == (code == 115)
    assert [isinstance(r, SendResult) for r in results] == [True, True, False, True]
    assert len(fake.messages) == 3


@pytest.mark.parametrize(("code", "kind"), [(20, ErrorKind.RETRY), (0, ErrorKind.RETRY),
                                            (102, ErrorKind.STORE), (12, ErrorKind.STORE)])
def test_a_batch_refused_for_now_or_for_the_account_fails_every_message_alike(gateway, fake,
                                                                               code, kind):
    fake.fail_next("send/likeToLike", code)
    results = errors(gateway.send_many(items(3)))
    assert [(r.kind, r.code, r.ambiguous) for r in results] == [(kind, code, False)] * 3
    assert fake.calls("send/bulk") == [] and fake.messages == []


def test_after_a_store_error_the_remaining_batches_are_not_tried(gateway, fake):
    fake.credit = Decimal(0)
    results = errors(gateway.send_many(items(250)))
    assert batches(fake) == [100]
    assert {(r.kind, r.code) for r in results} == {(ErrorKind.STORE, 102)}


# -- lost answers: found in the outbox, or never sent again -------------------------------------

def test_gateway_cannot_prove_absence():
    assert SmsIrGateway.knows_absence is False


def test_a_batch_processed_but_unanswered_is_confirmed_from_the_outbox(gateway, fake):
    fake.drop_next("send/likeToLike", after_work=True)
    results = gateway.send_many(items(3))

    assert batches(fake) == [3] and len(fake.messages) == 3
    assert {r.note for r in results} == {CONFIRMED_AFTER_LOST_ANSWER}
    by_text = {m.text: str(m.message_id) for m in fake.messages}
    assert [r.gateway_id for r in results] == [by_text[t] for _, _, t in items(3)]


def test_a_batch_lost_before_the_work_is_left_unknown_and_not_resent(gateway, fake):
    """The outbox cannot prove a message was not taken: a merchant would rather miss a
    reminder than pay for it twice."""
    fake.drop_next("send/likeToLike")
    results = errors(gateway.send_many(items(3)))
    assert all(r.ambiguous and r.kind == ErrorKind.RETRY for r in results)
    assert batches(fake) == [3] and len(fake.calls("send/live")) == 1
    assert fake.messages == []


def test_a_batch_that_timed_out_is_not_offered_again(fake):
    gateway = gateway_for(fake, read_timeout=0.5)
    fake.stall("send/likeToLike", 30)  # held without taking anything; released on stop()
    results = errors(gateway.send_many(items(3)))
    assert all(r.ambiguous and r.timed_out for r in results)
    assert batches(fake) == [3] and fake.messages == []


def test_when_the_outbox_cannot_be_read_nothing_is_resent(gateway, fake):
    fake.drop_next("send/likeToLike", after_work=True)
    fake.fail_next("send/live", 502, raw_body="<html>502</html>", times=gateway.QUERY_TRIES)
    results = errors(gateway.send_many(items(3)))
    assert all(r.ambiguous for r in results)
    assert len(fake.calls("send/live")) == gateway.QUERY_TRIES and batches(fake) == [3]
    assert len(gateway.accepted(items(3))) == 3  # the engine's next question finds them


def test_an_outbox_question_answered_by_a_passing_error_is_asked_again_at_once(gateway, fake):
    fake.drop_next("send/likeToLike", after_work=True)
    fake.fail_next("send/live", 20)
    results = gateway.send_many(items(3))
    assert {r.note for r in results} == {CONFIRMED_AFTER_LOST_ANSWER}
    assert len(fake.calls("send/live")) == 2


def test_fewer_ids_than_messages_are_matched_through_the_outbox(gateway, fake):
    """If SMS.ir leaves blacklisted numbers out of a pack (unconfirmed), the ids no longer
    say whose is whose: the outbox does, and the number left out stays unknown."""
    fake.blacklist_mode = "skip"
    batch = items(3)
    fake.blacklist.add(batch[1][1][-10:])
    taken, skipped, also_taken = gateway.send_many(batch)
    assert taken.note == also_taken.note == CONFIRMED_AFTER_LOST_ANSWER
    assert isinstance(skipped, GatewayError) and skipped.ambiguous
    assert batches(fake) == [3] and len(fake.messages) == 2


def test_accepted_gives_each_item_a_message_of_its_own(gateway, fake):
    twice = [(1, "+989121111111", "سبدت منتظره"), (2, "+989121111111", "سبدت منتظره")]
    gateway.send_many(twice[:1])
    found = gateway.accepted(twice + [(3, "+989122222222", "سبدت منتظره")])
    assert list(found) == [1] and found[1].gateway_id == str(fake.messages[0].message_id)
    gateway.send_many(twice[1:])
    assert {r.gateway_id for r in gateway.accepted(twice).values()} == {
        str(m.message_id) for m in fake.messages}


def test_accepted_sees_a_text_smsir_extended_with_an_opt_out_suffix(gateway, fake):
    [sent] = gateway.send_many([(1, "+989121111111", "تخفیف ویژه")])
    fake.messages[0].text += "\nلغو۱۱"
    assert gateway.accepted([(1, "+989121111111", "تخفیف  ویژه")])[1].gateway_id == \
        sent.gateway_id


def test_accepted_reads_the_outbox_page_by_page(gateway, fake):
    gateway.send_many(items(150))
    found = gateway.accepted(items(1))  # the oldest: on the second page, newest first
    assert list(found) == [1]
    assert [c.query["pageNumber"] for c in fake.calls("send/live")] == [["1"], ["2"]]


# -- delivery -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("state", "ours"), sorted(DELIVERY_STATES.items(),
                                                   key=lambda kv: kv[0] or 0))
def test_each_delivery_state_maps_to_our_code(gateway, fake, state, ours):
    [sent] = gateway.send_many(items(1))
    if state is not None:
        fake.set_outcome(state)
    assert gateway.statuses([sent.gateway_id]) == {sent.gateway_id: ours}


def test_states_on_the_way_are_never_final():
    final = {6, 10, 11, 13, 14, 100}
    assert {DELIVERY_STATES[s] for s in (None, 3, 5, 8)}.isdisjoint(final)
    assert {DELIVERY_STATES[s] for s in (1, 2, 4, 6, 7)} <= final


@pytest.mark.parametrize("answer", ["111", "null"])
def test_an_unknown_id_is_100(gateway, fake, answer):
    fake.unknown_id_answer = answer
    assert gateway.statuses(["4242", "not-an-id"]) == {"4242": 100, "not-an-id": 100}


def test_statuses_move_from_pending_to_final_and_skip_ids_asked_in_vain(gateway, fake):
    fake.pending_state = 5
    fake.set_outcome(1, after_polls=1)
    a, b = gateway.send_many(items(2))
    assert gateway.statuses([a.gateway_id, b.gateway_id]) == {a.gateway_id: 5, b.gateway_id: 5}
    fake.fail_next("send/{messageId}", 20)
    assert len(gateway.statuses([a.gateway_id, b.gateway_id])) == 1  # the other: next round
    fake.fail_next("send/{messageId}", 11)
    with pytest.raises(GatewayError) as refused:
        gateway.statuses([a.gateway_id])
    assert refused.value.kind == ErrorKind.STORE


def test_a_blacklisted_number_smsir_takes_is_reported_14(gateway, fake):
    fake.blacklist_mode = "take"
    fake.blacklist.add("9121111111")
    [sent] = gateway.send_many([(1, "+989121111111", "تخفیف")])
    assert gateway.statuses([sent.gateway_id]) == {sent.gateway_id: 14}


# -- templates ----------------------------------------------------------------------------------

def test_lookups_send_the_template_id_and_its_parameters(gateway, fake):
    fake.templates[500] = "#NAME# عزیز، سبدت منتظرته: #LINK#"
    lookup = Lookup("500", {"NAME": "علی", "LINK": "s.example/AbCd"})
    [result] = gateway.lookup_many([(7, "+989121111111", lookup)])

    [sent] = fake.messages
    assert sent.text == "علی عزیز، سبدت منتظرته: s.example/AbCd" and sent.template_id == 500
    assert sent.mobile == "09121111111" and result.gateway_id == str(sent.message_id)


def test_lookups_the_template_cannot_carry_fail_before_any_call(gateway, fake):
    too_long = Lookup("123456", {"Code": "x" * 26})
    named = Lookup("cart", {"Code": "1"})
    long_error, name_error = errors(gateway.lookup_many([(1, "+989121111111", too_long),
                                                         (2, "+989121111111", named)]))
    assert (long_error.kind, long_error.code) == (ErrorKind.RECIPIENT, 114)
    assert "25" in str(long_error) and name_error.kind == ErrorKind.INVALID
    assert fake.requests == []


def test_a_lookup_whose_answer_is_lost_comes_back_ambiguous(fake):
    fake.delay("send/verify", 30)
    gateway = gateway_for(fake, read_timeout=0.5)
    [error] = gateway.lookup_many([(7, "+989121111111", Lookup("123456", {"Code": "1"}))])
    assert isinstance(error, GatewayError) and error.ambiguous
    assert len(fake.messages) == 1  # it did go out: the caller must not send it again


# -- replies ------------------------------------------------------------------------------------

def test_replies_come_once_in_e164_oldest_first(gateway, fake):
    fake.push_inbound("09121111111", "۱۱", received_at=1_700_000_100)
    fake.push_inbound("09352222222", "لغو", line="30009999", received_at=1_700_000_000)

    replies = gateway.receive()
    assert [(r.sender, r.text, r.line) for r in replies] == [
        ("+989352222222", "لغو", "30009999"), ("+989121111111", "۱۱", DEFAULT_LINE)]
    assert gateway.receive() == []


def test_replies_whose_answer_was_lost_are_read_again_from_todays_inbox(gateway, fake):
    gateway.receive()  # the first read of a process also reads today's replies
    fake.push_inbound("09121111111", "۱۱")
    fake.drop_next("receive/latest", after_work=True)  # marked read, answer lost
    with pytest.raises(GatewayError) as lost:
        gateway.receive()
    assert lost.value.ambiguous

    [reply] = gateway.receive()
    assert reply.text == "۱۱" and len(fake.calls("receive/live")) == 2
    fake.push_inbound("09121111111", "۱۲")
    assert [r.text for r in gateway.receive()] == ["۱۲"]


def test_a_reply_has_the_same_id_from_either_read(gateway, fake):
    fake.push_inbound("09121111111", "۱۱")
    [first] = gateway_for(fake).receive()  # read from receive/live and receive/latest
    [again] = gateway_for(fake).receive()  # a new process: receive/live only
    assert first.gateway_id == again.gateway_id
