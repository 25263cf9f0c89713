"""GhasedakGateway against the fake web service over real HTTP: batching with
SendPairToPairSMS, what a failed batch means for each message, why a lost answer is never sent
again, template sends, our delivery codes, replies and the credit."""

import http.client
import json

import pytest

from app.messaging.fake_ghasedak import DEFAULT_LINE, FakeGhasedak
from app.messaging.gateway import (
    CONFIRMED_AFTER_LOST_ANSWER,
    FINAL_STATUSES,
    ErrorKind,
    GatewayError,
    Lookup,
    SendResult,
)
from app.messaging.ghasedak import GhasedakClient
from app.messaging.ghasedak_gateway import (
    DOCUMENTED_STATUS_CODES,
    STATUS_CODES,
    GhasedakGateway,
    local_number,
)

KEY = "ghasedak-gateway-test-key-0123"


@pytest.fixture
def fake():
    with FakeGhasedak(api_key=KEY) as server:
        yield server


def gateway_for(fake, *, sender: str | None = DEFAULT_LINE, read_timeout: float = 5.0,
                **kwargs) -> GhasedakGateway:
    client = GhasedakClient(KEY, base_url=fake.base_url, connect_timeout=2,
                            read_timeout=read_timeout)
    return GhasedakGateway(client, sender=sender, **kwargs)


@pytest.fixture
def gateway(fake):
    return gateway_for(fake)


def items(n: int, first: int = 1) -> list[tuple[int, str, str]]:
    return [(i, f"+98912{i:07d}", f"سلام {i}") for i in range(first, first + n)]


def batches(fake) -> list[list[str]]:
    return [[i["clientReferenceId"] for i in c.body["items"]]
            for c in fake.calls("SendPairToPairSMS")]


def by_reference(fake) -> dict[str, object]:
    return {m.reference: m for m in fake.messages}


# -- numbers ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("ours", "theirs"), [
    ("+989121234567", "09121234567"), ("989121234567", "09121234567"),
    ("00989121234567", "09121234567"), ("09121234567", "09121234567"),
    ("+447700900123", "+447700900123"),  # not an Iranian mobile: left for Ghasedak to judge
])
def test_numbers_go_to_ghasedak_as_09(ours, theirs):
    assert local_number(ours) == theirs


# -- sending ------------------------------------------------------------------------------------

def test_many_messages_go_out_in_pair_to_pair_calls_of_at_most_100(gateway, fake):
    batch = items(250)
    results = gateway.send_many(batch)

    assert [len(b) for b in batches(fake)] == [100, 100, 50]
    assert [r for b in batches(fake) for r in b] == [str(localid) for localid, _, _ in batch]
    at_ghasedak = by_reference(fake)
    assert len(at_ghasedak) == 250 and fake.calls("SendSingleSMS") == []
    for (localid, receptor, text), result in zip(batch, results, strict=True):
        sent = at_ghasedak[str(localid)]
        assert (sent.receptor, sent.message, sent.line_number) == (
            local_number(receptor), text, DEFAULT_LINE)
        assert result == SendResult(gateway_id=sent.message_id, cost=sent.cost, status=1)


def test_a_lone_message_goes_out_through_send_single(gateway, fake):
    [result] = gateway.send_many(items(1))
    [call] = fake.calls("SendSingleSMS")
    assert fake.calls("SendPairToPairSMS") == []
    assert call.body["clientReferenceId"] == "1" and call.body["receptor"] == "09120000001"
    assert result.gateway_id == fake.messages[0].message_id


def test_without_a_sender_line_ghasedak_picks_the_line_per_message(fake):
    results = gateway_for(fake, sender=None).send_many(items(3))
    assert fake.calls("SendPairToPairSMS") == [] and len(fake.calls("SendSingleSMS")) == 3
    assert all("lineNumber" not in c.body for c in fake.calls("SendSingleSMS"))
    assert all(isinstance(r, SendResult) for r in results)


def test_a_batch_refused_for_one_bad_number_is_sent_one_by_one(gateway, fake):
    batch = items(4)
    fake.invalid_receptors.add(local_number(batch[2][1]))
    results = gateway.send_many(batch)

    assert len(fake.calls("SendPairToPairSMS")) == 1 and len(fake.calls("SendSingleSMS")) == 4
    refused = results[2]
    assert isinstance(refused, GatewayError)
    # Refused alone after its batch was: the number's fault, whatever code Ghasedak uses.
    assert (refused.kind, refused.code, refused.ambiguous) == (ErrorKind.RECIPIENT, 400, False)
    assert [isinstance(r, SendResult) for r in results] == [True, True, False, True]
    assert sorted(by_reference(fake)) == ["1", "2", "4"]


