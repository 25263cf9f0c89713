"""Kavenegar's real-time receive URL: a customer's reply pushed to bazgasht as it arrives, over
real HTTP. A «۱۱» opts them out before any tick; the same reply pushed again or polled later is
one row; a wrong URL or a malformed call keeps nothing; the URL's token never reaches a log."""

import logging
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app import server_key
from app.contacts.models import Contact
from app.messaging.fake_kavenegar import DEFAULT_LINE, FakeKavenegar
from app.messaging.gateway import Gateways
from app.messaging.kavenegar_push import receive_token, receive_url
from app.messaging.models import InboundSms
from app.ops import logs
from tests.campaigns.shop import tehran
from tests.factories import use_kavenegar
from tests.helpers import error_of

KEY = "kavenegar-push-key-0123"
AT = tehran("2026-11-24T10:00")  # the cart is abandoned; its first reminder is due at 11:00
DUE = tehran("2026-11-24T11:00")
PHONE = "09123456789"


@pytest.fixture
def kavenegar():
    with FakeKavenegar(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def kshop(shop, kavenegar):
    """The shop, sending through (and polled from) the fake Kavenegar."""
    use_kavenegar(shop.factory, shop.store.id, KEY)
    shop.gateway = Gateways(shop.factory, kavenegar_base_url=kavenegar.base_url, read_timeout=0.5)
    return shop


def path_of(live_server, store_id: int) -> str:
    """The path of the store's receive URL, as the panel shows it."""
    return urlsplit(receive_url(live_server.url, server_key.of_app(live_server.app),
                                store_id)).path


def token_of(live_server, store_id: int) -> str:
    return receive_token(server_key.of_app(live_server.app), store_id)


def reply(messageid, text: str, sender: str = PHONE) -> dict:
    return {"messageid": str(messageid), "from": sender, "to": DEFAULT_LINE, "message": text}


def opted_out(factory) -> bool | None:
    """None: the store has no contact for PHONE."""
    with factory() as session:
        contact = session.scalar(select(Contact).where(Contact.phone == "+989123456789"))
    return None if contact is None else contact.opted_out_at is not None


def kept(factory) -> list[InboundSms]:
    with factory() as session:
        return list(session.scalars(select(InboundSms).order_by(InboundSms.id)))


# -- a pushed reply acts at once ---------------------------------------------------------------

def test_a_pushed_eleven_opts_the_customer_out_before_any_tick(kshop, kavenegar, client,
                                                                live_server):
    kshop.cart("push-cart-1", AT)
    kshop.apply(AT)
    assert opted_out(kshop.factory) is False

    answer = client.post(path_of(live_server, kshop.store.id), data=reply(9001, "۱۱"))

    assert answer.status_code == 200 and answer.json() == {"ok": True, "new": True}
    assert opted_out(kshop.factory) is True  # no tick has run
    [row] = kept(kshop.factory)
    assert (row.gateway_id, row.sender, row.line, row.text, row.action) == \
        ("9001", PHONE, DEFAULT_LINE, "۱۱", "opt_out")
    assert row.processed_at is not None
    kshop.tick(DUE)  # the reminder's turn: nothing goes out
    assert kavenegar.messages == [] and not [m for m in kshop.messages() if m.status == "sent"]


def test_a_pushed_twelve_by_get_opts_back_in(kshop, client, live_server):
    path = path_of(live_server, kshop.store.id)
    client.get(path, params=reply(9001, "لغو"))
    assert opted_out(kshop.factory) is True

    answer = client.get(path, params=reply(9002, "12"))

    assert answer.status_code == 200
    assert opted_out(kshop.factory) is False
    assert [r.action for r in kept(kshop.factory)] == ["opt_out", "opt_in"]


def test_field_names_in_any_case_from_the_query_or_the_form(kshop, client, live_server):
    path = path_of(live_server, kshop.store.id)
    assert client.post(path, data={"MessageId": "9001", "FROM": PHONE, "Message": "۱۱"}
                       ).status_code == 200
    # Some clients put the fields in a POST's query string, with an empty body.
    assert client.post(path, params={"messageid": "۹۰۰۲", "from": PHONE, "message": "12"}
                       ).status_code == 200
    assert [(r.gateway_id, r.line, r.action) for r in kept(kshop.factory)] == \
        [("9001", "", "opt_out"), ("9002", "", "opt_in")]


def test_a_sender_that_is_no_phone_is_kept_like_a_polled_one(kshop, client, live_server):
    answer = client.post(path_of(live_server, kshop.store.id), data=reply(9001, "۱۱", "Irancell"))

    assert answer.status_code == 200
    [row] = kept(kshop.factory)
    assert (row.sender, row.action) == ("Irancell", "opt_out") and row.processed_at is not None
    with kshop.factory() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0


# -- once, however it arrives --------------------------------------------------------------------

def test_the_same_reply_pushed_twice_and_then_polled_is_one_row(kshop, kavenegar, client,
                                                                 live_server):
    messageid = kavenegar.push_inbound(PHONE, "۱۱")  # in the line's inbox, for the poll too
    path = path_of(live_server, kshop.store.id)

    first = client.post(path, data=reply(messageid, "۱۱"))
    again = client.get(path, params=reply(messageid, "۱۱"))
    kshop.tick(DUE)  # the replies job reads sms/receive: the same messageid

    assert (first.json()["new"], again.json()["new"]) == (True, False)
    assert kavenegar.calls("receive")  # the poll did run
    [row] = kept(kshop.factory)
    assert (row.gateway_id, row.action) == (str(messageid), "opt_out")
    assert opted_out(kshop.factory) is True


def test_a_reply_polled_first_and_pushed_later_is_one_row(kshop, kavenegar, client, live_server):
    messageid = kavenegar.push_inbound(PHONE, "۱۱")
    kshop.tick(DUE)

    late = client.post(path_of(live_server, kshop.store.id), data=reply(messageid, "۱۱"))

    assert late.status_code == 200 and late.json()["new"] is False
    assert len(kept(kshop.factory)) == 1


# -- wrong URLs and bad calls keep nothing -------------------------------------------------------

def test_a_wrong_token_or_store_is_404_alike_and_keeps_nothing(kshop, other_store, client,
                                                               live_server):
    sid = kshop.store.id
    token = token_of(live_server, sid)
    wrong = [f"/hooks/kavenegar/{sid}/{token[:-1]}x", f"/hooks/kavenegar/{sid}/{token}x",
             f"/hooks/kavenegar/{sid}/short",
             f"/hooks/kavenegar/{other_store.id}/{token}",  # this store's token, another store
             f"/hooks/kavenegar/999999/{token}", f"/hooks/kavenegar/abc/{token}",
             f"/hooks/kavenegar/99999999999999999999/{token}"]
    answers = [client.post(path, data=reply(9001, "۱۱")) for path in wrong]
    answers.append(client.get(f"/hooks/kavenegar/999999/{token_of(live_server, 999999)}",
                              params=reply(9001, "۱۱")))  # a right token, no such store

    assert {a.status_code for a in answers} == {404}
    assert {error_of(a)["code"] for a in answers} == {"not_found"}
    assert len({a.text for a in answers}) == 1  # no hint of which part was wrong
    assert token not in answers[0].text
    assert kept(kshop.factory) == [] and opted_out(kshop.factory) is None


@pytest.mark.parametrize("fields, problem", [
    ({"from": PHONE, "message": "۱۱"}, "messageid is missing"),
    ({"messageid": "", "from": PHONE, "message": "۱۱"}, "messageid is missing"),
    ({"messageid": "abc", "from": PHONE, "message": "۱۱"}, "positive integer"),
    ({"messageid": "-5", "from": PHONE, "message": "۱۱"}, "positive integer"),
    ({"messageid": "9" * 20, "from": PHONE, "message": "۱۱"}, "positive integer"),
    ({"messageid": "9001", "message": "۱۱"}, "from is missing"),
    ({"messageid": "9001", "from": " ", "message": "۱۱"}, "from is missing"),
    ({"messageid": "9001", "from": "9" * 33, "message": "۱۱"}, "from is longer"),
    ({"messageid": "9001", "from": PHONE, "to": "1" * 33, "message": "۱۱"}, "to is longer"),
    ({"messageid": "9001", "from": PHONE}, "message is missing"),
    ({"messageid": "9001", "from": PHONE, "message": "۱" * 4001}, "message is longer"),
])
def test_a_missing_or_oversized_field_is_422_named_and_nothing_is_kept(kshop, client, live_server,
                                                                       fields, problem):
    path = path_of(live_server, kshop.store.id)
    by_post, by_get = client.post(path, data=fields), client.get(path, params=fields)

    for answer in (by_post, by_get):
        assert answer.status_code == 422
        assert error_of(answer)["code"] == "invalid_reply"
        assert problem in error_of(answer)["message"]
    assert kept(kshop.factory) == []


def test_bodies_that_are_not_a_small_urlencoded_form_are_refused(kshop, client, live_server):
    path = path_of(live_server, kshop.store.id)
    as_json = client.post(path, json=reply(9001, "۱۱"))
    too_large = client.post(path, data=reply(9001, "۱۱") | {"pad": "x" * 70_000})
    too_many = client.post(path, data=reply(9001, "۱۱") | {f"f{i}": "1" for i in range(60)})
    not_utf8 = client.post(path, content="messageid=9001&from=0912&message=%FF".encode(),
                           headers={"content-type": "application/x-www-form-urlencoded"})

    assert (as_json.status_code, error_of(as_json)["code"]) == (415, "unsupported_media_type")
    assert (too_large.status_code, error_of(too_large)["code"]) == (413, "payload_too_large")
    assert too_many.status_code == 422 and not_utf8.status_code == 422
    assert kept(kshop.factory) == []


def test_a_call_with_none_of_the_fields_is_a_ping(kshop, client, live_server):
    """The URL tried in a browser, or by the panel that saves it: 200, nothing kept."""
    answer = client.get(path_of(live_server, kshop.store.id))
    assert answer.status_code == 200 and answer.json() == {"ok": True, "ping": True}
    assert kept(kshop.factory) == []


# -- the token is a secret ---------------------------------------------------------------------

def test_the_token_is_stable_per_store_and_key_and_changes_with_the_key():
    assert receive_token(b"key-one", 7) == receive_token(b"key-one", 7)
    assert receive_token(b"key-one", 7) != receive_token(b"key-one", 8)
    assert receive_token(b"key-one", 7) != receive_token(b"key-two", 7)
    assert len(receive_token(b"key-one", 7)) == 43  # 256 bits, base64url


@pytest.fixture
def every_line():
    """Every record of the process, the server's access lines included, with redaction
    installed as the edges (asgi, serve, Celery) install it."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in ("", "uvicorn.access", "uvicorn.error")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    logs.install_redaction()
    yield records
    logs.uninstall_redaction()
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_the_token_never_appears_in_logs(kshop, client, live_server, every_line):
    sid = kshop.store.id
    token = token_of(live_server, sid)
    path = path_of(live_server, sid)
    client.get(path, params=reply(9001, "۱۱"))
    client.post(path, data=reply(9002, "12"))
    client.post(path, data={"from": PHONE})  # refused: 422
    client.post(path, json={"messageid": 9003})  # refused: 415, logged as a warning

    lines = [r.getMessage() for r in every_line]
    assert not [line for line in lines if token in line]
    assert not [line for line in lines if PHONE in line]  # masked, or not there at all
    # The check has teeth: the server did log the calls, the path's secret masked.
    assert any(r.name == "uvicorn.access" and f"/hooks/kavenegar/{sid}/***" in r.getMessage()
               for r in every_line)
    assert any("kavenegar pushed reply 9001" in line for line in lines)


# -- where the merchant finds it -----------------------------------------------------------------

def test_the_admin_api_gives_the_url_while_the_store_sends_through_kavenegar(kshop, api, client):
    url = api.get("/api/v1/store").json()["kavenegar_receive_url"]
    assert urlsplit(url).path.startswith(f"/hooks/kavenegar/{kshop.store.id}/")
    assert client.post(urlsplit(url).path, data=reply(9001, "۱۱")).status_code == 200
    assert opted_out(kshop.factory) is True

    switched = api.patch("/api/v1/store", json={"sms_provider": "console"})
    assert switched.status_code == 200 and switched.json()["kavenegar_receive_url"] is None
