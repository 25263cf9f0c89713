"""Our IPPanel Edge client against the fake gateway, over real HTTP on loopback. Nothing of ours
is mocked; where the documentation leaves an answer open, the fake plays both."""

import json
import logging
import pickle
import socket
import traceback

import httpx
import pytest

from app.messaging.fake_ippanel import DEFAULT_LINE, FakeIpPanel, FakePattern
from app.messaging.ippanel import (
    Accepted,
    Credit,
    InboundMessage,
    IpPanelClient,
    IpPanelError,
    Kind,
    classify,
    line_e164,
    to_e164,
)
from tests.helpers import outlasts_a_question

SECRET = "YTA5ZjE2NmItZDg4Mi00ZGM1LWE3ODMtY2VhZDQ1ZjRmZTE5"  # key-like: must never show up
ALI, SARA = "+989121111111", "+989352222222"


@pytest.fixture
def fake():
    with FakeIpPanel(api_key=SECRET) as server:
        yield server


@pytest.fixture
def client(fake):
    with IpPanelClient(SECRET, base_url=fake.base_url, connect_timeout=2, read_timeout=5) as c:
        yield c


def fail(call) -> IpPanelError:
    with pytest.raises(IpPanelError) as caught:
        call()
    return caught.value


# -- round trips ----------------------------------------------------------------------------------

def test_a_webservice_send_is_one_bulk_for_all_its_recipients(client, fake):
    accepted = client.send_webservice([ALI, SARA], "سبد خرید شما منتظر است", sender=DEFAULT_LINE)

    [bulk] = fake.bulks
    assert accepted == Accepted((bulk.outbox_id,))
    assert [r.receptor for r in bulk.recipients] == [ALI, SARA]
    [call] = fake.calls("webservice")
    assert (call.http_method, call.path) == ("POST", "/v1/api/send")
    assert call.headers["Authorization"] == SECRET  # the key as it is: no "Bearer"
    assert call.body == {"sending_type": "webservice", "from_number": DEFAULT_LINE,
                         "message": "سبد خرید شما منتظر است",
                         "params": {"recipients": [ALI, SARA]}}


def test_peer_to_peer_gives_one_outbox_id_per_message_in_order(client, fake):
    accepted = client.send_peer_to_peer([([ALI], "سلام علی"), ([SARA], "سلام سارا")],
                                        sender=DEFAULT_LINE)

    assert accepted.outbox_ids == tuple(b.outbox_id for b in fake.bulks)
    assert [(b.recipients[0].receptor, b.message) for b in fake.bulks] == [
        (ALI, "سلام علی"), (SARA, "سلام سارا")]
    assert fake.calls("peer_to_peer")[0].body["params"] == [
        {"recipients": [ALI], "message": "سلام علی"}, {"recipients": [SARA], "message": "سلام سارا"}]


def test_a_pattern_send_fills_the_pattern_for_one_recipient(client, fake):
    fake.patterns["cart"] = FakePattern("%name% عزیز، سبدت منتظره: %link%",
                                        {"name": ("string", 20), "link": ("string", 40)})
    accepted = client.send_pattern(ALI, "cart", {"name": "علی", "link": "https://s.example/x"},
                                   sender=DEFAULT_LINE)
    [bulk] = fake.bulks
    assert accepted.outbox_ids == (bulk.outbox_id,)
    assert bulk.message == "علی عزیز، سبدت منتظره: https://s.example/x"
    assert fake.calls("pattern")[0].body["recipients"] == [ALI]


def test_a_pattern_reads_its_variables(client, fake):
    pattern = client.pattern("verify-code")
    assert (pattern.code, pattern.status) == ("verify-code", "active")
    assert [(v.name, v.type, v.length) for v in pattern.variables] == [("code", "integer", 0)]


def test_reports_show_the_bulk_then_its_recipients_once_final(client, fake):
    fake.set_outcome(2, after_polls=1)
    [outbox_id] = client.send_webservice([ALI], "Hi", sender=DEFAULT_LINE).outbox_ids

    sending = client.bulk(outbox_id)
    assert (sending.state_id, sending.number, sending.message) == (2, DEFAULT_LINE, "Hi")
    assert [r.message_status for r in client.recipients(outbox_id)] == [None]  # not final yet
    sent = client.bulk(outbox_id)
    assert sent.state_id == 6 and sent.cost == fake.price_per_part and sent.parts == 1
    [recipient] = client.recipients(outbox_id)
    assert (recipient.recipient, recipient.message, recipient.message_status) == (ALI, "Hi", 2)


@pytest.mark.parametrize("answer", ["404", "empty"])
def test_an_unknown_outbox_id_is_none_whichever_way_ippanel_says_it(client, fake, answer):
    fake.unknown_bulk = answer  # UNCONFIRMED: a 404 envelope, or 200 with no data
    assert client.bulk(42) is None


