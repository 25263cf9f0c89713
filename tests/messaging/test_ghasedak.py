"""Our Ghasedak client against the fake web service, over real HTTP on loopback. Nothing of
ours is mocked."""

import json
import logging
import pickle
import socket
import traceback

import httpx
import pytest

from app.messaging.fake_ghasedak import DEFAULT_LINE, FakeGhasedak
from app.messaging.ghasedak import (
    BY_REFERENCE,
    MAX_OTP_INPUTS,
    Account,
    GhasedakClient,
    GhasedakError,
    Kind,
    PairItem,
    Received,
    classify,
)
from tests.helpers import outlasts_a_question

SECRET = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f"  # must never show up anywhere
ALI, SARA = "09121111111", "09352222222"


@pytest.fixture
def fake():
    with FakeGhasedak(api_key=SECRET) as server:
        yield server


@pytest.fixture
def client(fake):
    with GhasedakClient(SECRET, base_url=fake.base_url, connect_timeout=2, read_timeout=5) as c:
        yield c


def fail(call) -> GhasedakError:
    with pytest.raises(GhasedakError) as caught:
        call()
    return caught.value


# -- round trips --------------------------------------------------------------------------------

def test_send_single_posts_json_with_the_key_in_a_header(client, fake):
    sent = client.send_single(ALI, "سبد خرید شما منتظر است", line_number=DEFAULT_LINE,
                              reference="11")

    [msg] = fake.messages
    assert (sent.message_id, sent.receptor, sent.reference, sent.cost) == (
        msg.message_id, ALI, "11", fake.price_per_part)
    [call] = fake.calls("SendSingleSMS")
    assert call.http_method == "POST" and call.headers["ApiKey"] == SECRET
    assert call.body == {"lineNumber": DEFAULT_LINE, "receptor": ALI,
                         "message": "سبد خرید شما منتظر است", "clientReferenceId": "11",
                         "udh": False}


def test_without_a_line_the_field_is_left_out(client, fake):
    client.send_single(ALI, "Hi")
    assert "lineNumber" not in fake.calls("SendSingleSMS")[0].body


def test_persian_text_costs_more_parts_than_latin_of_the_same_length(client, fake):
    persian, latin = client.send_single(ALI, "س" * 100), client.send_single(ALI, "s" * 100)
    assert (persian.cost, latin.cost) == (2 * fake.price_per_part, fake.price_per_part)


def test_pair_to_pair_sends_a_text_and_line_per_receptor_in_order(client, fake):
    sent = client.send_pair_to_pair([PairItem(ALI, "سلام علی", "3000", "21"),
                                     PairItem(SARA, "سلام سارا", "3001", "22")])

    assert [(s.receptor, s.line_number, s.message, s.reference) for s in sent] == [
        (ALI, "3000", "سلام علی", "21"), (SARA, "3001", "سلام سارا", "22")]
    body = fake.calls("SendPairToPairSMS")[0].body
    assert body["udh"] is False and [i["clientReferenceId"] for i in body["items"]] == ["21", "22"]


def test_an_otp_fills_the_approved_template(client, fake):
    fake.templates["cart"] = "%Name% عزیز، سبد شما منتظر است: %Link%"
    sent = client.send_otp(ALI, "cart", {"Name": "علی", "Link": "https://s.example/x"},
                           reference="7")

    assert sent.message == "علی عزیز، سبد شما منتظر است: https://s.example/x"
    assert sent.reference == "7" and fake.messages[0].template == "cart"
    body = fake.calls("SendOtpSMS")[0].body
    assert body["receptors"] == [{"mobile": ALI, "clientReferenceId": "7"}]
    assert body["inputs"] == [{"param": "Name", "value": "علی"},
                              {"param": "Link", "value": "https://s.example/x"}]


def test_status_reports_ghasedak_codes_then_the_final_one(client, fake):
    fake.set_outcome(14, after_polls=1)  # delivered
    fake.blacklisted.add(SARA)
    ali = client.send_single(ALI, "Hi")
    sara = client.send_single(SARA, "Hi")

    first = client.status([ali.message_id, sara.message_id, "999"])
    assert [(r.message_id, r.status) for r in first] == [(ali.message_id, 2),
                                                         (sara.message_id, 12)]
    assert [r.status for r in client.status([ali.message_id])] == [14]
    call = fake.calls("CheckSmsStatus")[0]
    assert call.query == {"Ids": [f"{ali.message_id},{sara.message_id},999"], "Type": ["1"]}


