"""IpPanelGateway against the fake IPPanel over real HTTP: peer_to_peer batches, what a failed
batch means for each message, the outbox search after a lost answer (and why what it does not
find is never resent), our delivery codes, patterns, and the inbox cursor."""

import http.client
import json

import pytest

from app.messaging.fake_ippanel import DEFAULT_LINE, FakeIpPanel, FakePattern
from app.messaging.gateway import (
    CONFIRMED_AFTER_LOST_ANSWER,
    ErrorKind,
    GatewayError,
    Lookup,
    SendResult,
)
from app.messaging.ippanel import IpPanelClient, IpPanelError
from app.messaging.ippanel_gateway import DELIVERY_CODES, IpPanelGateway

KEY = "gateway-test-key-0123"


@pytest.fixture
def fake():
    with FakeIpPanel(api_key=KEY) as server:
        yield server


def gateway_for(fake, *, sender: str | None = DEFAULT_LINE, read_timeout: float = 5.0,
                **kwargs) -> IpPanelGateway:
    client = IpPanelClient(KEY, base_url=fake.base_url, connect_timeout=2,
                           read_timeout=read_timeout)
    return IpPanelGateway(client, sender=sender, **kwargs)


@pytest.fixture
def gateway(fake):
    return gateway_for(fake)


def items(n: int, first: int = 1) -> list[tuple[int, str, str]]:
    return [(i, f"+98912{i:07d}", f"سلام {i}") for i in range(first, first + n)]


def batches(fake) -> list[int]:
    return [len(c.body["params"]) for c in fake.calls("peer_to_peer")]


def test_many_messages_go_out_in_peer_to_peer_calls_of_at_most_100(gateway, fake):
    batch = items(250)
    results = gateway.send_many(batch)

    assert batches(fake) == [100, 100, 50] and fake.calls("webservice") == []
    assert len(fake.bulks) == 250
    for (_, receptor, text), bulk, result in zip(batch, fake.bulks, results, strict=True):
        assert ([r.receptor for r in bulk.recipients], bulk.message, bulk.sender) == (
            [receptor], text, DEFAULT_LINE)
        assert result == SendResult(gateway_id=str(bulk.outbox_id), status=1)


def test_numbers_and_the_line_are_sent_in_e164_whatever_form_they_come_in(fake):
    gateway = gateway_for(fake, sender="3000505")
    gateway.send_many([(1, "09121111111", "a"), (2, "989352222222", "b")])
    assert [b.recipients[0].receptor for b in fake.bulks] == ["+989121111111", "+989352222222"]
    assert fake.calls("peer_to_peer")[0].body["from_number"] == DEFAULT_LINE


def test_a_lone_message_goes_out_as_a_webservice_send(gateway, fake):
    [result] = gateway.send_many(items(1))
    assert fake.calls("peer_to_peer") == [] and len(fake.calls("webservice")) == 1
    assert result.gateway_id == str(fake.bulks[0].outbox_id)


def test_without_a_sender_line_nothing_is_sent_and_the_store_must_act(fake):
    gateway = gateway_for(fake, sender=None)
    results = gateway.send_many(items(3))
    assert {(r.kind, r.ambiguous) for r in results} == {(ErrorKind.STORE, False)}
    with pytest.raises(GatewayError):
        gateway.send(localid=1, receptor="+989121111111", text="x")
    assert fake.requests == [] and gateway.receive() == [] and gateway.accepted(items(1)) == {}


def test_a_batch_refused_for_one_bad_number_is_sent_one_by_one(gateway, fake):
    batch = items(4)
    fake.invalid_receptors.add(batch[2][1])
    results = gateway.send_many(batch)

    assert len(fake.calls("peer_to_peer")) == 1 and len(fake.calls("webservice")) == 4
    refused = results[2]
    assert isinstance(refused, GatewayError) and not isinstance(refused, IpPanelError)
    assert (refused.kind, refused.code, refused.ambiguous) == (ErrorKind.RECIPIENT, 422, False)
    assert [isinstance(r, SendResult) for r in results] == [True, True, False, True]
    assert len(fake.bulks) == 3


def test_a_number_ippanel_takes_and_then_finds_invalid_fails_in_its_report(gateway, fake):
    fake.invalid_mode = "accept"  # UNCONFIRMED: taken, the bulk left in state 4
    batch = items(2)
    fake.invalid_receptors.add(batch[1][1])
    results = gateway.send_many(batch)
    assert all(isinstance(r, SendResult) for r in results)
    assert gateway.statuses([results[1].gateway_id]) == {results[1].gateway_id: 6}