def test_the_outbox_search_finds_a_message_by_line_and_text(client, fake):
    client.send_webservice([ALI], "یک", sender=DEFAULT_LINE)
    [two] = client.send_webservice([SARA], "دو", sender=DEFAULT_LINE).outbox_ids
    [found] = client.search_outbox(number=DEFAULT_LINE, message="دو")
    assert (found.outbox_id, found.message, found.recipients) == (two, "دو", 1)
    assert fake.calls("new_list")[0].body == {"page": 1, "limit": 100,
                                              "filters": {"number": DEFAULT_LINE, "message": "دو"}}


def test_the_inbox_is_read_by_cursor_and_not_consumed(client, fake):
    first = fake.push_inbound(ALI, "۱۱")
    second = fake.push_inbound(SARA, "لغو")

    page = client.inbox()
    assert [m.inbox_id for m in page.messages] == [second, first]  # newest first, as documented
    assert page.messages[1] == InboundMessage(first, ALI, DEFAULT_LINE, "۱۱",
                                              page.messages[1].time, False)
    assert [m.inbox_id for m in client.inbox().messages] == [second, first]  # still there
    assert [m.inbox_id for m in client.inbox(from_id=first).messages] == [second]
    assert fake.calls("messages-inbox")[-1].body == {"page": 1, "per_page": 100,
                                                     "filters": {"from_id": first}}


def test_the_credit_is_what_sends_left(client, fake):
    before = client.credit()
    client.send_webservice([ALI, SARA], "Hi", sender=DEFAULT_LINE)
    after = client.credit()
    assert isinstance(after, Credit)
    assert before.credit - after.credit == 2 * fake.price_per_part


def test_cancel_stops_a_bulk_not_yet_sent(client, fake):
    [outbox_id] = client.send_webservice([ALI], "Hi", sender=DEFAULT_LINE).outbox_ids
    client.cancel(outbox_id)
    assert client.bulk(outbox_id).state_id == 7
    assert fail(lambda: client.cancel(999)).status == 404


@pytest.mark.parametrize(("given", "e164"), [
    ("+989121111111", ALI), ("09121111111", ALI), ("989121111111", ALI), ("00989121111111", ALI),
    ("0912 111 1111", ALI), ("12345", "12345")])
def test_numbers_become_e164_in_one_place(given, e164):
    assert to_e164(given) == e164


@pytest.mark.parametrize("line", ["+983000505", "3000505", "983000505", "00983000505"])
def test_sender_lines_become_e164(line):
    assert line_e164(line) == "+983000505"


# -- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "errors", "kind"), [
    (401, None, Kind.STORE),
    (402, None, Kind.STORE),
    (403, None, Kind.STORE),
    (422, {"credit": ["اعتبار کافی نیست"]}, Kind.STORE),
    (422, {"from_number": ["شماره فرستنده متعلق به شما نیست"]}, Kind.STORE),
    (422, {"params.recipients.0": ["شماره معتبر نیست"]}, Kind.RECIPIENT),
    (422, {"params.3.message": ["پیام خالی است"]}, Kind.RECIPIENT),
    (422, {"sending_type": ["معتبر نیست"]}, Kind.INVALID),
    (422, None, Kind.INVALID),
    (404, None, Kind.INVALID),
    (429, None, Kind.RETRY),
    (500, None, Kind.RETRY),
    (503, None, Kind.RETRY),
])
def test_refusals_raise_their_kind_and_are_not_ambiguous(client, fake, status, errors, kind):
    fake.fail_next("webservice", status, errors=errors)
    error = fail(lambda: client.send_webservice([ALI], "Hi", sender=DEFAULT_LINE))
    assert (error.status, error.kind, error.ambiguous) == (status, kind, False)
    assert fake.bulks == []
    assert client.send_webservice([ALI], "Hi", sender=DEFAULT_LINE)  # only the next call failed


def test_a_refusal_carries_ippanels_code_and_the_field_it_blames(client, fake):
    error = fail(lambda: client.send_webservice(["12345"], "Hi", sender=DEFAULT_LINE))
    assert error.kind is Kind.RECIPIENT
    assert "[400-2]" in error.message and "params.recipients.0" in error.message


def test_errors_the_fake_raises_by_itself(fake):
    with IpPanelClient("wrong-key", base_url=fake.base_url) as stranger:
        rejected = fail(stranger.credit)
        assert (rejected.status, rejected.kind) == (401, Kind.STORE)
        assert "[400-1]" in rejected.message
    with IpPanelClient(SECRET, base_url=fake.base_url) as client:
        line = fail(lambda: client.send_webservice([ALI], "Hi", sender="+98999"))
        assert line.kind is Kind.STORE
        fake.credit = 0
        broke = fail(lambda: client.send_webservice([ALI], "Hi", sender=DEFAULT_LINE))
        assert (broke.status, broke.kind) == (422, Kind.STORE)
        missing = fail(lambda: client.send_pattern(ALI, "nosuch", {"x": "1"}, sender=DEFAULT_LINE))
        assert (missing.status, missing.kind) == (404, Kind.INVALID)


