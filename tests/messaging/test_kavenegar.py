"""Our Kavenegar client against the fake gateway, over real HTTP on loopback.

Nothing of ours is mocked. The only patched thing is the official SDK's `requests` module, so
that its hard-coded https reaches the fake as plain HTTP (see `official`).
"""

import json
import logging
import pickle
import socket
import time
import traceback
from types import SimpleNamespace
from urllib.parse import parse_qs

import httpx
import pytest

from app.messaging.fake_kavenegar import DEFAULT_LINE, FakeKavenegar
from app.messaging.kavenegar import (
    SENDARRAY_LOCALID_FIELD,
    AccountInfo,
    Entry,
    InboundMessage,
    KavenegarClient,
    KavenegarError,
    classify,
)
from app.messaging.provider_error import Kind
from tests.helpers import outlasts_a_question

SECRET = "4D4C324E43416D726C65446D72585A6B"  # looks like a real key: it must never show up
ALI, SARA = "09121111111", "09352222222"


@pytest.fixture
def fake():
    with FakeKavenegar(api_key=SECRET) as server:
        yield server


@pytest.fixture
def client(fake):
    with KavenegarClient(SECRET, base_url=fake.base_url, connect_timeout=2, read_timeout=5) as c:
        yield c


def fail(call) -> KavenegarError:
    with pytest.raises(KavenegarError) as caught:
        call()
    return caught.value


# -- round trips --------------------------------------------------------------------------------

def test_send_returns_one_entry_per_receptor_and_the_gateway_records_them(client, fake):
    entries = client.send([ALI, SARA], "سبد خرید شما منتظر است", localids=[11, 12], tag="cart")

    assert [e.receptor for e in entries] == [ALI, SARA]
    assert all(e.status == 1 and e.sender == DEFAULT_LINE and e.cost == fake.price_per_part
               for e in entries)
    assert {m.localid for m in fake.messages} == {11, 12}
    assert [m.messageid for m in fake.messages] == [e.messageid for e in entries]
    form = fake.calls("send")[-1].form
    assert form["receptor"] == [f"{ALI},{SARA}"] and form["localid"] == ["11,12"]
    assert "hide" not in form and "sender" not in form  # unset options are left out, not sent empty


def test_persian_text_costs_more_parts_than_latin_of_the_same_length(client, fake):
    persian, latin = client.send([ALI], "س" * 100)[0], client.send([ALI], "s" * 100)[0]
    assert (persian.cost, latin.cost) == (2 * fake.price_per_part, fake.price_per_part)


def test_sendarray_sends_a_text_per_receptor(client, fake):
    entries = client.sendarray([ALI, SARA], ["3000", "3001"], ["سلام علی", "سلام سارا"], localids=[21, 22])

    assert [(e.receptor, e.sender, e.message) for e in entries] == [
        (ALI, "3000", "سلام علی"), (SARA, "3001", "سلام سارا")]
    form = fake.calls("sendarray")[-1].form
    assert json.loads(form["receptor"][0]) == [ALI, SARA]
    assert json.loads(form[SENDARRAY_LOCALID_FIELD][0]) == [21, 22]
    assert fake.sends_with_localid(21) == 1


def test_verify_lookup_fills_the_approved_template(client, fake):
    entry = client.verify_lookup(ALI, "verify", "4821")
    assert isinstance(entry, Entry)
    assert entry.receptor == ALI and entry.message == "کد تایید شما: 4821"
    assert fake.calls("lookup")[-1].form["type"] == ["sms"]


def test_status_reports_queued_then_the_final_status(client, fake):
    fake.set_outcome(10, after_polls=1)
    fake.set_outcome(14, receptor=SARA)  # SARA blocks advertising lines
    ali, sara = client.send([ALI, SARA], "Hi")

    first = client.status([ali.messageid, sara.messageid, 999])
    assert [e.status for e in first] == [1, 14, 100]  # unknown id: 100 inside a 200
    assert [e.status for e in client.status([ali.messageid])] == [10]


