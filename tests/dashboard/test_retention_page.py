"""The retention page: the scripted shop of tests/reports/retention_shop.py (hand count in
tests/reports/test_retention.py), in Persian, money in toman, Jalali months."""

import re

import pytest

from tests.reports.retention_shop import PERIOD, two_shops

URL = "/panel/retention"


@pytest.fixture
def shop_panel(anonymous, factory, clock):
    store, other = two_shops(factory, clock)
    anonymous.sign_in(store)
    return anonymous, other


def _figure(page, name: str) -> str:
    return re.search(rf'id="fig-{name}">([^<]*)<', page.text)[1]


def _row(page, table: str, label: str) -> list[str]:
    body = page.text.split(f'id="{table}"')[1].split("</table>")[0]
    row = body.split(f">{label}")[1].split("</tr>")[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]


def test_the_periods_figures_months_and_cohorts_in_persian(shop_panel):
    panel, _ = shop_panel
    page = panel.get(URL, **PERIOD)
    assert page.status_code == 200
    assert 'href="/panel/retention" aria-current="page"' in page.text
    assert "از <b>۱۴۰۵/۰۷/۰۱</b> تا <b>۱۴۰۵/۰۹/۳۰</b> (۹۰ روز)" in page.text
    assert _figure(page, "returning-share") == "۱۱٪"  # 2,000,000 of 18,300,000
    assert _figure(page, "customers") == "۶"
    assert _figure(page, "repeat") == "۸۰٪"
    assert _figure(page, "repeat-90") == "۷۵٪"
    assert _figure(page, "second-order") == "۳۰ روز"
    assert _figure(page, "refund-rate") == "۱۷٪"
    assert _figure(page, "satisfaction") == "۵۰٪"
    assert _row(page, "month-table", "آبان ۱۴۰۵")[:8] == [
        "۵", "۳", "۲", "۱", "۷۸۰٬۰۰۰ تومان", "۲۶٪", "۱۵۶٬۰۰۰ تومان", "۰٪"]
    # Mehr's cohort: 3,000,000, 4,500,000 and 4,750,000 Rial per customer; 6 and 12 months
    # have not ended.
    assert _row(page, "cohort-table", "مهر ۱۴۰۵") == [
        "۲", "۲ (۱۰۰٪)", "۳۰۰٬۰۰۰ تومان", "۴۵۰٬۰۰۰ تومان", "۴۷۵٬۰۰۰ تومان", "—", "—"]
    assert "۱ سفارش بی تلفن" in page.text  # the guest
    assert "۱٬۰۰۰٬۰۰۰ تومان" not in page.text  # the other shop's sale


def test_a_period_without_orders_says_so(shop_panel):
    panel, _ = shop_panel
    page = panel.get(URL, **{"from": "1405/01/01", "to": "1405/01/31"})
    assert "هنوز سفارشی ثبت نشده" in page.text and 'id="cohort-table"' not in page.text


def test_presets_and_a_wrong_period_in_persian(shop_panel):
    panel, _ = shop_panel
    default = panel.get(URL)
    assert "(۹۰ روز)" in default.text and 'class="chip on">۹۰ روز اخیر' in default.text
    year = panel.get(URL, days="365")
    assert "(۳۶۵ روز)" in year.text
    wrong = panel.get(URL, **{"from": "۱۴۰۵/۱۳/۴۰"})
    assert wrong.status_code == 200 and "تاریخ را به شکل ۱۴۰۵/۰۹/۰۱" in wrong.text
    backwards = panel.get(URL, **{"from": "1405/09/10", "to": "1405/09/01"})
    assert backwards.status_code == 200 and "بازه درست نیست" in backwards.text


def test_signed_out_goes_to_the_sign_in_page(anonymous):
    response = anonymous.get(URL)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/panel/login")