def test_status_by_reference_finds_our_ids_and_leaves_out_unknown_ones(client, fake):
    sent = client.send_single(ALI, "Hi", reference="31")
    [found] = client.status(["31", "32"], by=BY_REFERENCE)
    assert (found.reference, found.message_id, found.receptor) == ("31", sent.message_id, ALI)
    assert fake.calls("CheckSmsStatus")[0].query["Type"] == ["2"]


def test_reading_unread_replies_marks_them_read(client, fake):
    fake.push_inbound(ALI, "۱۱")

    [reply] = client.received(DEFAULT_LINE, is_read=False)
    assert isinstance(reply, Received) and (reply.sender, reply.message) == (ALI, "۱۱")
    assert reply.receive_date is not None and reply.receive_date.utcoffset() is not None
    assert client.received(DEFAULT_LINE, is_read=False) == []
    assert [r.id for r in client.received(DEFAULT_LINE, is_read=True)] == [reply.id]
    assert fake.calls("GetReceivedSmses")[0].query == {"LineNumber": [DEFAULT_LINE],
                                                       "IsRead": ["false"]}


def test_the_account_shows_credit_spent_on_sends(client, fake):
    before = client.account()
    client.send_single(ALI, "Hi")
    after = client.account()
    assert isinstance(after, Account) and after.plan == "gold"
    assert before.credit - after.credit == fake.price_per_part


# -- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "kind"), [
    (401, Kind.STORE), (402, Kind.STORE), (403, Kind.STORE),
    (422, Kind.RECIPIENT),
    (400, Kind.INVALID), (404, Kind.INVALID), (415, Kind.INVALID),
    (408, Kind.RETRY), (429, Kind.RETRY), (500, Kind.RETRY), (503, Kind.RETRY),
])
def test_refusals_raise_their_kind_and_are_not_ambiguous(client, fake, code, kind):
    fake.fail_next("SendSingleSMS", code)
    error = fail(lambda: client.send_single(ALI, "Hi"))
    assert (error.status, error.kind, error.ambiguous) == (code, kind, False)
    assert fake.messages == []
    assert client.send_single(ALI, "Hi")  # only the next call failed


def test_classify_reads_unknown_codes_by_their_class():
    assert {classify(c) for c in (None, 408, 423, 429, 500, 502, 504)} == {Kind.RETRY}
    assert {classify(c) for c in (400, 404, 405, 409, 415, 418)} == {Kind.INVALID}


def test_a_refusal_that_names_no_error_is_a_plain_retry(client, fake):
    fake.fail_next("SendSingleSMS", 200, raw_body=json.dumps(
        {"isSuccess": False, "statusCode": 200, "message": "", "data": None}))
    error = fail(lambda: client.send_single(ALI, "Hi"))
    assert (error.kind, error.ambiguous) == (Kind.RETRY, False)


def test_errors_the_service_raises_by_itself(fake):
    with GhasedakClient("wrong-key", base_url=fake.base_url) as stranger:
        refused = fail(stranger.account)
        assert (refused.status, refused.kind) == (401, Kind.STORE)
    with GhasedakClient(SECRET, base_url=fake.base_url) as client:
        invalid = fail(lambda: client.send_single("12345", "Hi"))
        assert (invalid.status, invalid.kind) == (400, Kind.INVALID)
        fake.credit = 0
        broke = fail(lambda: client.send_single(ALI, "Hi"))
        assert (broke.status, broke.kind) == (402, Kind.STORE)
    assert fake.messages == []


def test_a_refused_number_refuses_the_whole_pair_to_pair_call(client, fake):
    fake.invalid_receptors.add(SARA)
    fail(lambda: client.send_pair_to_pair([PairItem(ALI, "a", "3000"),
                                           PairItem(SARA, "b", "3000")]))
    assert fake.messages == []