def test_status_by_localid_finds_our_ids_and_marks_unknown_ones(client, fake):
    fake.set_outcome(10)
    sent = client.send([ALI], "Hi", localids=[31])[0]

    found, unknown = client.status_by_localid([31, 32])
    assert (found.localid, found.messageid, found.status) == (31, sent.messageid, 10)
    assert (unknown.localid, unknown.status) == (32, 100)


def test_receive_returns_unread_replies_once(client, fake):
    fake.push_inbound(ALI, "۱۱")

    unread = client.receive(DEFAULT_LINE, isread=False)
    assert unread == [InboundMessage(unread[0].messageid, "۱۱", ALI, DEFAULT_LINE, unread[0].date)]
    assert client.receive(DEFAULT_LINE, isread=False) == []  # reading marked them read
    assert [m.message for m in client.receive(DEFAULT_LINE, isread=True)] == ["۱۱"]


def test_account_info_shows_credit_spent_on_sends(client, fake):
    before = client.account_info()
    client.send([ALI], "Hi")
    after = client.account_info()
    assert isinstance(after, AccountInfo) and after.type == "master"
    assert before.remaincredit - after.remaincredit == fake.price_per_part


def test_cancel_stops_a_scheduled_message(client, fake):
    scheduled = client.send([ALI], "Tomorrow", date=int(time.time()) + 3600)[0]
    assert scheduled.status == 2
    assert [e.status for e in client.cancel([scheduled.messageid])] == [13]


# -- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "kind"), [
    (409, Kind.RETRY), (451, Kind.RETRY), (500, Kind.RETRY), (503, Kind.RETRY),
    (411, Kind.RECIPIENT), (418, Kind.STORE), (403, Kind.STORE), (414, Kind.INVALID),
    (419, Kind.INVALID),
])
def test_gateway_errors_raise_their_kind(client, fake, code, kind):
    fake.fail_next("sms/send", code)
    error = fail(lambda: client.send([ALI], "Hi"))
    assert (error.status, error.kind, error.ambiguous) == (code, kind, False)
    assert client.send([ALI], "Hi")  # only the next call failed


def test_errors_the_gateway_raises_by_itself(fake):
    with KavenegarClient("wrong-key", base_url=fake.base_url) as stranger:
        assert fail(lambda: stranger.account_info()).kind is Kind.STORE  # 403
    with KavenegarClient(SECRET, base_url=fake.base_url) as client:
        invalid = fail(lambda: client.send(["12345"], "Hi"))
        assert (invalid.status, invalid.kind) == (411, Kind.RECIPIENT)
        fake.credit = 0
        broke = fail(lambda: client.send([ALI], "Hi"))
        assert (broke.status, broke.kind) == (418, Kind.STORE)


def test_a_failure_for_one_receptor_only(client, fake):
    fake.fail_next("sms/send", 411, receptor=SARA)
    assert client.send([ALI], "Hi")
    assert fail(lambda: client.send([SARA], "Hi")).kind is Kind.RECIPIENT


def test_classify_covers_every_documented_code():
    assert {c: classify(c) for c in (402, 409, 451, 500, 502, None)} == dict.fromkeys(
        (402, 409, 451, 500, 502, None), Kind.RETRY)
    assert {classify(c) for c in (411, 413, 420, 422)} == {Kind.RECIPIENT}
    assert {classify(c) for c in (401, 403, 407, 412, 416, 418, 426, 427, 429, 501)} == {Kind.STORE}
    assert {classify(c) for c in (400, 404, 405, 406, 414, 415, 417, 419, 424, 428, 431, 432,
                                  607)} == {Kind.INVALID}


def test_too_many_ids_are_refused_before_any_request(client, fake):
    with pytest.raises(ValueError):
        client.send([ALI] * 201, "Hi")
    with pytest.raises(ValueError):
        client.send([ALI, SARA], "Hi", localids=[1])
    with pytest.raises(ValueError):
        client.status(list(range(501)))
    with pytest.raises(ValueError):
        client.sendarray([ALI, SARA], ["3000"], ["a", "b"])
    assert fake.requests == []


