"""A merchant finds a customer by phone, sees what bazgasht did with them, opts them out or in
by hand, and imports a blacklist."""

from datetime import datetime, timezone

from sqlalchemy import select

from app.contacts.models import Contact
from app.db import unit_of_work
from app.messaging.gateway import ConsoleGateway
from app.messaging.inbound import read_replies
from app.messaging.models import InboundSms
from tests.campaigns.shop import PHONE, Shop, tehran
from tests.helpers import error_of

PHONE_UA = ("Mozilla/5.0 (Linux; Android 13; SM-A135F) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Mobile Safari/537.36")


def contact_id(api, phone: str = "۰۹۱۲۳۴۵۶۷۸۹") -> int:
    [found] = api.get("/api/v1/contacts", params={"phone": phone}).json()["items"]
    return found["id"]


def test_find_a_contact_by_phone_in_any_digits(api, shop):
    shop.cart("find-cart-00001", tehran("2026-11-24T10:00"))
    for form in ("۰۹۱۲۳۴۵۶۷۸۹", "٠٩١٢٣٤٥٦٧٨٩", "+98 912 345 6789", "00989123456789", "9123456789"):
        response = api.get("/api/v1/contacts", params={"phone": form})
        assert response.status_code == 200
        [contact] = response.json()["items"]
        assert (contact["phone"], contact["first_name"], contact["opted_out"]) == (
            PHONE, "علی", False)
    assert api.get("/api/v1/contacts", params={"phone": "09120000000"}).json() == {
        "items": [], "next_cursor": None}
    bad = api.get("/api/v1/contacts", params={"phone": "021-44556677"})
    assert bad.status_code == 422 and error_of(bad)["code"] == "invalid_phone"
    assert "not a mobile number" in error_of(bad)["message"]