@pytest.mark.parametrize(("code", "body", "kind", "ambiguous"), [
    (502, "<html><body>502 Bad Gateway</body></html>", Kind.RETRY, True),
    (200, "<html>captive portal</html>", Kind.RETRY, True),
    (200, '{"isSuccess": true, "statusCode": 200, "da', Kind.RETRY, True),  # cut short
    (200, '{"data": {}}', Kind.RETRY, True),  # JSON, but not the envelope
    (404, "<html>Not Found</html>", Kind.INVALID, False),
    (429, "<html>slow down</html>", Kind.RETRY, False),
])
def test_bodies_that_are_not_an_envelope(client, fake, code, body, kind, ambiguous):
    fake.fail_next("SendSingleSMS", code, raw_body=body)
    error = fail(lambda: client.send_single(ALI, "Hi"))
    assert (error.status, error.kind, error.ambiguous) == (code, kind, ambiguous)
    assert "not a Ghasedak envelope" in str(error)


def test_success_without_data_may_have_sent(client, fake):
    fake.fail_next("SendSingleSMS", 200, raw_body=json.dumps(
        {"isSuccess": True, "statusCode": 200, "message": "", "data": None}))
    error = fail(lambda: client.send_single(ALI, "Hi"))
    assert (error.kind, error.ambiguous) == (Kind.RETRY, True)


def test_too_many_items_are_refused_before_any_request(client, fake):
    with pytest.raises(ValueError):
        client.send_pair_to_pair([PairItem(ALI, "a", "3000")] * 101)
    with pytest.raises(ValueError):
        client.status([str(i) for i in range(101)])
    with pytest.raises(ValueError):
        client.send_otp(ALI, "verify", {f"P{i}": "x" for i in range(MAX_OTP_INPUTS + 1)})
    assert fake.requests == []


def test_a_timed_out_send_went_out_and_can_be_found_by_reference(fake):
    fake.delay("SendSingleSMS", 30)  # answered long after the client gave up; released on stop()
    with GhasedakClient(SECRET, base_url=fake.base_url, read_timeout=0.5) as client:
        lost = fail(lambda: client.send_single(ALI, "Hi", reference="41"))
        assert (lost.kind, lost.ambiguous, lost.timed_out, lost.status) == (
            Kind.RETRY, True, True, None)
        [found] = client.status(["41"], by=BY_REFERENCE)
    assert found.message_id == fake.messages[0].message_id


def test_a_connection_dropped_after_the_work_is_ambiguous(client, fake):
    fake.drop_next("SendPairToPairSMS", after_work=True)
    error = fail(lambda: client.send_pair_to_pair([PairItem(ALI, "a", "3000")]))
    assert (error.kind, error.ambiguous, error.timed_out) == (Kind.RETRY, True, False)
    assert len(fake.messages) == 1


def test_nobody_listening_is_a_retry_that_sent_nothing():
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with GhasedakClient(SECRET, base_url=f"http://127.0.0.1:{port}", connect_timeout=1) as c:
        error = fail(lambda: c.send_single(ALI, "Hi"))
    assert (error.kind, error.ambiguous) == (Kind.RETRY, False)


def test_errors_survive_pickling_for_celery(client, fake):
    fake.fail_next("SendSingleSMS", 402)
    error = pickle.loads(pickle.dumps(fail(lambda: client.send_single(ALI, "Hi"))))
    assert (error.status, error.kind, error.path) == (402, Kind.STORE, "/SendSingleSMS")
    fake.delay("CheckSmsStatus", 30)
    with GhasedakClient(SECRET, base_url=fake.base_url, read_timeout=0.3) as slow:
        timed_out = pickle.loads(pickle.dumps(fail(lambda: slow.status(["1"]))))
    assert (timed_out.kind, timed_out.ambiguous, timed_out.timed_out) == (Kind.RETRY, True, True)


def test_questions_have_a_shorter_deadline_than_sends(fake):
    fake.delay("CheckSmsStatus", 30)
    with GhasedakClient(SECRET, base_url=fake.base_url, read_timeout=10,
                        query_timeout=0.2) as client:
        sent, lost = outlasts_a_question(
            fake, "SendSingleSMS", lambda: client.send_single(ALI, "Hi", reference="7"),
            lambda: fail(lambda: client.status(["7"], by=BY_REFERENCE)))
    assert sent.reference == "7"
    assert (lost.kind, lost.timed_out, lost.status) == (Kind.RETRY, True, None)


# -- the API key never leaks --------------------------------------------------------------------

