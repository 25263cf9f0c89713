"""Our SMS.ir client against the fake SMS.ir, over real HTTP on loopback. Nothing is mocked."""

import logging
import pickle
import socket
import traceback
from decimal import Decimal

import httpx
import pytest

from app.messaging.fake_smsir import DEFAULT_LINE, FakeSmsIr
from app.messaging.provider_error import Kind
from app.messaging.smsir import (
    Credit,
    Pack,
    Received,
    SmsIrClient,
    SmsIrError,
    classify,
)
from tests.helpers import outlasts_a_question

SECRET = "PN1TVeBeaAehFLJAKU4XdfpsFXsQguYfleO0bV4ceh6diTZid2hRXza3uSkBbDef"  # must never show up
ALI, SARA = "09121111111", "09352222222"


@pytest.fixture
def fake():
    with FakeSmsIr(api_key=SECRET) as server:
        yield server


@pytest.fixture
def client(fake):
    with SmsIrClient(SECRET, base_url=f"{fake.base_url}/v1", connect_timeout=2,
                     read_timeout=5) as c:
        yield c


def fail(call) -> SmsIrError:
    with pytest.raises(SmsIrError) as caught:
        call()
    return caught.value


# -- round trips --------------------------------------------------------------------------------

def test_bulk_sends_one_text_to_many_and_answers_an_id_per_mobile(client, fake):
    pack = client.send_bulk(DEFAULT_LINE, "سبد خرید شما منتظر است", [ALI, SARA])

    assert isinstance(pack, Pack) and pack.cost == 2 * fake.price_per_part
    assert [m.message_id for m in fake.messages] == list(pack.message_ids)
    assert [m.mobile for m in fake.messages] == [ALI, SARA]
    [call] = fake.calls("send/bulk")
    assert call.json == {"lineNumber": int(DEFAULT_LINE), "messageText": "سبد خرید شما منتظر است",
                         "mobiles": [ALI, SARA]}  # no sendDateTime when not scheduled
    assert call.headers["x-api-key"] == SECRET
    assert call.headers["content-type"] == "application/json"


def test_like_to_like_sends_a_text_per_mobile(client, fake):
    pack = client.send_like_to_like(DEFAULT_LINE, ["سلام علی", "سلام سارا"], [ALI, SARA])
    assert [(m.mobile, m.text) for m in fake.messages] == [(ALI, "سلام علی"), (SARA, "سلام سارا")]
    assert list(pack.message_ids) == [m.message_id for m in fake.messages]
    assert fake.calls("send/likeToLike")[0].json["messageTexts"] == ["سلام علی", "سلام سارا"]


def test_persian_text_costs_more_parts_than_latin_of_the_same_length(client, fake):
    persian = client.send_bulk(DEFAULT_LINE, "س" * 100, [ALI])
    latin = client.send_bulk(DEFAULT_LINE, "s" * 100, [ALI])
    assert (persian.cost, latin.cost) == (2 * fake.price_per_part, fake.price_per_part)


def test_verify_fills_the_template_with_named_parameters(client, fake):
    sent = client.send_verify(ALI, 123456, {"Code": "4821"})
    [msg] = fake.messages
    assert msg.text == "کد تایید شما: 4821" and sent.message_id == msg.message_id
    assert fake.calls("send/verify")[0].json == {
        "mobile": ALI, "templateId": 123456, "parameters": [{"name": "Code", "value": "4821"}]}


def test_verify_refuses_a_parameter_over_25_characters_before_any_request(client, fake):
    with pytest.raises(ValueError, match="25"):
        client.send_verify(ALI, 123456, {"Code": "x" * 26})
    assert fake.requests == []


def test_report_shows_pending_then_the_final_state(client, fake):
    fake.set_outcome(1, after_polls=1)
    [mid] = client.send_bulk(DEFAULT_LINE, "Hi", [ALI]).message_ids

    first = client.report(mid)
    assert (first.message_id, first.mobile, first.delivery_state) == (mid, "9121111111", None)
    assert client.report(mid).delivery_state == 1


@pytest.mark.parametrize("answer", ["111", "null"])
def test_an_unknown_message_id_reports_none_whichever_way_smsir_says_it(client, fake, answer):
    fake.unknown_id_answer = answer
    assert client.report(424242) is None