def test_a_timed_out_send_was_sent_and_the_same_localid_does_not_send_twice(fake):
    fake.delay("sms/send", 30)  # answered long after the client gave up; released on stop()
    with KavenegarClient(SECRET, base_url=fake.base_url, read_timeout=0.5) as client:
        lost = fail(lambda: client.send([ALI], "Hi", localids=[41]))
        assert (lost.kind, lost.ambiguous, lost.status) == (Kind.RETRY, True, None)

        # What a caller does with an ambiguous failure: ask before sending again.
        (known,) = client.status_by_localid([41])
        assert known.status == 1 and known.messageid == fake.messages[0].messageid

        fake.delay("sms/send", 0)
        again = client.send([ALI], "Hi", localids=[41])[0]
        assert again.messageid == known.messageid
        assert fake.sends_with_localid(41) == 1 and len(fake.messages) == 1


def test_nobody_listening_is_a_retry_that_sent_nothing():
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with KavenegarClient(SECRET, base_url=f"http://127.0.0.1:{port}", connect_timeout=1) as client:
        error = fail(lambda: client.send([ALI], "Hi"))
    assert (error.kind, error.ambiguous) == (Kind.RETRY, False)


def test_entries_may_be_a_single_object(client, fake):
    fake.entries_as_object = True
    assert client.verify_lookup(ALI, "verify", "1234").receptor == ALI
    (entry,) = client.send([ALI], "Hi")
    assert entry.receptor == ALI
    raw = httpx.post(f"{fake.base_url}/v1/{SECRET}/sms/send.json", data={"receptor": ALI, "message": "x"})
    assert isinstance(raw.json()["entries"], dict)


@pytest.mark.parametrize(("code", "body", "kind", "ambiguous"), [
    (502, "<html><body>502 Bad Gateway</body></html>", Kind.RETRY, True),
    (200, "<html>captive portal</html>", Kind.RETRY, True),
    (200, '{"entries": []}', Kind.RETRY, True),  # JSON, but no `return`
    (404, "<html>Not Found</html>", Kind.INVALID, False),
])
def test_bodies_that_are_not_an_envelope(client, fake, code, body, kind, ambiguous):
    fake.fail_next("sms/send", code, raw_body=body)
    error = fail(lambda: client.send([ALI], "Hi"))
    assert (error.status, error.kind, error.ambiguous) == (code, kind, ambiguous)
    assert "not a Kavenegar envelope" in str(error)


def test_errors_survive_pickling_for_celery(client, fake):
    fake.fail_next("sms/send", 418)
    error = pickle.loads(pickle.dumps(fail(lambda: client.send([ALI], "Hi"))))
    assert (error.status, error.kind, error.path) == (418, Kind.STORE, "/v1/***/sms/send.json")
    fake.delay("sms/status", 30)
    with KavenegarClient(SECRET, base_url=fake.base_url, read_timeout=0.3) as slow:
        timed_out = pickle.loads(pickle.dumps(fail(lambda: slow.status([1]))))
    assert (timed_out.kind, timed_out.ambiguous, timed_out.timed_out) == (Kind.RETRY, True, True)


def test_questions_have_a_shorter_deadline_than_sends(fake):
    """statuses and the credit change nothing and answer quickly: their callers ask again
    rather than wait a send's whole read timeout."""
    fake.delay("sms/statuslocalmessageid", 30)
    with KavenegarClient(SECRET, base_url=fake.base_url, read_timeout=10,
                         query_timeout=0.2) as client:
        (sent,), lost = outlasts_a_question(
            fake, "sms/send", lambda: client.send([ALI], "Hi", localids=[7]),
            lambda: fail(lambda: client.status_by_localid([7])))
    assert sent.status == 1
    assert (lost.kind, lost.timed_out, lost.status) == (Kind.RETRY, True, None)