def test_the_api_key_never_appears_in_logs_errors_or_reprs(fake, caplog):
    caplog.set_level(logging.DEBUG)
    errors = []
    with GhasedakClient(SECRET, base_url=fake.base_url, read_timeout=0.5) as client:
        client.send_single(ALI, "Hi")
        page = f"<html>upstream error; request headers: ApiKey: {SECRET}</html>"  # a proxy echoing
        fake.fail_next("SendSingleSMS", 502, raw_body=page)
        errors.append(fail(lambda: client.send_single(ALI, "Hi")))
        fake.fail_next("SendSingleSMS", 400, raw_body=json.dumps(
            {"isSuccess": False, "statusCode": 400, "message": f"bad key {SECRET}"}))
        errors.append(fail(lambda: client.send_single(ALI, "Hi")))
        fake.delay("CheckSmsStatus", 30)
        errors.append(fail(lambda: client.status(["1"])))
        texts = [repr(client), str(client)]
    with GhasedakClient(SECRET, base_url=f"{fake.root_url}/nowhere") as lost:
        errors.append(fail(lost.account))
    fake.api_key = "another-key"
    with GhasedakClient(SECRET, base_url=fake.base_url) as rejected:
        errors.append(fail(rejected.account))

    for error in errors:
        texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
    texts += [record.getMessage() for record in caplog.records]
    assert not [t for t in texts if SECRET in t]
    # The check has teeth: httpx did log the requests.
    assert any(r.name == "httpx" and "SendSingleSMS" in r.getMessage() for r in caplog.records)


# -- the fake itself, where our client refuses to go ---------------------------------------------

def test_the_fake_answers_malformed_calls_like_the_service(fake):
    key = {"ApiKey": SECRET}

    def answer(response: httpx.Response) -> tuple[int, bool, int]:
        body = response.json()
        return response.status_code, body["isSuccess"], body["statusCode"]

    assert answer(httpx.post(f"{fake.base_url}/NoSuch", headers=key)) == (404, False, 404)
    assert answer(httpx.get(f"{fake.base_url}/SendSingleSMS", headers=key)) == (405, False, 405)
    assert answer(httpx.get(f"{fake.base_url}/GetAccountInformation")) == (401, False, 401)
    assert answer(httpx.post(f"{fake.base_url}/SendSingleSMS", headers=key,
                             content=b"{not json")) == (400, False, 400)
    assert answer(httpx.get(f"{fake.base_url}/CheckSmsStatus", headers=key,
                            params={"Ids": "1", "Type": "3"})) == (400, False, 400)
    # Routes and fields are read case-insensitively, as ASP.NET does (the python SDK sends
    # PascalCase, the php SDK and the documentation camelCase; paths differ in case too).
    ok = httpx.post(f"{fake.root_url}/rest/api/v1/webservice/sendsinglesms", headers=key,
                    json={"Receptor": ALI, "Message": "x", "LineNumber": "3000"})
    assert answer(ok) == (200, True, 200) and fake.messages[0].line_number == "3000"
    assert answer(httpx.get(f"{fake.base_url}/CheckSmsStatus", headers=key, params=[
        ("Ids", fake.messages[0].message_id), ("Ids", "2"), ("Type", "1")])) == (200, True, 200)


@pytest.mark.parametrize(("dedupe", "sends"), [(False, 2), (True, 1)])
def test_the_fake_plays_both_answers_to_a_repeated_reference(dedupe, sends):
    """Whether Ghasedak dedupes a repeated clientReferenceId is unconfirmed; the adapter never
    relies on it, and the fake can play either."""
    with FakeGhasedak(api_key=SECRET, dedupe_references=dedupe) as fake, \
            GhasedakClient(SECRET, base_url=fake.base_url) as client:
        first = client.send_single(ALI, "Hi", reference="51")
        again = client.send_single(ALI, "Hi", reference="51")
        assert fake.sends_with_reference("51") == sends
        assert (first.message_id == again.message_id) is dedupe
        assert len(client.status(["51"], by=BY_REFERENCE)) == sends


def test_the_fake_names_template_parameters(fake):
    answer = httpx.get(f"{fake.base_url}/GetOtpTemplateParameters", headers={"ApiKey": SECRET},
                       params={"TemplateName": "verify"}).json()
    assert answer["data"]["params"] == ["Code"]