def test_a_batch_refused_for_a_receptor_code_is_sent_one_by_one_too(gateway, fake):
    batch = items(3)
    fake.fail_next("SendPairToPairSMS", 422)
    fake.fail_next("SendSingleSMS", 422, receptor=local_number(batch[0][1]))
    results = gateway.send_many(batch)
    assert (results[0].kind, results[0].code) == (ErrorKind.RECIPIENT, 422)
    assert all(isinstance(r, SendResult) for r in results[1:])


def test_a_lone_send_refused_as_invalid_stays_invalid(gateway, fake):
    fake.invalid_receptors.add("09120000001")
    with pytest.raises(GatewayError) as refused:
        gateway.send(localid=1, receptor="+989120000001", text="Hi")
    assert (refused.value.kind, refused.value.code) == (ErrorKind.INVALID, 400)


@pytest.mark.parametrize(("code", "kind"), [(429, ErrorKind.RETRY), (503, ErrorKind.RETRY),
                                            (401, ErrorKind.STORE), (403, ErrorKind.STORE)])
def test_a_batch_refused_for_now_or_for_the_account_fails_every_message_alike(gateway, fake,
                                                                               code, kind):
    fake.fail_next("SendPairToPairSMS", code)
    results = gateway.send_many(items(3))
    assert [(r.kind, r.code, r.ambiguous) for r in results] == [(kind, code, False)] * 3
    assert fake.calls("SendSingleSMS") == [] and fake.messages == []


def test_after_a_store_error_the_remaining_batches_are_not_tried(gateway, fake):
    fake.credit = 0
    results = gateway.send_many(items(150))
    assert len(fake.calls("SendPairToPairSMS")) == 1
    assert {(r.kind, r.code) for r in results} == {(ErrorKind.STORE, 402)}


def test_ghasedak_does_not_know_absence(gateway):
    assert GhasedakGateway.knows_absence is False and gateway.knows_absence is False


def test_a_batch_processed_but_unanswered_is_confirmed_by_reference(gateway, fake):
    fake.drop_next("SendPairToPairSMS", after_work=True)
    results = gateway.send_many(items(3))
    assert len(fake.calls("SendPairToPairSMS")) == 1
    assert {r.note for r in results} == {CONFIRMED_AFTER_LOST_ANSWER}
    assert [r.gateway_id for r in results] == [by_reference(fake)[str(i)].message_id
                                               for i in (1, 2, 3)]
    assert fake.calls("CheckSmsStatus")[0].query == {"Ids": ["1,2,3"], "Type": ["2"]}


def test_a_lost_batch_keeps_what_ghasedak_took_and_never_resends_the_rest(gateway, fake):
    """Absent from the lookup is not proof of absence: the rest stay ambiguous, unsent."""
    gateway.send_many(items(1))  # message 1 went out earlier (say, a previous attempt)
    fake.drop_next("SendPairToPairSMS")  # this batch's connection dies before Ghasedak acts
    results = gateway.send_many(items(3))

    assert batches(fake) == [["1", "2", "3"]]
    assert results[0].note == CONFIRMED_AFTER_LOST_ANSWER
    assert all(isinstance(r, GatewayError) and r.ambiguous and r.kind == ErrorKind.RETRY
               for r in results[1:])
    assert [fake.sends_with_reference(str(i)) for i in (1, 2, 3)] == [1, 0, 0]


def test_a_gateway_that_knew_absence_would_offer_the_rest_again(fake):
    """The resend path exists for a Ghasedak whose lookups were proven authoritative."""
    gateway = gateway_for(fake)
    gateway.knows_absence = True
    fake.drop_next("SendPairToPairSMS")
    results = gateway.send_many(items(3))
    assert batches(fake) == [["1", "2", "3"]] * 2
    assert all(isinstance(r, SendResult) and r.note is None for r in results)


def test_when_ghasedak_cannot_say_what_it_took_nothing_is_resent(gateway, fake):
    fake.drop_next("SendPairToPairSMS", after_work=True)
    fake.fail_next("CheckSmsStatus", 502, raw_body="<html>502</html>", times=gateway.QUERY_TRIES)
    results = gateway.send_many(items(3))
    assert all(isinstance(r, GatewayError) and r.ambiguous for r in results)
    assert len(fake.calls("SendPairToPairSMS")) == 1
    assert len(fake.calls("CheckSmsStatus")) == gateway.QUERY_TRIES
    assert sorted(gateway.accepted(items(3))) == [1, 2, 3]  # the engine asks again later


def test_a_question_answered_by_a_passing_error_is_asked_again_at_once(gateway, fake):
    fake.drop_next("SendPairToPairSMS", after_work=True)
    fake.drop_next("CheckSmsStatus")
    results = gateway.send_many(items(3))
    assert {r.note for r in results} == {CONFIRMED_AFTER_LOST_ANSWER}
    assert len(fake.calls("CheckSmsStatus")) == 2


