"""KavenegarGateway against the fake gateway over real HTTP: batching with sms/sendarray, what a
failed batch means for each message, lookups, and the fake's keep-alive connections."""

import http.client
import json

import pytest

from app.messaging.fake_kavenegar import DEFAULT_LINE, FakeKavenegar
from app.messaging.gateway import (
    CONFIRMED_AFTER_LOST_ANSWER,
    ErrorKind,
    GatewayError,
    KavenegarGateway,
    Lookup,
    SendResult,
)
from app.messaging.kavenegar import KavenegarClient

KEY = "gateway-test-key-0123"


@pytest.fixture
def fake():
    with FakeKavenegar(api_key=KEY) as server:
        yield server


def gateway_for(fake, *, sender: str | None = DEFAULT_LINE, read_timeout: float = 5.0):
    client = KavenegarClient(KEY, base_url=fake.base_url, connect_timeout=2,
                             read_timeout=read_timeout)
    return KavenegarGateway(client, sender=sender)


@pytest.fixture
def gateway(fake):
    return gateway_for(fake)


def items(n: int, first: int = 1) -> list[tuple[int, str, str]]:
    return [(i, f"0912{i:07d}", f"سلام {i}") for i in range(first, first + n)]


def sendarray_batches(fake) -> list[list[int]]:
    return [json.loads(c.form["localmessageids"][0]) for c in fake.calls("sendarray")]


def test_many_messages_go_out_in_sendarrays_of_at_most_200(gateway, fake):
    batch = items(450)
    results = gateway.send_many(batch)

    assert [len(b) for b in sendarray_batches(fake)] == [200, 200, 50]
    assert [i for b in sendarray_batches(fake) for i in b] == [localid for localid, _, _ in batch]
    at_gateway = {m.localid: m for m in fake.messages}
    assert len(at_gateway) == 450 and fake.calls("send") == []
    for (localid, receptor, text), result in zip(batch, results, strict=True):
        sent = at_gateway[localid]
        assert (sent.receptor, sent.message, sent.sender) == (receptor, text, DEFAULT_LINE)
        assert result == SendResult(gateway_id=str(sent.messageid), cost=sent.cost, status=1)


def test_a_lone_message_goes_out_through_sms_send(gateway, fake):
    [result] = gateway.send_many(items(1))
    assert fake.calls("sendarray") == [] and len(fake.calls("send")) == 1
    assert fake.calls("send")[0].form["localid"] == ["1"]
    assert result.gateway_id == str(fake.messages[0].messageid)


def test_without_a_sender_line_each_message_goes_through_sms_send(fake):
    results = gateway_for(fake, sender=None).send_many(items(3))
    assert fake.calls("sendarray") == [] and len(fake.calls("send")) == 3
    assert {m.sender for m in fake.messages} == {DEFAULT_LINE}  # the account's default line
    assert all(isinstance(r, SendResult) for r in results)


def test_a_batch_refused_for_one_bad_number_is_sent_one_by_one(gateway, fake):
    batch = items(4)
    fake.invalid_receptors.add(batch[2][1])
    results = gateway.send_many(batch)

    assert len(fake.calls("sendarray")) == 1 and len(fake.calls("send")) == 4
    refused = results[2]
    assert isinstance(refused, GatewayError)
    assert (refused.kind, refused.code, refused.ambiguous) == (ErrorKind.RECIPIENT, 411, False)
    assert [isinstance(r, SendResult) for r in results] == [True, True, False, True]
    assert sorted(m.localid for m in fake.messages) == [1, 2, 4]


@pytest.mark.parametrize(("code", "kind"), [(409, ErrorKind.RETRY), (412, ErrorKind.STORE)])
def test_a_batch_refused_for_now_or_for_the_account_fails_every_message_alike(gateway, fake,
                                                                               code, kind):
    fake.fail_next("sms/sendarray", code)
    results = gateway.send_many(items(3))
    assert [(r.kind, r.code) for r in results] == [(kind, code)] * 3
    assert fake.calls("send") == [] and fake.messages == []  # not tried one by one


def test_after_a_store_error_the_remaining_batches_are_not_tried(gateway, fake):
    fake.credit = 0
    results = gateway.send_many(items(250))
    assert len(fake.calls("sendarray")) == 1
    assert {(r.kind, r.code) for r in results} == {(ErrorKind.STORE, 418)}


def test_a_lost_answer_keeps_what_the_gateway_took_and_sends_only_the_rest(gateway, fake):
    gateway.send_many(items(1))  # message 1 went out earlier (say, a previous attempt)
    fake.drop_next("sms/sendarray")  # this batch's connection dies before the gateway acts
    results = gateway.send_many(items(3))

    assert sendarray_batches(fake) == [[1, 2, 3], [2, 3]]
    assert fake.calls("statuslocalmessageid")[0].form["localid"] == ["1,2,3"]
    assert [r.note for r in results] == [CONFIRMED_AFTER_LOST_ANSWER, None, None]
    assert [fake.sends_with_localid(i) for i in (1, 2, 3)] == [1, 1, 1]
    assert [r.gateway_id for r in results] == [
        str(next(m.messageid for m in fake.messages if m.localid == i)) for i in (1, 2, 3)]


def test_a_batch_processed_but_unanswered_is_confirmed_not_resent(gateway, fake):
    fake.drop_next("sms/sendarray", after_work=True)
    results = gateway.send_many(items(3))
    assert len(fake.calls("sendarray")) == 1
    assert {r.note for r in results} == {CONFIRMED_AFTER_LOST_ANSWER}
    assert len(fake.messages) == 3


