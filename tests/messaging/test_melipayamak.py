"""Our MeliPayamak console-API client against the fake gateway, over real HTTP on loopback.
Nothing of ours is mocked; where no source settled an answer, the fake plays both."""

import logging
import pickle
import traceback

import httpx
import pytest

from app.messaging.fake_melipayamak import DEFAULT_LINE, FakeMeliPayamak
from app.messaging.melipayamak import (
    CODES,
    Credit,
    Kind,
    MeliPayamakClient,
    MeliPayamakError,
    classify,
    install_log_redaction,
    is_rec_id,
    local_number,
    redact,
)

SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"  # token-like: must never show up
ALI, SARA = "09121111111", "09352222222"


@pytest.fixture
def fake():
    with FakeMeliPayamak(api_key=SECRET) as server:
        yield server


@pytest.fixture
def client(fake):
    with MeliPayamakClient(SECRET, base_url=fake.base_url, connect_timeout=2,
                           read_timeout=5) as c:
        yield c


def fail(call) -> MeliPayamakError:
    with pytest.raises(MeliPayamakError) as caught:
        call()
    return caught.value


# -- round trips ----------------------------------------------------------------------------------

def test_a_simple_send_posts_json_with_the_key_in_the_path(client, fake):
    sent = client.send_simple(ALI, "سبد خرید شما منتظر است", sender=DEFAULT_LINE)

    [message] = fake.messages
    assert sent.rec_ids == (message.rec_id,) and is_rec_id(message.rec_id)
    [call] = fake.calls("send/simple")
    assert (call.http_method, call.path) == ("POST", f"/api/send/simple/{SECRET}")
    assert call.body == {"from": DEFAULT_LINE, "to": ALI, "text": "سبد خرید شما منتظر است"}
    assert message.cost == fake.price_per_part


def test_an_advanced_send_gives_one_rec_id_per_number_in_order(client, fake):
    sent = client.send_advanced([ALI, SARA], "تخفیف ویژه", sender=DEFAULT_LINE)

    assert sent.rec_ids == tuple(m.rec_id for m in fake.messages)
    assert [m.receptor for m in fake.messages] == [ALI, SARA]
    assert fake.calls("send/advanced")[0].body == {"from": DEFAULT_LINE, "to": [ALI, SARA],
                                                   "text": "تخفیف ویژه", "udh": ""}


def test_an_advanced_send_is_capped_before_it_leaves(client, fake):
    with pytest.raises(ValueError):
        client.send_advanced([ALI] * 101, "x", sender=DEFAULT_LINE)
    assert fake.requests == []


def test_a_shared_pattern_send_takes_the_body_id_and_positional_args(client, fake):
    fake.patterns[2002] = 2
    sent = client.send_shared(ALI, 2002, ["علی", "۱۲۳۴"])

    [message] = fake.messages
    assert sent.rec_ids == (message.rec_id,) and (message.body_id, message.args) == (
        2002, ["علی", "۱۲۳۴"])
    assert fake.calls("send/shared")[0].body == {"to": ALI, "bodyId": 2002, "args": ["علی", "۱۲۳۴"]}


def test_statuses_come_back_as_codes_per_rec_id_until_final(client, fake):
    fake.set_outcome(1, after_polls=1)
    [rec_id] = client.send_simple(ALI, "x", sender=DEFAULT_LINE).rec_ids

    assert [d.code for d in client.statuses([rec_id, 999999999999])] == [0, 100]
    [report] = client.statuses([rec_id])
    assert (report.rec_id, report.code, report.text) == (rec_id, 1, "رسیده به گوشی")
    assert fake.calls("receive/status")[0].body == {"recIds": [str(rec_id), "999999999999"]}


def test_the_inbox_and_the_outbox_are_pages_of_the_line(client, fake):
    first = fake.push_inbound("09121111111", "لغو")
    fake.push_inbound("09352222222", "۱۱", line="50009999")
    client.send_simple(SARA, "سلام", sender=DEFAULT_LINE)

    [inbound] = client.messages("in", DEFAULT_LINE)
    assert (inbound.msg_id, inbound.sender, inbound.receiver, inbound.body) == (
        first, "09121111111", DEFAULT_LINE, "لغو")
    assert inbound.sent_at is not None and inbound.sent_at.utcoffset() is not None
    [outbound] = client.messages("out", DEFAULT_LINE)
    assert (outbound.msg_id, outbound.receiver, outbound.body) == (
        fake.messages[0].rec_id, SARA, "سلام")
    assert fake.calls("receive/messages")[0].body == {"type": "in", "number": DEFAULT_LINE,
                                                      "index": 0, "count": 100}


def test_the_credit_is_a_get_with_the_amount(client, fake):
    fake.credit = 1_234_560
    assert client.credit() == Credit(1_234_560.0)
    [call] = fake.calls("receive/credit")
    assert (call.http_method, call.body) == ("GET", None)