# -- the API key never leaks --------------------------------------------------------------------

def test_the_api_key_never_appears_in_logs_errors_or_reprs(fake, caplog):
    caplog.set_level(logging.DEBUG)
    errors = []
    with KavenegarClient(SECRET, base_url=fake.base_url, read_timeout=0.5) as client:
        client.send([ALI], "Hi")
        page = f"<html>upstream error for /v1/{SECRET}/sms/send.json</html>"  # a proxy echoing the URL
        fake.fail_next("sms/send", 502, raw_body=page)
        errors.append(fail(lambda: client.send([ALI], "Hi")))
        fake.delay("sms/status", 30)
        errors.append(fail(lambda: client.status([1])))
        texts = [repr(client), str(client)]
    with KavenegarClient(SECRET, base_url=f"{fake.base_url}/nowhere") as lost:
        errors.append(fail(lambda: lost.account_info()))
    fake.api_key = "another-key"
    with KavenegarClient(SECRET, base_url=fake.base_url) as rejected:
        errors.append(fail(lambda: rejected.account_info()))

    for error in errors:
        texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
    texts += [record.getMessage() for record in caplog.records]
    assert not [t for t in texts if SECRET in t]
    # The check has teeth: httpx did log the requests, with the key masked.
    assert any(r.name == "httpx" and "/v1/***/sms/send.json" in r.getMessage() for r in caplog.records)
    assert all(e.path and e.path.startswith("/v1/***/") for e in errors)


# -- the fake itself, where our client refuses to go ---------------------------------------------

def test_the_fake_answers_malformed_calls_like_the_gateway(fake):
    base = f"{fake.base_url}/v1/{SECRET}"

    def code(response: httpx.Response) -> tuple[int, int]:
        return response.status_code, response.json()["return"]["status"]

    assert code(httpx.post(f"{base}/sms/nosuch.json")) == (404, 404)
    assert code(httpx.post(f"{base}/sms/send.json", data={"receptor": ",".join([ALI] * 201),
                                                          "message": "x"})) == (414, 414)
    assert code(httpx.post(f"{base}/sms/sendarray.json", data={
        "receptor": json.dumps([ALI, SARA]), "sender": '["3000"]', "message": '["a","b"]'})) == (419, 419)
    assert code(httpx.get(f"{base}/sms/sendarray.json")) == (405, 405)
    assert code(httpx.post(f"{fake.base_url}/v1/bad/account/info.json")) == (403, 403)
    assert fake.messages == []


# -- the same requests as the official SDK (kavenegar 1.1.2 on PyPI) ----------------------------

try:  # a dev extra; without it only these comparisons skip
    import kavenegar as kavenegar_sdk
    import requests
    from requests.adapters import HTTPAdapter
except ImportError:
    kavenegar_sdk = None

needs_sdk = pytest.mark.skipif(kavenegar_sdk is None, reason="pip install kavenegar==1.1.2")


@pytest.fixture
def official(fake, monkeypatch):
    class PlainHttp(HTTPAdapter):
        """The SDK hard-codes https://; this sends its prepared request unchanged, over HTTP."""

        def send(self, request, **kwargs):
            request.url = "http://" + request.url.removeprefix("https://")
            return super().send(request, **kwargs)

    session = requests.Session()
    session.trust_env = False
    session.mount("https://", PlainHttp())
    # The SDK calls the module-level requests.post; only that name is swapped for a session's.
    monkeypatch.setattr(kavenegar_sdk, "requests",
                        SimpleNamespace(post=session.post, exceptions=requests.exceptions))
    api = kavenegar_sdk.KavenegarAPI(SECRET)
    api.host = fake.base_url.removeprefix("http://")
    yield api
    session.close()