@pytest.mark.parametrize(("status", "errors", "kind"), [
    (429, None, ErrorKind.RETRY), (503, None, ErrorKind.RETRY), (401, None, ErrorKind.STORE),
    (422, {"from_number": ["شماره فرستنده متعلق به شما نیست"]}, ErrorKind.STORE)])
def test_a_batch_refused_for_now_or_for_the_account_fails_every_message_alike(gateway, fake,
                                                                               status, errors,
                                                                               kind):
    fake.fail_next("peer_to_peer", status, errors=errors)
    results = gateway.send_many(items(3))
    assert [(r.kind, r.code, r.ambiguous) for r in results] == [(kind, status, False)] * 3
    assert fake.calls("webservice") == [] and fake.bulks == []  # not tried one by one


def test_after_a_store_error_the_remaining_batches_are_not_tried(gateway, fake):
    fake.credit = 0
    results = gateway.send_many(items(150))
    assert len(fake.calls("peer_to_peer")) == 1
    assert {(r.kind, r.code) for r in results} == {(ErrorKind.STORE, 422)}


def test_a_batch_taken_but_unanswered_is_found_in_the_outbox_and_not_resent(gateway, fake):
    fake.drop_next("peer_to_peer", after_work=True)
    results = gateway.send_many(items(3))

    assert len(fake.calls("peer_to_peer")) == 1 and len(fake.bulks) == 3
    assert {r.note for r in results} == {CONFIRMED_AFTER_LOST_ANSWER}
    assert [r.gateway_id for r in results] == [str(b.outbox_id) for b in fake.bulks]
    assert sorted(c.body["filters"]["message"] for c in fake.calls("new_list")) == [
        "سلام 1", "سلام 2", "سلام 3"]
    assert {c.body["filters"]["number"] for c in fake.calls("new_list")} == {DEFAULT_LINE}


def test_a_batch_lost_before_the_work_is_left_ambiguous_not_resent(gateway, fake):
    """The outbox not showing a message proves nothing (knows_absence is False): the engine
    marks these unknown rather than risk a second SMS the merchant pays for."""
    assert IpPanelGateway.knows_absence is False
    fake.drop_next("peer_to_peer")
    results = gateway.send_many(items(3))
    assert all(isinstance(r, GatewayError) and r.ambiguous and r.kind == ErrorKind.RETRY
               for r in results)
    assert len(fake.calls("peer_to_peer")) == 1 and fake.bulks == []


def test_a_message_the_outbox_does_not_list_yet_is_not_sent_twice(gateway, fake):
    fake.list_outbox = False
    fake.drop_next("peer_to_peer", after_work=True)
    results = gateway.send_many(items(3))
    assert all(isinstance(r, GatewayError) and r.ambiguous for r in results)
    assert [len(fake.sent_to(receptor)) for _, receptor, _ in items(3)] == [1, 1, 1]


def test_some_found_some_not_after_a_lost_answer(gateway, fake):
    gateway.send_many(items(1))  # message 1 went out earlier (say, by a previous attempt)
    fake.drop_next("peer_to_peer")
    results = gateway.send_many(items(3))
    assert results[0].note == CONFIRMED_AFTER_LOST_ANSWER
    assert all(isinstance(r, GatewayError) and r.ambiguous for r in results[1:])
    assert len(fake.bulks) == 1


def test_a_batch_that_timed_out_is_searched_for_and_not_offered_again(fake):
    gateway = gateway_for(fake, read_timeout=0.5)
    fake.stall("peer_to_peer", 30)  # held without taking anything; released on stop()
    results = gateway.send_many(items(3))
    assert all(isinstance(r, GatewayError) and r.ambiguous and r.timed_out for r in results)
    assert len(fake.calls("peer_to_peer")) == 1 and fake.bulks == []


def test_when_the_outbox_cannot_be_searched_the_error_stays_ambiguous(gateway, fake):
    fake.drop_next("peer_to_peer", after_work=True)
    fake.fail_next("new_list", 502, times=2 * gateway.QUERY_TRIES, raw_body="<html>502</html>")
    results = gateway.send_many(items(2))
    assert all(isinstance(r, GatewayError) and r.ambiguous for r in results)
    assert len(gateway.accepted(items(2))) == 2  # later, the engine's question finds them


def test_an_outbox_search_answered_by_a_passing_error_is_asked_again(gateway, fake):
    fake.drop_next("peer_to_peer", after_work=True)
    fake.fail_next("new_list", 502, raw_body="<html>502</html>")
    results = gateway.send_many(items(2))
    assert {r.note for r in results} == {CONFIRMED_AFTER_LOST_ANSWER}