# -- refusals: the panel's codes, whichever HTTP status carries them ------------------------------

@pytest.mark.parametrize("refusal_http", [200, 400])
def test_a_refusal_code_in_the_id_slot_is_classified(client, fake, refusal_http):
    fake.refusal_http = refusal_http
    fake.credit = 0
    error = fail(lambda: client.send_simple(ALI, "x", sender=DEFAULT_LINE))
    assert (error.status, error.kind, error.ambiguous) == (2, Kind.STORE, False)
    assert "اعتبار کافی نیست" in error.message

    fake.credit = 10_000_000
    fake.invalid_receptors.add(SARA)
    error = fail(lambda: client.send_advanced([ALI, SARA], "x", sender=DEFAULT_LINE))
    assert (error.status, error.kind) == (18, Kind.RECIPIENT)
    assert fake.messages == []


def test_a_number_refused_alone_keeps_its_code_in_its_slot(client, fake):
    fake.per_number_codes = True
    fake.invalid_receptors.add(SARA)
    sent = client.send_advanced([ALI, SARA], "x", sender=DEFAULT_LINE)
    assert is_rec_id(sent.rec_ids[0]) and sent.rec_ids[1] == 18
    assert [m.receptor for m in fake.messages] == [ALI]


@pytest.mark.parametrize(("code", "kind"), [
    (0, Kind.STORE), (2, Kind.STORE), (3, Kind.RETRY), (5, Kind.STORE), (6, Kind.RETRY),
    (7, Kind.RECIPIENT), (11, Kind.RECIPIENT), (14, Kind.STORE), (15, Kind.INVALID),
    (18, Kind.RECIPIENT), (35, Kind.RECIPIENT), (-4, Kind.INVALID), (-110, Kind.STORE),
    (77, Kind.INVALID)])
def test_each_code_means_what_the_table_says(client, fake, code, kind):
    assert classify(code) == kind
    fake.fail_next("send/simple", code)
    assert fail(lambda: client.send_simple(ALI, "x", sender=DEFAULT_LINE)).kind == kind


def test_every_code_in_the_table_is_a_kind():
    assert all(isinstance(kind, Kind) for kind in CODES.values())
    assert classify(None) == Kind.RETRY


def test_the_fake_refuses_what_the_panel_refuses(client, fake):
    fake.links_allowed, fake.require_opt_out = False, True
    assert fail(lambda: client.send_simple(ALI, "https://s.example/x",
                                           sender=DEFAULT_LINE)).status == 14
    assert fail(lambda: client.send_advanced([ALI, SARA], "تخفیف",
                                             sender=DEFAULT_LINE)).status == 15
    assert client.send_advanced([ALI, SARA], "تخفیف\nلغو11", sender=DEFAULT_LINE).rec_ids
    assert fail(lambda: client.send_simple(ALI, "x", sender="3000")).status == 5
    assert fail(lambda: client.send_shared(ALI, 4040, ["1"])).status == -4
    assert fail(lambda: client.send_shared(ALI, 1001, ["1", "2"])).status == -5


def test_a_missing_field_is_our_bug(client, fake):
    error = fail(lambda: client.send_simple(ALI, None, sender=DEFAULT_LINE))  # type: ignore[arg-type]
    assert (error.status, error.kind) == (400, Kind.INVALID)


def test_a_wrong_key_is_the_store_s_to_fix(fake):
    with MeliPayamakClient("not-the-key", base_url=fake.base_url) as wrong:
        error = fail(wrong.credit)
    assert (error.status, error.kind, error.ambiguous) == (401, Kind.STORE, False)


@pytest.mark.parametrize(("http", "kind"), [(429, Kind.RETRY), (503, Kind.RETRY),
                                            (403, Kind.STORE), (404, Kind.INVALID)])
def test_an_answer_without_a_code_is_classified_by_its_http_status(client, fake, http, kind):
    fake.fail_next("receive/credit", http)
    error = fail(client.credit)
    assert (error.status, error.kind, error.ambiguous) == (http, kind, False)


# -- lost answers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("http", [200, 502])
def test_a_page_that_is_not_melipayamak_may_have_been_processed(client, fake, http):
    fake.fail_next("send/simple", http, raw_body="<html>Bad Gateway</html>")
    error = fail(lambda: client.send_simple(ALI, "x", sender=DEFAULT_LINE))
    assert (error.kind, error.ambiguous) == (Kind.RETRY, True)


def test_a_dropped_connection_after_the_work_is_ambiguous(client, fake):
    fake.drop_next("send/simple", after_work=True)
    error = fail(lambda: client.send_simple(ALI, "x", sender=DEFAULT_LINE))
    assert (error.status, error.kind, error.ambiguous, error.timed_out) == (
        None, Kind.RETRY, True, False)
    assert len(fake.messages) == 1