def test_a_timed_out_batch_is_looked_up_once_and_not_offered_again(fake):
    gateway = gateway_for(fake, read_timeout=0.5)
    fake.stall("SendPairToPairSMS", 30)  # held without taking anything; released on stop()
    results = gateway.send_many(items(3))
    assert all(isinstance(r, GatewayError) and r.ambiguous and r.timed_out for r in results)
    assert len(fake.calls("SendPairToPairSMS")) == 1 and len(fake.calls("CheckSmsStatus")) == 1
    assert fake.messages == []


def test_an_answer_missing_messages_is_settled_by_reference(gateway, fake):
    raw = {"isSuccess": True, "statusCode": 200, "message": "", "data": {"items": []}}
    fake.fail_next("SendPairToPairSMS", 200, raw_body=json.dumps(raw))  # taken? it won't say
    results = gateway.send_many(items(2))
    assert all(isinstance(r, GatewayError) and r.ambiguous for r in results)
    assert len(fake.calls("CheckSmsStatus")) == 1 and fake.messages == []


@pytest.mark.parametrize("dedupe", [False, True])
def test_accepted_finds_a_reference_once_whether_or_not_ghasedak_dedupes(dedupe):
    with FakeGhasedak(api_key=KEY, dedupe_references=dedupe) as fake:
        gateway = gateway_for(fake)
        gateway.send(localid=9, receptor="+989121111111", text="Hi")
        gateway.send(localid=9, receptor="+989121111111", text="Hi")  # a duplicate, at worst
        found = gateway.accepted([(9, "+989121111111", "Hi"), (10, "+989122222222", "Hi")])
        first = fake.messages[0]
    assert list(found) == [9]
    assert (found[9].gateway_id, found[9].cost, found[9].status) == (first.message_id,
                                                                    first.cost, 1)


def test_accepted_ignores_a_reference_on_another_number(gateway, fake):
    gateway.send(localid=5, receptor="+989121111111", text="Hi")
    assert gateway.accepted([(5, "+989129999999", "Hi")]) == {}


def test_accepted_asks_100_references_at_a_time(gateway, fake):
    gateway.accepted(items(150))
    assert [len(c.query["Ids"][0].split(",")) for c in fake.calls("CheckSmsStatus")] == [100, 50]


# -- templates ----------------------------------------------------------------------------------

def test_lookups_send_the_template_and_inputs_and_report_cost_and_parts(gateway, fake):
    fake.templates["cart"] = "%Name% عزیز، سبد خریدت در فروشگاه ما منتظرته! تکمیلش کن: %Link%"
    lookup = Lookup("cart", {"Name": "علی", "Link": "https://s.example/AbCd123"})
    [result] = gateway.lookup_many([(7, "+989121111111", lookup)])

    [sent] = fake.messages
    assert (sent.template, sent.inputs, sent.receptor, sent.reference) == (
        "cart", lookup.tokens, "09121111111", "7")
    assert (result.gateway_id, result.cost, result.parts) == (sent.message_id, sent.cost, 2)


@pytest.mark.parametrize(("tokens", "says"), [
    ({}, "at least one"),
    ({f"P{i}": "x" for i in range(11)}, "at most 10"),
    ({"Name": "  "}, "empty input"),
])
def test_lookups_ghasedak_would_refuse_are_refused_first_saying_why(gateway, fake, tokens, says):
    [error] = gateway.lookup_many([(7, "+989121111111", Lookup("cart", tokens))])
    assert isinstance(error, GatewayError) and error.kind == ErrorKind.INVALID
    assert says in str(error) and fake.requests == []


def test_many_lookups_go_side_by_side_one_per_call(gateway, fake):
    results = gateway.lookup_many([(i, f"+98912000000{i}", Lookup("verify", {"Code": str(i)}))
                                   for i in range(1, 6)])
    assert len(fake.calls("SendOtpSMS")) == 5 and all(isinstance(r, SendResult) for r in results)
    assert sorted(m.message for m in fake.messages) == [
        f"کد تایید شما {i} می باشد" for i in range(1, 6)]


def test_a_lookup_whose_answer_is_lost_comes_back_ambiguous(fake):
    fake.delay("SendOtpSMS", 30)
    gateway = gateway_for(fake, read_timeout=0.5)
    [error] = gateway.lookup_many([(7, "+989121111111", Lookup("verify", {"Code": "1"}))])
    assert isinstance(error, GatewayError) and error.ambiguous
    assert len(fake.messages) == 1  # it did go out: the caller must not send it again


# -- delivery codes -----------------------------------------------------------------------------