def _wire(recorded, json_fields: tuple[str, ...]) -> tuple[str, str, str, dict[str, list]]:
    content_type = recorded.headers.get("Content-Type", "").split(";")[0]
    # JSON-array fields are compared as JSON: `["a", "b"]` and `["a","b"]` are the same array.
    form = {k: [json.loads(v) for v in vs] if k in json_fields else vs
            for k, vs in recorded.form.items()}
    return recorded.http_method, recorded.path, content_type, form


def _same_request(fake, official_call, our_call, json_fields: tuple[str, ...] = ()) -> dict:
    official_call()
    theirs = fake.requests[-1]
    our_call()
    ours = fake.requests[-1]
    assert _wire(ours, json_fields) == _wire(theirs, json_fields)
    return ours.form


@needs_sdk
def test_we_send_what_the_official_sdk_sends(official, client, fake):
    # The SDK passes a params dict straight to requests (None values dropped, like ours), so
    # the reference is the SDK called with its documented params: comma lists for ids and
    # receptors, JSON-array strings for sendarray (as the go and php SDKs build them).
    when = int(time.time()) + 3600
    _same_request(fake, lambda: official.sms_send({
        "receptor": f"{ALI},{SARA}", "message": "سلام", "sender": "3000", "date": when,
        "type": 1, "localid": "51,52", "hide": 1, "tag": "cart"}),
        lambda: client.send([ALI, SARA], "سلام", sender="3000", date=when, type=1,
                            localids=[51, 52], hide=True, tag="cart"))
    _same_request(fake, lambda: official.sms_sendarray({
        "receptor": json.dumps([ALI, SARA]), "sender": json.dumps(["3000", "3001"]),
        "message": json.dumps(["الف", "ب"], ensure_ascii=False),
        SENDARRAY_LOCALID_FIELD: "[61,62]"}),
        lambda: client.sendarray([ALI, SARA], ["3000", "3001"], ["الف", "ب"], localids=[61, 62]),
        json_fields=("receptor", "sender", "message", SENDARRAY_LOCALID_FIELD))
    _same_request(fake, lambda: official.verify_lookup({
        "receptor": ALI, "template": "verify", "token": "4821", "token2": None, "token3": None,
        "token10": None, "token20": None, "type": "sms"}),
        lambda: client.verify_lookup(ALI, "verify", "4821"))
    ids = [m.messageid for m in fake.messages[:2]]
    _same_request(fake, lambda: official.sms_status({"messageid": f"{ids[0]},{ids[1]}"}),
                  lambda: client.status(ids))
    _same_request(fake, lambda: official.sms_statuslocalmessageid({"localid": "51,52"}),
                  lambda: client.status_by_localid([51, 52]))
    _same_request(fake, lambda: official.sms_receive({"linenumber": DEFAULT_LINE, "isread": 0}),
                  lambda: client.receive(DEFAULT_LINE, isread=False))
    _same_request(fake, lambda: official.sms_cancel({"messageid": str(ids[0])}),
                  lambda: client.cancel([ids[0]]))
    form = _same_request(fake, official.account_info, client.account_info)
    assert form == {}


@needs_sdk
def test_where_we_differ_from_the_official_sdk(official, client, fake):
    # Python lists given to the SDK become repeated form keys (requests' doseq encoding), which
    # is not Kavenegar's documented format (comma lists; JSON arrays for sendarray). We never
    # send repeated keys.
    official.sms_status({"messageid": [1, 2]})
    assert parse_qs(fake.requests[-1].body.decode()) == {"messageid": ["1", "2"]}
    client.status([1, 2])
    assert fake.requests[-1].form == {"messageid": ["1,2"]}

    # Its repr shows the key; a body without `return` escapes as a bare KeyError instead of an
    # API error; it has no timeout at all. Ours: masked repr, KavenegarError, explicit timeouts.
    assert SECRET in repr(official) and SECRET not in repr(client)
    fake.fail_next("account/info", 200, raw_body='{"entries": {}}')
    with pytest.raises(KeyError):
        official.account_info()
    fake.fail_next("account/info", 200, raw_body='{"entries": {}}')
    assert fail(client.account_info).kind is Kind.RETRY