def test_when_the_gateway_cannot_say_what_it_took_nothing_is_resent(gateway, fake):
    fake.drop_next("sms/sendarray", after_work=True)
    fake.fail_next("sms/statuslocalmessageid", 502, times=gateway.QUERY_TRIES)  # every try
    results = gateway.send_many(items(3))
    assert all(isinstance(r, GatewayError) and r.ambiguous and r.kind == ErrorKind.RETRY
               for r in results)
    assert len(fake.calls("sendarray")) == 1  # the engine asks again, for all of them, later
    assert len(fake.calls("statuslocalmessageid")) == gateway.QUERY_TRIES
    assert sorted(gateway.accepted(items(3))) == [1, 2, 3] and len(fake.messages) == 3


def test_a_question_answered_by_a_passing_error_is_asked_again_at_once(gateway, fake):
    """What was taken after a lost answer decides what is resent: a proxy's 502 on the
    question is asked again, not taken for "cannot tell"."""
    fake.drop_next("sms/sendarray", after_work=True)
    fake.fail_next("sms/statuslocalmessageid", 502)
    results = gateway.send_many(items(3))
    assert all(isinstance(r, SendResult) for r in results)  # confirmed after the lost answer
    assert len(fake.calls("sendarray")) == 1 and len(fake.messages) == 3
    assert len(fake.calls("statuslocalmessageid")) == 2


def test_a_question_whose_connection_dropped_is_asked_again_at_once(gateway, fake):
    fake.drop_next("sms/sendarray", after_work=True)
    fake.drop_next("sms/statuslocalmessageid")  # quick, like a 502 page: asked again
    results = gateway.send_many(items(3))
    assert {r.note for r in results} == {CONFIRMED_AFTER_LOST_ANSWER}
    assert len(fake.calls("statuslocalmessageid")) == 2 and len(fake.calls("sendarray")) == 1


def test_a_batch_lost_before_the_work_twice_goes_out_on_the_third_offer(gateway, fake):
    fake.drop_next("sms/sendarray", times=2)
    results = gateway.send_many(items(3))
    assert sendarray_batches(fake) == [[1, 2, 3]] * 3
    assert len(fake.calls("statuslocalmessageid")) == 2  # asked before each offer again
    assert all(isinstance(r, SendResult) and r.note is None for r in results)
    assert [fake.sends_with_localid(i) for i in (1, 2, 3)] == [1, 1, 1]


def test_a_batch_lost_on_every_offer_is_left_ambiguous(gateway, fake):
    fake.drop_next("sms/sendarray", times=gateway.SEND_TRIES)
    results = gateway.send_many(items(3))
    assert sendarray_batches(fake) == [[1, 2, 3]] * gateway.SEND_TRIES
    assert all(isinstance(r, GatewayError) and r.ambiguous for r in results)
    assert fake.messages == []


def test_a_batch_that_timed_out_is_not_offered_again_at_once(fake):
    """The gateway may still be working on a request it did not answer in time: what it has not
    taken yet waits for the engine's next attempt (which asks again first)."""
    gateway = gateway_for(fake, read_timeout=0.5)
    fake.stall("sms/sendarray", 30)  # held without taking anything; released on stop()
    results = gateway.send_many(items(3))
    assert all(isinstance(r, GatewayError) and r.ambiguous and r.timed_out for r in results)
    assert len(fake.calls("sendarray")) == 1 and len(fake.calls("statuslocalmessageid")) == 1
    assert fake.messages == []


def test_lookups_send_the_template_and_tokens_and_report_cost_and_parts(gateway, fake):
    fake.templates["cart"] = "%token عزیز، سبد خریدت در فروشگاه ما منتظرته! تکمیلش کن: %token2"
    lookup = Lookup("cart", {"token": "علی", "token2": "https://s.example/AbCd123"})
    [result] = gateway.lookup_many([(7, "09121111111", lookup)])

    [sent] = fake.messages
    assert (sent.template, sent.tokens) == ("cart", lookup.tokens)
    assert sent.message == ("علی عزیز، سبد خریدت در فروشگاه ما منتظرته! تکمیلش کن: "
                            "https://s.example/AbCd123")
    assert (result.gateway_id, result.cost, result.parts) == (
        str(sent.messageid), 2 * fake.price_per_part, 2)
    assert fake.calls("lookup")[0].form.get("localid") is None  # verify/lookup has none


def test_a_lookup_whose_answer_is_lost_comes_back_ambiguous(fake):
    fake.templates["cart"] = "%token"
    fake.delay("verify/lookup", 30)
    gateway = gateway_for(fake, read_timeout=0.5)
    [error] = gateway.lookup_many([(7, "09121111111", Lookup("cart", {"token": "x"}))])
    assert isinstance(error, GatewayError) and error.ambiguous
    assert len(fake.messages) == 1  # it did go out: the caller must not send it again


def test_the_fake_keeps_connections_open_between_calls(fake):
    conn = http.client.HTTPConnection("127.0.0.1", int(fake.base_url.rsplit(":", 1)[1]))
    sockets = []
    for _ in range(3):
        conn.request("POST", f"/v1/{KEY}/account/info.json", body=b"",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["return"]["status"] == 200
        sockets.append(conn.sock)
    conn.close()
    assert sockets[0] is not None and sockets.count(sockets[0]) == 3