def test_accepted_tells_identical_messages_and_other_numbers_apart(gateway, fake):
    same = [(1, "+989121111111", "کد ۱۲"), (2, "+989121111111", "کد ۱۲")]
    gateway.send_many(same)
    found = gateway.accepted(same + [(3, "+989352222222", "کد ۱۲")])
    assert sorted(found) == [1, 2]
    assert {found[1].gateway_id, found[2].gateway_id} == {str(b.outbox_id) for b in fake.bulks}
    assert found[1].cost == fake.price_per_part


# -- delivery codes -------------------------------------------------------------------------------

@pytest.mark.parametrize(("row", "ours"), sorted(DELIVERY_CODES.items()))
def test_each_ippanel_state_has_our_code(gateway, fake, row, ours):
    [result] = gateway.send_many(items(1))
    [bulk] = fake.bulks
    kind, value = row
    if kind == "bulk":
        bulk.state_id = value
    else:
        fake.set_outcome(value)
    assert gateway.statuses([result.gateway_id]) == {result.gateway_id: ours}


def test_pending_states_are_never_final_and_finals_are():
    from app.messaging.gateway import FINAL_STATUSES

    pending = {("bulk", 0), ("bulk", 1), ("bulk", 2), ("bulk", 5), ("bulk", 6),
               ("recipient", 0), ("recipient", 1)}
    assert all(DELIVERY_CODES[row] not in FINAL_STATUSES for row in pending)
    assert all(DELIVERY_CODES[row] in FINAL_STATUSES for row in set(DELIVERY_CODES) - pending)


def test_a_message_moves_from_queued_to_delivered(gateway, fake):
    fake.set_outcome(2, after_polls=1)
    fake.blacklisted.add(items(2)[1][1])
    ids = [r.gateway_id for r in gateway.send_many(items(2))]
    assert gateway.statuses(ids) == {ids[0]: 1, ids[1]: 14}
    assert gateway.statuses(ids) == {ids[0]: 10, ids[1]: 14}


@pytest.mark.parametrize("answer", ["404", "empty"])
def test_an_unknown_id_is_100(gateway, fake, answer):
    fake.unknown_bulk = answer
    assert gateway.statuses(["42", "console-7"]) == {"42": 100, "console-7": 100}


def test_statuses_keep_what_could_be_read_and_raise_only_when_nothing_could(gateway, fake):
    ids = [r.gateway_id for r in gateway.send_many(items(2))]
    fake.fail_next("by_bulk", 401)
    assert len(gateway.statuses(ids)) == 1
    fake.fail_next("by_bulk", 401, times=2)
    with pytest.raises(GatewayError) as caught:
        gateway.statuses(ids)
    assert caught.value.kind == ErrorKind.STORE


# -- patterns -------------------------------------------------------------------------------------

@pytest.fixture
def cart(fake):
    fake.patterns["cart"] = FakePattern("%name% عزیز، سبدت منتظره: %link%",
                                        {"name": ("string", 20), "link": ("string", 40)})
    return Lookup("cart", {"name": "علی", "link": "https://s.example/AbCd123"})


def test_lookups_send_the_pattern_once_per_message(gateway, fake, cart):
    results = gateway.lookup_many([(7, "09121111111", cart), (8, "+989352222222", cart)])

    by_number = {b.recipients[0].receptor: b for b in fake.bulks}
    assert [r.gateway_id for r in results] == [str(by_number[n].outbox_id)
                                               for n in ("+989121111111", "+989352222222")]
    assert {b.message for b in fake.bulks} == {"علی عزیز، سبدت منتظره: https://s.example/AbCd123"}
    assert sorted(c.body["recipients"][0] for c in fake.calls("pattern")) == [
        "+989121111111", "+989352222222"]
    assert len(fake.calls("pattern_by_code")) <= 2  # read once, then cached


@pytest.mark.parametrize(("tokens", "why"), [
    ({"name": "علی"}, "missing ['link']"),
    ({"name": "علی", "link": "x", "token2": "y"}, "unknown ['token2']"),
    ({"name": "ع" * 21, "link": "x"}, "%name% takes at most 20 characters, got 21"),
    ({"name": "", "link": "x"}, "%name% is empty"),
])
def test_values_the_pattern_cannot_take_fail_before_any_send(gateway, fake, cart, tokens, why):
    [error] = gateway.lookup_many([(7, "+989121111111", Lookup("cart", tokens))])
    assert isinstance(error, GatewayError) and error.kind == ErrorKind.INVALID
    assert why in str(error)
    assert fake.calls("pattern") == []