def test_a_contacts_history_shows_messages_clicks_orders_and_replies(api, shop, client,
                                                                     live_server, factory):
    shop.cart("history-cart-01", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:00"))
    [sms] = shop.sms()
    tap = client.get(f"/{shop.link(sms.text).code}", headers={"User-Agent": PHONE_UA})
    assert tap.status_code == 302
    live_server.app.state.click_recorder.flush()
    shop.order(7001, tehran("2026-11-24T15:00"), cart_token="history-cart-01")
    with unit_of_work(factory) as session:  # then the customer replies «۱۱» to the line
        session.add(InboundSms(store_id=shop.store.id, gateway_id="r-1", sender="09123456789",
                               text="۱۱", received_at=tehran("2026-11-25T08:00")))
    read_replies(factory, ConsoleGateway(factory), datetime.now(timezone.utc))

    response = api.get(f"/api/v1/contacts/{contact_id(api)}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["opted_out"] is True and body["opt_out_source"] == "sms reply"
    first, *rest = sorted(body["messages"], key=lambda m: m["id"])
    assert first["status"] == "delivered" and first["text"] == sms.text
    assert (first["human_clicks"], first["campaign_kind"], first["step_position"]) == (
        1, "abandoned_cart", 1)
    assert [(m["status"], m["reason"]) for m in rest] == [("skipped", "purchased")] * 2
    [order] = body["orders"]
    assert (order["wc_id"], order["purchased"], order["total"]) == (7001, True, 6_000_000)
    assert (order["attributed_message_id"], order["attribution_basis"]) == (first["id"],
                                                                            "cart_token")
    assert body["consent_events"] == [{"at": "2026-11-25T04:30:00Z", "action": "opt_out",
                                       "source": "sms reply", "text": "۱۱"}]


def test_opt_out_and_back_in_by_hand(api, shop):
    shop.cart("hand-cart-00001", tehran("2026-11-24T10:00"))
    contact = contact_id(api)
    out = api.post(f"/api/v1/contacts/{contact}/opt-out")
    assert out.status_code == 200
    assert (out.json()["opted_out"], out.json()["opt_out_source"]) == (True, "merchant")
    detail = api.get(f"/api/v1/contacts/{contact}").json()
    assert [(e["action"], e["source"]) for e in detail["consent_events"]] == [
        ("opt_out", "merchant")]
    shop.tick(tehran("2026-11-24T11:00"))
    assert shop.sms() == []  # opted out: never texted
    back = api.post(f"/api/v1/contacts/{contact}/opt-in")
    assert back.status_code == 200 and back.json()["opted_out"] is False
    assert api.get("/api/v1/contacts", params={"opted_out": "true"}).json()["items"] == []


def test_opt_out_a_phone_nobody_has_used_yet(api, shop):
    response = api.post("/api/v1/contacts/opt-out", json={"phone": "۰۹۱۲۳۴۵۶۷۸۹"})
    assert response.status_code == 200
    assert (response.json()["phone"], response.json()["opted_out"]) == (PHONE, True)
    shop.cart("later-cart-0001", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:00"))
    assert shop.sms() == []
    bad = api.post("/api/v1/contacts/opt-out", json={"phone": "12"})
    assert bad.status_code == 422 and error_of(bad)["code"] == "invalid_phone"


BLACKLIST = ("نام,شماره موبایل\n"
             "علی,۰۹۱۲۳۴۵۶۷۸۹\n"
             "Sara,+98 912 765 4321\n"
             "landline,021-44556677\n"
             "\n"
             "again,0912 345 6789\n"
             "typo,09abc\n").encode()


def import_csv(api, data: bytes, content_type: str = "text/csv"):
    return api.post("/api/v1/contacts/blacklist", content=data,
                    headers={"Content-Type": content_type})


def test_a_blacklist_import_reports_what_it_did_and_is_idempotent(api, shop, factory):
    shop.cart("known-cart-0001", tehran("2026-11-24T09:00"))  # +989123456789 is known, opted in
    api.post("/api/v1/contacts/opt-out", json={"phone": "09350000000"})
    response = import_csv(api, BLACKLIST + "x,09350000000\n".encode())
    assert response.status_code == 200, response.text
    assert response.json() == {
        "rows": 6, "imported": 2, "already_opted_out": 1, "duplicates": 1, "invalid_count": 2,
        "invalid": [{"line": 4, "value": "021-44556677", "reason": "not a mobile number"},
                    {"line": 7, "value": "09abc", "reason": "not a phone number"}]}
    with factory() as session:
        sources = dict(session.execute(select(Contact.phone, Contact.opt_out_source)).all())
    assert sources == {PHONE: "blacklist import", "+989127654321": "blacklist import",
                       "+989350000000": "merchant"}
    again = import_csv(api, BLACKLIST)
    assert (again.json()["imported"], again.json()["already_opted_out"]) == (0, 2)
    shop.tick(tehran("2026-11-24T11:00"))
    assert shop.sms() == []  # the known customer's abandoned cart gets nothing


def test_a_plain_list_in_any_encoding_excel_writes(api):
    utf16 = "۰۹۱۲۱۱۱۲۲۳۳\r\n09124445566\r\n".encode("utf-16")
    response = import_csv(api, utf16, "text/plain")
    assert response.status_code == 200, response.text
    assert (response.json()["rows"], response.json()["imported"]) == (2, 2)
    with_bom = "\ufeff+989127778899;x\n".encode()
    assert import_csv(api, with_bom, "application/vnd.ms-excel").json()["imported"] == 1


def test_a_bad_file_is_refused_with_a_4xx_and_changes_nothing(api, factory):
    cases = [
        (b"", "text/csv", 400, "invalid_csv"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "text/csv", 400, "invalid_csv"),
        ("09121234567".encode("cp1256") + b"\xff\xfe\xfd", "text/csv", 400, "invalid_csv"),
        (b"--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n0912\r\n--x--",
         "multipart/form-data; boundary=x", 415, "unsupported_media_type"),
        (b'{"phones": ["09121234567"]}', "application/json", 415, "unsupported_media_type"),
        (b"09121234567\n" * (2 * 1024 * 1024 // 12 + 1), "text/csv", 413, "payload_too_large"),
    ]
    for data, content_type, status, code in cases:
        response = import_csv(api, data, content_type)
        assert response.status_code == status, (content_type, response.text)
        assert error_of(response)["code"] == code
    with factory() as session:
        assert session.scalars(select(Contact)).all() == []


def test_another_stores_contacts_are_not_found(api, other_api, client, other_store, factory,
                                               clock):
    Shop(client, other_store, factory, clock).cart("their-cart-0001", tehran("2026-11-24T10:00"))
    theirs = contact_id(other_api)
    for method, url in [("GET", f"/api/v1/contacts/{theirs}"),
                        ("POST", f"/api/v1/contacts/{theirs}/opt-out"),
                        ("POST", f"/api/v1/contacts/{theirs}/opt-in")]:
        response = api.request(method, url)
        assert response.status_code == 404 and error_of(response)["code"] == "contact_not_found"
    assert api.get("/api/v1/contacts", params={"phone": PHONE}).json()["items"] == []
    assert api.get("/api/v1/contacts").json()["items"] == []
    import_csv(api, b"09123456789\n")  # my blacklist is mine: their contact stays opted in
    assert other_api.get(f"/api/v1/contacts/{theirs}").json()["opted_out"] is False