def test_pack_and_live_reports_list_the_messages(client, fake):
    pack = client.send_bulk(DEFAULT_LINE, "Hi", [ALI, SARA])
    assert [r.message_id for r in client.pack_report(pack.pack_id)] == list(pack.message_ids)
    live = client.live_report(page=1, page_size=1)
    assert [r.message_id for r in live] == [pack.message_ids[1]]  # newest first, one a page
    assert fake.calls("send/live")[0].query == {"pageNumber": ["1"], "pageSize": ["1"]}


def test_receive_latest_returns_each_text_once_and_live_shows_them_again(client, fake):
    rid = fake.push_inbound(ALI, "۱۱")

    assert client.receive_latest() == [Received(rid, "۱۱", DEFAULT_LINE, "9121111111",
                                                fake._inbox[0].received_at)]
    assert client.receive_latest() == []  # reading consumed it
    [again] = client.receive_live()
    assert (again.text, again.receive_id) == ("۱۱", None)  # live rows carry no id (documented)
    fake.live_has_ids = True
    assert client.receive_live(newest_first=True)[0].receive_id == rid


def test_credit_and_lines(client, fake):
    before = client.credit()
    client.send_bulk(DEFAULT_LINE, "Hi", [ALI])
    assert isinstance(before, Credit) and before.amount - client.credit().amount == Decimal(1)
    assert client.lines() == [DEFAULT_LINE]


def test_cancel_of_nothing_scheduled_is_refused(client, fake):
    error = fail(lambda: client.cancel_scheduled("2b99e63c-9bf8-4a21-9bfe-3f72dc1b46f1"))
    assert (error.status, error.kind) == (112, Kind.INVALID)


# -- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "kind"), [
    (0, Kind.RETRY), (20, Kind.RETRY), (118, Kind.RETRY),
    (104, Kind.RECIPIENT), (115, Kind.RECIPIENT), (103, Kind.RECIPIENT), (117, Kind.RECIPIENT),
    (10, Kind.STORE), (12, Kind.STORE), (102, Kind.STORE), (101, Kind.STORE), (123, Kind.STORE),
    (16, Kind.INVALID), (105, Kind.INVALID), (110, Kind.INVALID), (113, Kind.INVALID),
])
def test_smsir_errors_raise_their_kind_and_are_never_ambiguous(client, fake, code, kind):
    fake.fail_next("send/likeToLike", code)
    error = fail(lambda: client.send_like_to_like(DEFAULT_LINE, ["Hi"], [ALI]))
    assert (error.status, error.kind, error.ambiguous) == (code, kind, False)
    assert fake.messages == []
    assert client.send_like_to_like(DEFAULT_LINE, ["Hi"], [ALI])  # only the next call failed


def test_the_http_status_beside_an_error_code_does_not_matter(client, fake):
    for http in (200, 400, 401, 500):
        fake.http_for_code[102] = http
        fake.credit = Decimal(0)
        error = fail(lambda: client.send_bulk(DEFAULT_LINE, "Hi", [ALI]))
        assert (error.status, error.kind) == (102, Kind.STORE)


def test_errors_the_fake_raises_by_itself(fake):
    with SmsIrClient("wrong-key", base_url=f"{fake.base_url}/v1") as stranger:
        assert (fail(stranger.credit).status, fail(stranger.credit).kind) == (10, Kind.STORE)
    with SmsIrClient(SECRET, base_url=f"{fake.base_url}/v1") as client:
        assert fail(lambda: client.send_bulk(DEFAULT_LINE, "Hi", ["12345"])).status == 104
        assert fail(lambda: client.send_bulk("3000", "Hi", [ALI])).status == 101
        fake.blacklist.add(SARA[-10:])
        assert fail(lambda: client.send_bulk(DEFAULT_LINE, "Hi", [ALI, SARA])).status == 115
        assert client.send_verify(SARA, 123456, {"Code": "1"})  # service lines reach them
        assert fail(lambda: client.send_verify(ALI, 999, {"Code": "1"})).status == 113
    assert fake.sent_to(ALI) == []