def test_a_refusal_sent_with_http_200_is_still_a_refusal(client, fake):
    body = json.dumps({"data": None, "meta": {"status": False, "message": "x",
                                              "message_code": "401-1"}})
    fake.fail_next("credit", 200, raw_body=body)
    error = fail(client.credit)
    assert (error.status, error.kind, error.ambiguous) == (200, Kind.STORE, False)


def test_classify_by_field_names():
    assert classify(None) is Kind.RETRY
    assert classify(422, ["params.0.recipients.0", "params.1.recipients.0"]) is Kind.RECIPIENT
    assert classify(422, ["params.0.recipients.0", "from_number"]) is Kind.STORE
    assert classify(422, ["params.0.recipients.0", "sending_type"]) is Kind.INVALID
    assert classify(400, ["params.name"]) is Kind.INVALID


def test_too_many_messages_are_refused_before_any_request(client, fake):
    with pytest.raises(ValueError):
        client.send_peer_to_peer([([ALI], "x")] * 101, sender=DEFAULT_LINE)
    with pytest.raises(ValueError):
        client.send_webservice([], "x", sender=DEFAULT_LINE)
    assert fake.requests == []


@pytest.mark.parametrize(("status", "body", "kind", "ambiguous"), [
    (502, "<html><body>502 Bad Gateway</body></html>", Kind.RETRY, True),
    (200, "<html>captive portal</html>", Kind.RETRY, True),
    (200, '{"data": {"message_outbox_ids": [1', Kind.RETRY, True),  # cut short
    (200, '{"data": {}}', Kind.RETRY, True),  # JSON, but no meta
    (404, "<html>Not Found</html>", Kind.INVALID, False),
    (429, "<html>Too Many Requests</html>", Kind.RETRY, False),  # a limiter before the API
])
def test_bodies_that_are_not_an_envelope(client, fake, status, body, kind, ambiguous):
    fake.fail_next("webservice", status, raw_body=body)
    error = fail(lambda: client.send_webservice([ALI], "Hi", sender=DEFAULT_LINE))
    assert (error.status, error.kind, error.ambiguous) == (status, kind, ambiguous)
    assert "not an IPPanel envelope" in str(error)


def test_a_success_without_outbox_ids_is_ambiguous(client, fake):
    body = json.dumps({"data": None, "meta": {"status": True, "message_code": "200-1"}})
    fake.fail_next("webservice", 200, raw_body=body)
    error = fail(lambda: client.send_webservice([ALI], "Hi", sender=DEFAULT_LINE))
    assert (error.kind, error.ambiguous) == (Kind.RETRY, True)


def test_a_send_answered_too_late_was_sent(fake):
    fake.delay("webservice", 30)  # answered long after the client gave up; released on stop()
    with IpPanelClient(SECRET, base_url=fake.base_url, read_timeout=0.5) as client:
        lost = fail(lambda: client.send_webservice([ALI], "Hi", sender=DEFAULT_LINE))
    assert (lost.kind, lost.ambiguous, lost.timed_out, lost.status) == (Kind.RETRY, True, True,
                                                                        None)
    assert len(fake.bulks) == 1


def test_a_stalled_send_times_out_and_nothing_was_taken(fake):
    fake.stall("peer_to_peer", 30)
    with IpPanelClient(SECRET, base_url=fake.base_url, read_timeout=0.5) as client:
        lost = fail(lambda: client.send_peer_to_peer([([ALI], "a"), ([SARA], "b")],
                                                     sender=DEFAULT_LINE))
    assert (lost.ambiguous, lost.timed_out) == (True, True)  # the client cannot tell
    assert fake.bulks == []


@pytest.mark.parametrize("after_work", [False, True])
def test_a_dropped_connection_is_ambiguous(client, fake, after_work):
    fake.drop_next("webservice", after_work=after_work)
    lost = fail(lambda: client.send_webservice([ALI], "Hi", sender=DEFAULT_LINE))
    assert (lost.kind, lost.ambiguous, lost.timed_out) == (Kind.RETRY, True, False)
    assert len(fake.bulks) == (1 if after_work else 0)


def test_nobody_listening_is_a_retry_that_sent_nothing():
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with IpPanelClient(SECRET, base_url=f"http://127.0.0.1:{port}/v1", connect_timeout=1) as c:
        error = fail(lambda: c.send_webservice([ALI], "Hi", sender=DEFAULT_LINE))
    assert (error.kind, error.ambiguous) == (Kind.RETRY, False)


