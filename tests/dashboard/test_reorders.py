"""The panel's reorders page: who is about to buy again, from the predictions of
app/campaigns/replenish.py, for a store whose orders came in as WooCommerce sends them."""

import re

from tests.campaigns.shop import tehran
from tests.factories import set_contact

TEA = 11


def _rows(html: str) -> list[str]:
    if 'id="reorder-table"' not in html:
        return []
    table = html[html.index('id="reorder-table"'):]
    return re.findall(r'<a href="/panel/contacts/\d+">([^<]+)</a>', table[:table.index("</table>")])


def test_the_customers_due_to_buy_again_in_persian(anonymous, store, shop, clock):
    shop.product(TEA, name="چای سبز")
    # مریم: tea every 30 days, last on 2026-11-05 → due 2026-12-05.
    for wc_id, day in ((1, "2026-09-06"), (2, "2026-10-06"), (3, "2026-11-05")):
        shop.order(wc_id, tehran(f"{day}T10:00"), phone="09121000001", items=((TEA, 1),),
                   name="مریم")
    # A one-time buyer on 2026-11-20: the store's median (30 days) → due 2026-12-20.
    shop.order(4, tehran("2026-11-20T10:00"), phone="09121000002", items=((TEA, 1),),
               name="سارا")
    clock.set(tehran("2026-12-01T09:00"))
    anonymous.sign_in(store)

    week = anonymous.get("/panel/reorders").text
    assert _rows(week) == ["مریم"]
    assert "۱۴۰۵/۰۹/۱۴" in week  # 2026-12-05 in Jalali
    assert "۴ روز دیگر" in week and "از خریدهای خودش" in week and "۳ بار خریده" in week
    assert "چای سبز" in week

    month = anonymous.get("/panel/reorders", days="30").text
    assert _rows(month) == ["مریم", "سارا"]
    assert "میانهٔ مشتری‌های این کالا" in month and "۱۴۰۵/۰۹/۲۹" in month  # 2026-12-20

    # An opted-out customer is never listed; nor is anything for another number of days.
    set_contact(shop.factory, store.id, "+989121000001", opted_out_at=tehran("2026-11-30T00:00"))
    assert _rows(anonymous.get("/panel/reorders", days="30").text) == ["سارا"]
    assert _rows(anonymous.get("/panel/reorders", days="999").text) == []


def test_a_store_without_repeat_buyers_says_so(panel):
    html = panel.get("/panel/reorders").text
    assert "در این بازه کسی به موعد خرید دوباره نمی‌رسد." in html
    assert 'href="/panel/reorders"' in panel.get("/panel/retention").text