# Every Ghasedak state (python SDK numbering) → ours; pending ones are never final.
@pytest.mark.parametrize(("theirs", "ours"), [
    (0, 1), (1, 6), (2, 1), (3, 1), (4, 4), (5, 6), (6, 6), (7, 13), (8, 14), (9, 1),
    (10, 4), (11, 5), (12, 14), (13, 11), (14, 10), (15, 6), (16, 6), (17, 1),
])
def test_each_ghasedak_state_has_our_code(fake, theirs, ours):
    gateway = gateway_for(fake)
    sent = gateway.send(localid=1, receptor="+989121111111", text="Hi")
    fake.set_outcome(theirs)
    assert gateway.statuses([sent.gateway_id]) == {sent.gateway_id: ours}
    assert STATUS_CODES[theirs] == ours


@pytest.mark.parametrize(("theirs", "ours"), [
    (0, 1), (1, 13), (2, 14), (3, 4), (4, 11), (5, 10), (6, 6), (7, 6), (8, 1),
])
def test_each_documented_state_has_our_code_in_the_other_table(fake, theirs, ours):
    gateway = gateway_for(fake, status_codes=DOCUMENTED_STATUS_CODES)
    sent = gateway.send(localid=1, receptor="+989121111111", text="Hi")
    fake.set_outcome(theirs)
    assert gateway.statuses([sent.gateway_id]) == {sent.gateway_id: ours}


def test_every_table_covers_its_states_and_pending_ones_are_not_final():
    assert sorted(STATUS_CODES) == list(range(18)) and sorted(DOCUMENTED_STATUS_CODES) == list(
        range(9))
    pending = {0, 2, 3, 4, 9, 10, 11, 17}
    assert not {STATUS_CODES[c] for c in pending} & FINAL_STATUSES
    assert {STATUS_CODES[c] for c in set(STATUS_CODES) - pending} <= FINAL_STATUSES


def test_statuses_poll_until_final_and_leave_out_ids_ghasedak_does_not_list(gateway, fake):
    fake.set_outcome(14, after_polls=1)
    fake.blacklisted.add("09352222222")
    ali = gateway.send(localid=1, receptor="+989121111111", text="Hi")
    sara = gateway.send(localid=2, receptor="+989352222222", text="Hi")

    assert gateway.statuses([ali.gateway_id, sara.gateway_id, "999"]) == {
        ali.gateway_id: 1, sara.gateway_id: 14}
    assert gateway.statuses([ali.gateway_id]) == {ali.gateway_id: 10}


def test_a_state_not_in_the_table_stays_pending(gateway, fake):
    sent = gateway.send(localid=1, receptor="+989121111111", text="Hi")
    fake.set_outcome(99)
    assert gateway.statuses([sent.gateway_id]) == {sent.gateway_id: 1}


def test_statuses_are_asked_100_ids_at_a_time(gateway, fake):
    assert gateway.statuses([str(i) for i in range(230)]) == {}
    assert len(fake.calls("CheckSmsStatus")) == 3


# -- replies and credit -------------------------------------------------------------------------

def test_replies_come_once_and_a_lost_read_is_recovered_from_the_read_ones(gateway, fake):
    first = fake.push_inbound("09121111111", "۱۱")
    [reply] = gateway.receive()
    assert (reply.gateway_id, reply.sender, reply.line, reply.text) == (
        str(first), "09121111111", DEFAULT_LINE, "۱۱")
    assert reply.received_at.utcoffset() is not None
    assert gateway.receive() == []  # the read ones are read again only every few minutes

    second = fake.push_inbound("09122222222", "لغو")
    fake.drop_next("GetReceivedSmses", after_work=True)  # marked read, answer lost
    with pytest.raises(GatewayError) as lost:
        gateway.receive()
    assert lost.value.ambiguous
    assert [r.gateway_id for r in gateway.receive()] == [str(first), str(second)]


def test_without_a_line_there_are_no_replies(fake):
    fake.push_inbound("09121111111", "۱۱")
    assert gateway_for(fake, sender=None).receive() == []
    assert fake.calls("GetReceivedSmses") == []


def test_credit_is_in_rial(gateway, fake):
    fake.credit = 123_456
    assert gateway.credit() == 123_456


def test_a_refused_key_is_a_store_error(fake):
    fake.api_key = "another"
    with pytest.raises(GatewayError) as refused:
        gateway_for(fake).credit()
    assert (refused.value.kind, refused.value.code) == (ErrorKind.STORE, 401)


def test_the_fake_keeps_connections_open_between_calls(fake):
    conn = http.client.HTTPConnection("127.0.0.1", int(fake.root_url.rsplit(":", 1)[1]))
    sockets = []
    for _ in range(3):
        conn.request("GET", "/Rest/api/v1/WebService/GetAccountInformation",
                     headers={"ApiKey": KEY})
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["isSuccess"] is True
        sockets.append(conn.sock)
    conn.close()
    assert sockets[0] is not None and sockets.count(sockets[0]) == 3