def test_classify_covers_every_documented_code():
    assert {classify(c) for c in (0, 20, 118, None)} == {Kind.RETRY}
    assert {classify(c) for c in (103, 104, 114, 115, 117)} == {Kind.RECIPIENT}
    assert {classify(c) for c in (10, 11, 12, 13, 14, 15, 101, 102, 119, 123, 124)} == \
        {Kind.STORE}
    assert {classify(c) for c in (16, 105, 106, 107, 108, 109, 110, 111, 112, 113, 116,
                                  400, 999)} == {Kind.INVALID}


def test_too_many_or_mismatched_are_refused_before_any_request(client, fake):
    with pytest.raises(ValueError):
        client.send_bulk(DEFAULT_LINE, "Hi", [ALI] * 101)
    with pytest.raises(ValueError):
        client.send_like_to_like(DEFAULT_LINE, ["a"], [ALI, SARA])
    with pytest.raises(ValueError):
        client.live_report(page_size=101)
    with pytest.raises(ValueError):
        client.send_bulk("ADVERTISING", "Hi", [ALI])
    assert fake.requests == []


@pytest.mark.parametrize(("code", "body", "kind", "ambiguous"), [
    (502, "<html><body>502 Bad Gateway</body></html>", Kind.RETRY, True),
    (200, "<html>captive portal</html>", Kind.RETRY, True),
    (200, '{"data": {"packId": "x"', Kind.RETRY, True),  # truncated JSON
    (429, "", Kind.RETRY, False),  # a rate limiter in front: not done
    (401, "", Kind.STORE, False),
    (404, "<html>Not Found</html>", Kind.INVALID, False),
])
def test_bodies_that_are_not_an_envelope(client, fake, code, body, kind, ambiguous):
    fake.fail_next("send/bulk", code, raw_body=body)
    error = fail(lambda: client.send_bulk(DEFAULT_LINE, "Hi", [ALI]))
    assert (error.status, error.kind, error.ambiguous) == (code, kind, ambiguous)
    assert "not an SMS.ir envelope" in str(error)


def test_a_timed_out_send_was_sent_and_is_ambiguous(fake):
    fake.delay("send/bulk", 30)  # answered long after the client gave up; released on stop()
    with SmsIrClient(SECRET, base_url=f"{fake.base_url}/v1", read_timeout=0.5) as client:
        lost = fail(lambda: client.send_bulk(DEFAULT_LINE, "Hi", [ALI]))
    assert (lost.kind, lost.ambiguous, lost.timed_out, lost.status) == (Kind.RETRY, True, True,
                                                                        None)
    assert len(fake.messages) == 1


def test_a_dropped_connection_is_ambiguous_and_not_a_timeout(client, fake):
    fake.drop_next("send/likeToLike", after_work=True)
    lost = fail(lambda: client.send_like_to_like(DEFAULT_LINE, ["Hi"], [ALI]))
    assert (lost.kind, lost.ambiguous, lost.timed_out) == (Kind.RETRY, True, False)
    assert len(fake.messages) == 1


def test_nobody_listening_is_a_retry_that_sent_nothing():
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with SmsIrClient(SECRET, base_url=f"http://127.0.0.1:{port}/v1", connect_timeout=1) as c:
        error = fail(lambda: c.send_bulk(DEFAULT_LINE, "Hi", [ALI]))
    assert (error.kind, error.ambiguous) == (Kind.RETRY, False)


def test_questions_have_a_shorter_deadline_than_sends(fake):
    fake.delay("send/live", 30)
    with SmsIrClient(SECRET, base_url=f"{fake.base_url}/v1", read_timeout=10,
                     query_timeout=0.2) as client:
        sent, lost = outlasts_a_question(
            fake, "send/bulk", lambda: client.send_bulk(DEFAULT_LINE, "Hi", [ALI]),
            lambda: fail(client.live_report))
    assert sent.message_ids
    assert (lost.kind, lost.timed_out, lost.status) == (Kind.RETRY, True, None)


def test_a_stalled_send_times_out_with_nothing_sent(fake):
    fake.stall("send/bulk", 30)
    with SmsIrClient(SECRET, base_url=f"{fake.base_url}/v1", read_timeout=0.3) as client:
        lost = fail(lambda: client.send_bulk(DEFAULT_LINE, "Hi", [ALI]))
    assert lost.timed_out and lost.ambiguous and fake.messages == []