def test_questions_have_a_shorter_deadline_than_sends(fake):
    fake.delay("credit", 30)
    with IpPanelClient(SECRET, base_url=fake.base_url, read_timeout=10,
                       query_timeout=0.2) as client:
        sent, lost = outlasts_a_question(
            fake, "webservice",
            lambda: client.send_webservice([ALI], "Hi", sender=DEFAULT_LINE),
            lambda: fail(client.credit))
    assert len(sent.outbox_ids) == 1
    assert (lost.kind, lost.timed_out, lost.status) == (Kind.RETRY, True, None)


def test_errors_survive_pickling_for_celery(client, fake):
    fake.fail_next("webservice", 401)
    error = pickle.loads(pickle.dumps(fail(lambda: client.send_webservice(
        [ALI], "Hi", sender=DEFAULT_LINE))))
    assert (error.status, error.kind, error.path) == (401, Kind.STORE, "/api/send")
    fake.delay("credit", 30)
    with IpPanelClient(SECRET, base_url=fake.base_url, read_timeout=0.3) as slow:
        timed_out = pickle.loads(pickle.dumps(fail(slow.credit)))
    assert (timed_out.kind, timed_out.ambiguous, timed_out.timed_out) == (Kind.RETRY, True, True)


def test_every_call_is_counted_by_method_and_answer(client, fake):
    from app.ops.metrics import GATEWAY_CALLS

    def count(method: str, code: str) -> float:
        return GATEWAY_CALLS.labels("ippanel", method, code)._value.get()

    before = count("credit", "200"), count("credit", "401")
    client.credit()
    fake.fail_next("credit", 401)
    fail(client.credit)
    assert (count("credit", "200"), count("credit", "401")) == (before[0] + 1, before[1] + 1)


# -- the API key never leaks ----------------------------------------------------------------------

def test_the_api_key_never_appears_in_logs_errors_or_reprs(fake, caplog):
    caplog.set_level(logging.DEBUG)
    errors = []
    with IpPanelClient(SECRET, base_url=fake.base_url, read_timeout=0.5) as client:
        [outbox_id] = client.send_webservice([ALI], "Hi", sender=DEFAULT_LINE).outbox_ids
        page = f"<html>upstream error; Authorization: {SECRET}</html>"  # a proxy echoing it
        fake.fail_next("webservice", 502, raw_body=page)
        errors.append(fail(lambda: client.send_webservice([ALI], "Hi", sender=DEFAULT_LINE)))
        refusal = json.dumps({"data": None, "meta": {"status": False, "message_code": "400-2",
                                                     "message": f"bad key {SECRET}"}})
        fake.fail_next("credit", 422, raw_body=refusal)
        errors.append(fail(client.credit))
        fake.delay("by_bulk", 30)
        errors.append(fail(lambda: client.bulk(outbox_id)))
        texts = [repr(client), str(client)]
    with IpPanelClient(SECRET, base_url=f"{fake.base_url}/nowhere") as lost:
        errors.append(fail(lost.credit))
    fake.api_key = "another-key"
    with IpPanelClient(SECRET, base_url=fake.base_url) as rejected:
        errors.append(fail(rejected.credit))

    for error in errors:
        texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
    texts += [record.getMessage() for record in caplog.records]
    assert not [t for t in texts if SECRET in t]
    # The check has teeth: httpx did log the requests (with no header in them).
    assert any(r.name == "httpx" and "/v1/api/send" in r.getMessage() for r in caplog.records)
    assert all(e.path and e.path.startswith("/api/") for e in errors)


# -- the fake itself, where our client refuses to go ----------------------------------------------

def test_the_fake_answers_malformed_calls_like_the_gateway(fake):
    def call(method: str, path: str, body=None, key: str = SECRET) -> tuple[int, str | None]:
        response = httpx.request(method, f"{fake.base_url}{path}", json=body,
                                 headers={"Authorization": key})
        return response.status_code, response.json()["meta"]["message_code"]

    assert call("POST", "/api/send", {"sending_type": "webservice"}, key=f"Bearer {SECRET}") == (
        401, "400-1")
    assert call("POST", "/api/nosuch") == (404, "404-1")
    assert call("POST", "/api/send", {"sending_type": "webservice", "from_number": DEFAULT_LINE,
                                      "params": {"recipients": [ALI]}}) == (422, "400-2")
    assert call("POST", "/api/send", {"sending_type": "pattern", "from_number": DEFAULT_LINE,
                                      "code": "verify-code", "recipients": [ALI, SARA],
                                      "params": {"code": "1"}}) == (422, "400-2")
    assert call("POST", "/api/report/new_list", {"filters": {"state_id": "12"}}) == (422, "400-31")
    assert fake.bulks == []
