"""CSV exports the merchant opens in Excel: November's messages and the orders they brought."""

import csv
import io

from tests.reports.conftest import NOVEMBER, headers

BOM = "\ufeff"


def download(client, path, store, **params):
    with client.stream("GET", path, params=NOVEMBER | params, headers=headers(store)) as response:
        assert response.status_code == 200, response.read()
        chunks = [chunk for chunk in response.iter_bytes()]
        return response, b"".join(chunks)


def rows_of(body: bytes) -> list[dict]:
    text = body.decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def test_messages_csv_has_every_message_of_the_period_in_order(client, seeded):
    response, body = download(client, "/api/v1/reports/messages.csv", seeded.store)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="bazgasht-messages-2026-11-01-2026-11-30.csv"')
    assert b"\r\n" in body  # Excel's line ends
    rows = rows_of(body)
    ids = seeded.ids
    # By when each went out (or, not sent, was due): m11 due 23:50 before m14 sent 23:59.
    assert [int(r["message_id"]) for r in rows] == [ids[n] for n in (
        1, 2, 3, 4, 9, 10, 6, 12, 5, 7, 8, 13, 11, 14)]
    by_id = {int(r["message_id"]): r for r in rows}
    m1, m2, m3, m4 = (by_id[ids[n]] for n in (1, 2, 3, 4))
    assert (m1["campaign"], m1["step"], m1["variant"], m1["status"]) == (
        "abandoned_cart", "1", "A", "delivered")
    assert (m1["date"], m1["date_jalali"], m1["sent_at"]) == (
        "2026-11-01", "۱۴۰۵/۰۸/۱۰", "2026-11-01T00:10:00+03:30")
    assert (m1["cost_rial"], m1["cost_estimated"], m1["orders"], m1["order_numbers"],
            m1["revenue_rial"]) == ("1200", "no", "1", "1401", "5000000")
    assert (m2["cost_rial"], m2["cost_estimated"], m2["human_clicks"]) == ("3000", "yes", "3")
    assert (m3["cost_rial"], m3["delivery_status"]) == ("0", "14")  # refunded
    assert (m4["orders"], m4["revenue_rial"]) == ("1", "2000000")  # the cancelled one is gone
    not_sent = by_id[ids[11]]
    assert (not_sent["status"], not_sent["sent_at"], not_sent["cost_rial"]) == ("scheduled", "", "")
    # Phones masked by default; a formula typed as a name is defused.
    assert m1["phone"].startswith("+989") and m1["phone"][4:9] == "*****"
    assert len(m1["phone"]) == 13 and m1["phone"][-4:].isdigit()
    assert m1["first_name"] == "'=HYPERLINK(\"http://x\")"
    # Summed, the file gives the report's figures.
    assert sum(int(r["cost_rial"] or 0) for r in rows) == 15250
    assert sum(int(r["revenue_rial"] or 0) for r in rows) == 11_500_000


def test_full_phones_when_asked(client, seeded):
    _, body = download(client, "/api/v1/reports/messages.csv", seeded.store, phones="full")
    phones = [r["phone"] for r in rows_of(body)]
    assert all(p.startswith("+98912") and p[1:].isdigit() and len(p) == 13 for p in phones)


def test_orders_csv_lists_the_credited_orders(client, seeded):
    response, body = download(client, "/api/v1/reports/orders.csv", seeded.store)
    assert 'filename="bazgasht-orders-2026-11-01-2026-11-30.csv"' in (
        response.headers["content-disposition"])
    rows = rows_of(body)
    assert [(r["order_number"], r["revenue_rial"], r["campaign"], r["basis"], r["recovered_cart"],
             r["cross_sell_purchase"]) for r in rows] == [
        ("1401", "5000000", "abandoned_cart", "cart_token", "yes", "no"),
        ("1402", "2000000", "abandoned_cart", "click", "yes", "no"),
        ("1403", "1500000", "abandoned_cart", "coupon", "yes", "no"),
        ("1404", "3000000", "cross_sell", "cross_sell", "no", "yes")]
    first = rows[0]
    assert (first["variant"], first["step"], first["order_date"], first["order_date_jalali"]) == (
        "A", "1", "2026-11-01T10:00:00+03:30", "۱۴۰۵/۰۸/۱۰")
    assert first["message_id"] == str(seeded.ids[1])
    assert first["first_name"].startswith("'=")
    assert "*****" in first["phone"]


def test_exports_of_one_campaign(client, seeded):
    _, body = download(client, "/api/v1/reports/messages.csv", seeded.store,
                       campaign_id=seeded.campaign_ids["post_purchase_survey"])
    assert sorted(int(r["message_id"]) for r in rows_of(body)) == sorted(
        [seeded.ids[6], seeded.ids[7]])
    _, body = download(client, "/api/v1/reports/orders.csv", seeded.store,
                       campaign_id=seeded.campaign_ids["cross_sell"])
    assert [r["order_number"] for r in rows_of(body)] == ["1404"]


def test_a_long_export_comes_in_pages(client, factory, store):
    """More rows than one page (1,000), every one exactly once, in order."""
    from app.db import unit_of_work
    from tests.reports.history import History

    with unit_of_work(factory) as session:
        h = History(session, store.id)
        h.many("abandoned_cart", 1, variant="A", sent="2026-11-05 10:00", count=1500, clicks=30,
               orders=1)
        h.many("abandoned_cart", 1, variant="B", sent="2026-11-05 10:00", count=700, clicks=0,
               orders=0)
    _, body = download(client, "/api/v1/reports/messages.csv", store)
    ids = [int(r["message_id"]) for r in rows_of(body)]
    assert len(ids) == 2200 and ids == sorted(ids) and len(set(ids)) == 2200