def test_errors_survive_pickling_for_celery(client, fake):
    fake.fail_next("send/bulk", 102)
    error = pickle.loads(pickle.dumps(fail(lambda: client.send_bulk(DEFAULT_LINE, "Hi", [ALI]))))
    assert (error.status, error.kind, error.path) == (102, Kind.STORE, "/v1/send/bulk")
    fake.stall("send/{messageId}", 30)
    with SmsIrClient(SECRET, base_url=f"{fake.base_url}/v1", read_timeout=0.3) as slow:
        timed_out = pickle.loads(pickle.dumps(fail(lambda: slow.report(1))))
    assert (timed_out.kind, timed_out.ambiguous, timed_out.timed_out) == (Kind.RETRY, True, True)
    assert timed_out.path == "/v1/send/{messageId}"  # ids stay out of errors and metrics


# -- the API key never leaks --------------------------------------------------------------------

def test_the_api_key_never_appears_in_logs_errors_or_reprs(fake, caplog):
    caplog.set_level(logging.DEBUG)
    errors = []
    with SmsIrClient(SECRET, base_url=f"{fake.base_url}/v1", read_timeout=0.5) as client:
        client.send_bulk(DEFAULT_LINE, "Hi", [ALI])
        page = f"<html>upstream error; X-API-KEY: {SECRET}</html>"  # a proxy echoing headers
        fake.fail_next("send/bulk", 502, raw_body=page)
        errors.append(fail(lambda: client.send_bulk(DEFAULT_LINE, "Hi", [ALI])))
        fake.fail_next("credit", 0, raw_body=f'{{"status": 10, "message": "bad key {SECRET}"}}')
        errors.append(fail(client.credit))
        fake.stall("send/{messageId}", 30)
        errors.append(fail(lambda: client.report(1)))
        texts = [repr(client), str(client)]
    with SmsIrClient(SECRET, base_url=f"{fake.base_url}/nowhere") as lost:
        errors.append(fail(lost.credit))
    fake.api_key = "another-key"
    with SmsIrClient(SECRET, base_url=f"{fake.base_url}/v1") as rejected:
        errors.append(fail(rejected.credit))

    for error in errors:
        texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
    texts += [record.getMessage() for record in caplog.records]
    assert not [t for t in texts if SECRET in t]
    assert any(r.name == "httpx" for r in caplog.records)  # the check has teeth: httpx logged


# -- the fake itself, where our client refuses to go ---------------------------------------------

def test_the_fake_answers_malformed_calls_like_smsir(fake):
    base, key = f"{fake.base_url}/v1", {"X-API-KEY": SECRET}

    def code(response: httpx.Response) -> tuple[int, int]:
        return response.status_code, response.json()["status"]

    assert code(httpx.post(f"{base}/send/bulk", headers=key, json={
        "lineNumber": DEFAULT_LINE, "messageText": "x", "mobiles": [ALI] * 101})) == (400, 105)
    assert code(httpx.post(f"{base}/send/likeToLike", headers=key, json={
        "lineNumber": DEFAULT_LINE, "messageTexts": ["a"], "mobiles": [ALI, SARA]})) == (400, 110)
    assert code(httpx.post(f"{base}/send/verify", headers=key, json={
        "mobile": ALI, "templateId": 123456, "parameters": [{"name": "Code",
                                                              "value": "x" * 26}]})) == (400, 114)
    assert code(httpx.get(f"{base}/credit")) == (401, 10)  # no key at all
    assert httpx.get(f"{base}/nosuch", headers=key).status_code == 404
    fake.fail_next("credit", 20)
    assert code(httpx.get(f"{base}/credit", headers=key)) == (429, 20)
    assert fake.messages == []


def test_the_fake_keeps_connections_open_between_calls(fake):
    with httpx.Client(headers={"X-API-KEY": SECRET}) as http:
        for _ in range(3):
            assert http.get(f"{fake.base_url}/v1/credit").json()["status"] == 1
        assert len(fake._connections) == 1