def test_a_send_answered_too_late_timed_out_and_is_ambiguous(fake):
    fake.hold("send/simple")
    with MeliPayamakClient(SECRET, base_url=fake.base_url, read_timeout=0.2) as impatient:
        error = fail(lambda: impatient.send_simple(ALI, "x", sender=DEFAULT_LINE))
    fake.release("send/simple")
    assert (error.kind, error.ambiguous, error.timed_out) == (Kind.RETRY, True, True)


def test_a_question_uses_the_shorter_query_timeout(fake):
    fake.stall("receive/credit", 30)
    with MeliPayamakClient(SECRET, base_url=fake.base_url, read_timeout=30,
                           query_timeout=0.2) as client:
        error = fail(client.credit)
    assert error.timed_out


def test_no_connection_at_all_is_not_ambiguous():
    with MeliPayamakClient(SECRET, base_url="http://127.0.0.1:9", connect_timeout=1) as nowhere:
        error = fail(lambda: nowhere.send_simple(ALI, "x", sender=DEFAULT_LINE))
    assert (error.kind, error.ambiguous) == (Kind.RETRY, False)


def test_a_success_without_ids_is_ambiguous(client, fake):
    fake.fail_next("send/advanced", 200, raw_body='{"recIds": [], "status": "ارسال موفق بود"}')
    error = fail(lambda: client.send_advanced([ALI, SARA], "x", sender=DEFAULT_LINE))
    assert (error.kind, error.ambiguous) == (Kind.RETRY, True)


# -- the key --------------------------------------------------------------------------------------

def test_errors_pickle_with_everything(client, fake):
    fake.fail_next("send/simple", 35)
    error = fail(lambda: client.send_simple(ALI, "x", sender=DEFAULT_LINE))
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.status, copy.kind, copy.path, str(copy)) == (35, Kind.RECIPIENT,
                                                              "/api/send/simple/***", str(error))


def test_the_api_key_never_appears_in_logs_errors_or_reprs(fake, caplog):
    caplog.set_level(logging.DEBUG)
    errors = []
    with MeliPayamakClient(SECRET, base_url=fake.base_url, read_timeout=0.5) as client:
        client.send_simple(ALI, "Hi", sender=DEFAULT_LINE)
        page = f"<html>upstream error for /api/send/simple/{SECRET}</html>"  # a proxy echoing it
        fake.fail_next("send/simple", 502, raw_body=page)
        errors.append(fail(lambda: client.send_simple(ALI, "Hi", sender=DEFAULT_LINE)))
        fake.fail_next("receive/credit", 500, raw_body=f'{{"status": "bad token {SECRET}"}}')
        errors.append(fail(client.credit))
        fake.stall("receive/status", 30)
        errors.append(fail(lambda: client.statuses([1])))
        texts = [repr(client), str(client)]
    with MeliPayamakClient(SECRET, base_url="http://127.0.0.1:9", connect_timeout=1) as lost:
        errors.append(fail(lost.credit))
    fake.api_key = "another-key"
    with MeliPayamakClient(SECRET, base_url=fake.base_url) as rejected:
        errors.append(fail(rejected.credit))

    for error in errors:
        texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
    texts += [record.getMessage() for record in caplog.records]
    assert not [t for t in texts if SECRET in t]
    # The check has teeth: httpx did log the requests, with the key masked.
    assert any(r.name == "httpx" and "/api/send/simple/***" in r.getMessage()
               for r in caplog.records)
    assert all(e.path and e.path.endswith("/***") for e in errors)


def test_the_log_filter_masks_any_console_url_once_installed():
    install_log_redaction()
    install_log_redaction()
    filters = [f for f in logging.getLogger("httpx").filters
               if type(f).__name__ == "_RedactTokenFilter"]
    assert len(filters) == 1
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, 'HTTP Request: %s %s "%s"',
                               ("POST", f"https://console.melipayamak.com/api/receive/status/"
                                        f"{SECRET}", "HTTP/1.1 200 OK"), None)
    filters[0].filter(record)
    assert SECRET not in record.getMessage() and "/api/receive/status/***" in record.getMessage()
    assert redact("see /v1/send/bulk and /api/send") == "see /v1/send/bulk and /api/send"


def test_numbers_go_as_the_panel_writes_them():
    assert [local_number(n) for n in ("+989121111111", "989121111111", "00989121111111",
                                      "09121111111", "0912 111 1111", "+4915112345678")] == [
        ALI, ALI, ALI, ALI, ALI, "+4915112345678"]


def test_the_fake_answers_unknown_paths_and_methods_like_a_server(fake):
    assert httpx.post(f"{fake.base_url}/send/nosuch/{SECRET}").status_code == 404
    assert httpx.get(f"{fake.base_url}/send/simple/{SECRET}").status_code == 404
    assert httpx.get(f"{fake.base_url}/receive/credit/wrong").status_code == 401
    assert fake.messages == []