def test_an_integer_variable_takes_digits_only(gateway, fake):
    good, bad = gateway.lookup_many([(1, "+989121111111", Lookup("verify-code", {"code": "4821"})),
                                     (2, "+989121111111", Lookup("verify-code", {"code": "48x"}))])
    assert isinstance(good, SendResult) and "must be digits" in str(bad)


def test_a_pattern_that_does_not_exist_or_is_not_approved(gateway, fake):
    fake.patterns["pending"] = FakePattern("%x%", {"x": ("string", 10)}, status="pending")
    missing, pending = gateway.lookup_many([(1, "+989121111111", Lookup("nosuch", {"x": "1"})),
                                            (2, "+989121111111", Lookup("pending", {"x": "1"}))])
    assert (missing.kind, pending.kind) == (ErrorKind.INVALID, ErrorKind.INVALID)
    assert "does not exist" in str(missing) and "pending" in str(pending)
    assert fake.calls("pattern") == []


def test_when_the_pattern_cannot_be_read_the_send_itself_decides(gateway, fake, cart):
    fake.fail_next("pattern_by_code", 502, times=gateway.QUERY_TRIES, raw_body="<html></html>")
    [result] = gateway.lookup_many([(7, "+989121111111", cart)])
    assert isinstance(result, SendResult) and len(fake.calls("pattern")) == 1


def test_a_lookup_whose_answer_is_lost_comes_back_ambiguous(fake, cart):
    gateway = gateway_for(fake, read_timeout=0.5)
    fake.delay("pattern", 30)
    [error] = gateway.lookup_many([(7, "+989121111111", cart)])
    assert isinstance(error, GatewayError) and error.ambiguous and error.timed_out
    assert len(fake.bulks) == 1  # it did go out: the caller must not send it again


# -- inbound and credit ---------------------------------------------------------------------------

def test_replies_to_our_line_come_once_oldest_first(gateway, fake):
    first = fake.push_inbound("+989121111111", "۱۱")
    fake.push_inbound("+989121111111", "other line", line="+9810001")
    third = fake.push_inbound("+989352222222", "لغو")

    replies = gateway.receive()
    assert [(r.gateway_id, r.sender, r.line, r.text) for r in replies] == [
        (str(first), "+989121111111", DEFAULT_LINE, "۱۱"),
        (str(third), "+989352222222", DEFAULT_LINE, "لغو")]
    assert gateway.receive() == []
    fourth = fake.push_inbound("+989121111111", "بله")
    assert [r.gateway_id for r in gateway.receive()] == [str(fourth)]
    assert fake.calls("messages-inbox")[-1].body["filters"] == {"from_id": third}


def test_a_lost_inbox_answer_loses_no_reply(gateway, fake):
    gateway.receive()  # the cursor is set
    reply = fake.push_inbound("+989121111111", "۱۱")
    fake.drop_next("messages-inbox", after_work=True, times=gateway.QUERY_TRIES)
    with pytest.raises(GatewayError):
        gateway.receive()
    assert [r.gateway_id for r in gateway.receive()] == [str(reply)]


@pytest.mark.parametrize(("newest_first", "inclusive"), [(True, False), (False, True)])
def test_many_new_replies_are_read_page_by_page_whatever_the_order(fake, newest_first,
                                                                   inclusive):
    fake.inbox_newest_first, fake.from_id_inclusive = newest_first, inclusive  # UNCONFIRMED
    cursor = fake.push_inbound("+989121111111", "kept before")
    gateway = gateway_for(fake, inbox_cursor=cursor)
    sent = [fake.push_inbound("+989121111111", f"r{i}") for i in range(250)]

    assert [int(r.gateway_id) for r in gateway.receive()] == sent
    assert len(fake.calls("messages-inbox")) == 3
    assert gateway.receive() == []


def test_credit_is_whole_rial(gateway, fake):
    fake.credit = 1_234_567
    assert gateway.credit() == 1_234_567


def test_the_fake_keeps_connections_open_between_calls(fake):
    conn = http.client.HTTPConnection("127.0.0.1", int(fake.base_url.split(":")[2].split("/")[0]))
    sockets = []
    for _ in range(3):
        conn.request("GET", "/v1/api/payment/credit/mine", headers={"Authorization": KEY})
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["meta"]["status"] is True
        sockets.append(conn.sock)
    conn.close()
    assert sockets[0] is not None and sockets.count(sockets[0]) == 3
