"""A campaign's own page: what it earned in the chosen period beside the ten (or thirty …) days
before, per step and A/B variant, and its CSV files, over real HTTP with a signed-in session.
The hand count is in tests/dashboard/seed.py (seed_campaign_history)."""

import csv
import io
import re
from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy import select

from app.campaigns.models import CampaignStep
from app.dashboard.numbers import change, times
from app.db import unit_of_work
from app.http import tls
from tests.dashboard.seed import CAMPAIGN_PERIOD, CAMPAIGN_PERIOD_ISO, seed_campaign_history
from tests.dashboard.test_panel import location, text_of


@pytest.fixture
def history(factory, seeded) -> dict:
    with unit_of_work(factory) as session:
        return seed_campaign_history(session, seeded.store.id)


@pytest.fixture
def cart(seeded) -> int:
    return seeded.campaign_ids["abandoned_cart"]


def figure(page: httpx.Response, key: str) -> str:
    """The visible text of one figure of the page's summary."""
    found = re.search(rf'<div class="figure compare" id="fig-{key}">(.*?)</div>', page.text, re.S)
    assert found, key
    return " ".join(re.sub(r"<[^>]+>", " ", found[1]).split())


def row(page: httpx.Response, row_id: str) -> str:
    found = re.search(rf'<tr class="[a-z]+" id="{row_id}">(.*?)</tr>', page.text, re.S)
    assert found, row_id
    return " ".join(re.sub(r"<[^>]+>", " ", found[1]).split())


def step_ids(factory, campaign_id: int) -> list[int]:
    with factory() as session:
        return list(session.scalars(select(CampaignStep.id).where(
            CampaignStep.campaign_id == campaign_id).order_by(CampaignStep.position)))


def test_the_figures_of_the_period_beside_the_previous_ones(panel, history, cart):
    page = panel.get(f"/panel/campaigns/{cart}", **CAMPAIGN_PERIOD)
    assert page.status_code == 200
    assert "از ۱۴۰۴/۰۶/۲۰ تا ۱۴۰۴/۰۶/۲۹ (۱۰ روز)" in text_of(page)
    assert re.search(r'id="previous-range">۱۴۰۴/۰۶/۱۰ تا ۱۴۰۴/۰۶/۱۹<', page.text)
    assert figure(page, "sent") == "پیامک ارسالی ۴ دورهٔ قبل: ۳ ▲ ۳۳٪"
    assert figure(page, "delivered") == "رسیده ۴ نرخ رسیدن ۱۰۰٪ دورهٔ قبل: ۳ (۱۰۰٪) ▲ ۳۳٪"
    assert figure(page, "clicks") == "کلیک ۲ نرخ کلیک ۵۰٪ دورهٔ قبل: ۲ (۶۷٪) ۰٪"
    assert figure(page, "orders") == "سفارش ۲ نرخ تبدیل ۵۰٪ دورهٔ قبل: ۱ (۳۳٪) ▲ ۱۰۰٪"
    assert figure(page, "revenue") == ("درآمد بازگشتی ۶۰۰٬۰۰۰ تومان دورهٔ قبل: ۱۰۰٬۰۰۰ تومان "
                                       "▲ ۵۰۰٪")
    assert figure(page, "cost") == "هزینهٔ پیامک ۳۰٬۰۰۰ تومان دورهٔ قبل: ۲۵٬۰۰۰ تومان ▲ ۲۰٪"
    assert figure(page, "return_on_spend") == "بازده هزینه ۲۰ برابر دورهٔ قبل: ۴ برابر ▲ ۴۰۰٪"
    # Nothing was taken back before: no percentage of nothing.
    assert figure(page, "revenue_taken_back") == ("درآمد پس‌گرفته ۵۰٬۰۰۰ تومان دورهٔ قبل: "
                                                  "۰ تومان —")
    # More revenue is good news, more taken back bad news.
    assert re.search(r'id="fig-revenue">.*?class="change good">▲ ۵۰۰٪<', page.text, re.S)
    assert re.search(r'id="fig-sent">.*?class="change">▲ ۳۳٪<', page.text, re.S)
    assert "ارسال‌نشده در این بازه: نگه داشته شده ۱، فرستاده نشد ۱" in text_of(page)


def test_each_step_and_variant_with_its_previous_figures(panel, history, cart, factory):
    page = panel.get(f"/panel/campaigns/{cart}", **CAMPAIGN_PERIOD)
    step1, step2, step3 = step_ids(factory, cart)
    assert row(page, f"step-{step1}") == (
        "مرحلهٔ ۱ ۳ قبل: ۲ ۳ ۱۰۰٪ قبل: ۲ ۲ ۶۷٪ قبل: ۱ ۲ ۶۷٪ قبل: ۱ ۶۰۰٬۰۰۰ تومان قبل: "
        "۱۰۰٬۰۰۰ تومان ۲۵٬۰۰۰ تومان قبل: ۲۰٬۰۰۰ تومان ۲۴ برابر قبل: ۵ برابر ۵۰٬۰۰۰ تومان قبل: "
        "۰ تومان فرستاده نشد ۱")
    assert row(page, f"step-{step1}-variant-1") == (
        "نسخهٔ A ۱ قبل: ۱ ۱ ۱۰۰٪ قبل: ۱ ۱ ۱۰۰٪ قبل: ۱ ۱ ۱۰۰٪ قبل: ۱ ۴۰۰٬۰۰۰ تومان قبل: "
        "۱۰۰٬۰۰۰ تومان ۱۰٬۰۰۰ تومان قبل: ۱۰٬۰۰۰ تومان ۴۰ برابر قبل: ۱۰ برابر ۰ تومان قبل: "
        "۰ تومان فرستاده نشد ۱")
    assert row(page, f"step-{step1}-variant-2") == (
        "نسخهٔ B ۲ قبل: ۱ ۲ ۱۰۰٪ قبل: ۱ ۱ ۵۰٪ قبل: ۰ ۱ ۵۰٪ قبل: ۰ ۲۰۰٬۰۰۰ تومان قبل: "
        "۰ تومان ۱۵٬۰۰۰ تومان قبل: ۱۰٬۰۰۰ تومان ۱۳ برابر قبل: ۰ برابر ۵۰٬۰۰۰ تومان قبل: "
        "۰ تومان —")
    assert row(page, f"step-{step2}") == (
        "مرحلهٔ ۲ ۱ قبل: ۱ ۱ ۱۰۰٪ قبل: ۱ ۰ ۰٪ قبل: ۱ ۰ ۰٪ قبل: ۰ ۰ تومان قبل: ۰ تومان "
        "۵٬۰۰۰ تومان قبل: ۵٬۰۰۰ تومان ۰ برابر قبل: ۰ برابر ۰ تومان قبل: ۰ تومان "
        "نگه داشته شده ۱")
    # Nothing sent, nothing spent: no return to speak of.
    assert row(page, f"step-{step3}").startswith("مرحلهٔ ۳ ۰ قبل: ۰ ۰ — قبل: ۰")
    assert "۰ تومان — قبل: —" in row(page, f"step-{step3}")
    assert f'id="step-{step2}-variant-1"' not in page.text  # no A/B test in step 2
    # The other shop's big sale is nowhere.
    assert "۹٬۹۰۰٬۰۰۰" not in page.text


def test_the_period_chooser_takes_presets_and_explains_a_wrong_date(panel, cart):
    week = panel.get(f"/panel/campaigns/{cart}", days="7")
    assert "(۷ روز)" in text_of(week)
    assert re.search(r'class="chip on">۷ روز اخیر<', week.text)
    assert figure(week, "sent").startswith("پیامک ارسالی ۲ دورهٔ قبل: ۰")  # cart_1, cart_2
    wrong = panel.get(f"/panel/campaigns/{cart}", **{"from": "۱۴۰۴/۱۳/۴۰"})
    assert wrong.status_code == 200 and "تاریخ را به شکل ۱۴۰۵/۰۹/۰۱" in wrong.text
    assert "(۳۰ روز)" in text_of(wrong)  # the default period instead
    backwards = panel.get(f"/panel/campaigns/{cart}", **{"from": "1404/06/29",
                                                         "to": "1404/06/20"})
    assert "بازه درست نیست" in backwards.text


def test_the_csv_links_carry_the_period(panel, history, cart):
    page = panel.get(f"/panel/campaigns/{cart}", **CAMPAIGN_PERIOD)
    assert (f'href="/panel/campaigns/{cart}/messages.csv?from=2025-09-11&amp;to=2025-09-20"'
            in page.text)
    assert (f'href="/panel/campaigns/{cart}/orders.csv?from=2025-09-11&amp;to=2025-09-20"'
            in page.text)


def read_csv(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_campaigns_messages_as_csv_with_phones_masked(panel, history, cart, seeded):
    response = panel.get(f"/panel/campaigns/{cart}/messages.csv", **CAMPAIGN_PERIOD_ISO)
    assert response.headers["content-disposition"] == (
        f'attachment; filename="bazgasht-campaign-{cart}-messages-2025-09-11-2025-09-20.csv"')
    rows = read_csv(response)
    assert sorted(int(r["message_id"]) for r in rows) == sorted(
        history[n] for n in ("c1", "c2", "c3", "c4", "c5", "c6"))
    assert {r["campaign_id"] for r in rows} == {str(cart)}
    assert all(re.fullmatch(r"\+989\*{5}\d{4}", r["phone"]) for r in rows), rows
    full = read_csv(panel.get(f"/panel/campaigns/{cart}/messages.csv", phones="full",
                              **CAMPAIGN_PERIOD_ISO))
    assert all(re.fullmatch(r"\+98912\d{7}", r["phone"]) for r in full)
    # The default period (the last 30 days): the seeded shop's own cart messages.
    recent = read_csv(panel.get(f"/panel/campaigns/{cart}/messages.csv"))
    assert sorted(int(r["message_id"]) for r in recent) == sorted(
        seeded.ids[n] for n in ("cart_1", "cart_2", "held", "skipped"))


def test_the_orders_credited_to_the_campaign_as_csv(panel, history, cart, seeded):
    rows = read_csv(panel.get(f"/panel/campaigns/{cart}/orders.csv", **CAMPAIGN_PERIOD_ISO))
    assert sorted((r["order_number"], r["revenue_rial"], r["variant"]) for r in rows) == [
        ("2001", "4000000", "A"), ("2002", "2000000", "B")]  # 2003 was cancelled
    assert {r["campaign_id"] for r in rows} == {str(cart)}
    # Another campaign of the same shop has none of them.
    cross = seeded.campaign_ids["cross_sell"]
    assert read_csv(panel.get(f"/panel/campaigns/{cross}/orders.csv",
                              **CAMPAIGN_PERIOD_ISO)) == []


def test_csv_files_need_a_session_and_the_stores_own_campaign(panel, seeded, cart,
                                                             live_server):
    for name in ("messages.csv", "orders.csv"):
        other = panel.get(f"/panel/campaigns/{seeded.other_campaign_id}/{name}")
        assert other.status_code == 404 and "پیدا نشد" in other.text
        assert panel.get(f"/panel/campaigns/abc/{name}").status_code == 404
        with httpx.Client(verify=tls(), base_url=live_server.url,
                          follow_redirects=False) as stranger:
            response = stranger.get(f"/panel/campaigns/{cart}/{name}")
            assert location(response) == (f"/panel/login?next=%2Fpanel%2Fcampaigns%2F{cart}"
                                          f"%2F{name}")
            assert "text/csv" not in response.headers.get("content-type", "")


def test_csv_files_refuse_a_wrong_period_or_phones_value(panel, cart):
    wrong = panel.get(f"/panel/campaigns/{cart}/messages.csv", **{"from": "1404/13/40"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "invalid_date"
    backwards = panel.get(f"/panel/campaigns/{cart}/orders.csv",
                          **{"from": "2025-09-20", "to": "2025-09-11"})
    assert backwards.status_code == 422
    assert backwards.json()["error"]["code"] == "invalid_range"
    phones = panel.get(f"/panel/campaigns/{cart}/messages.csv", phones="all")
    assert phones.status_code == 422


@pytest.mark.parametrize("ratio, shown", [(4.0, "۴ برابر"), (3.96, "۴ برابر"),
                                          (0.04, "زیر ۰٫۱ برابر"), (1.25, "۱٫۲ برابر")])
def test_a_whole_return_on_spend_has_no_decimal(ratio, shown):
    assert times(ratio) == shown


@pytest.mark.parametrize("now, before, shown", [
    (5, 4, "▲ ۲۵٪"), (4, 5, "▼ ۲۰٪"), (3, 3, "۰٪"), (1, 0, "—"), (0, 0, "—"), (0, 4, "▼ ۱۰۰٪"),
    (101, 100, "▲ ۱٪"), (1.05, 1, "▲ ۵٪"), (103, 100, "▲ ۳٪"), (2_000, 1, "▲ ۱۹۹٬۹۰۰٪"),
    (None, 3, "—"), (3, None, "—")])
def test_the_change_from_the_previous_period_reads_in_persian(now, before, shown):
    assert change(now, before) == shown


def test_a_deleted_step_stays_while_it_has_figures(panel, history, cart, factory):
    step1, step2, step3 = step_ids(factory, cart)
    with unit_of_work(factory) as session:
        for step_id in (step2, step3):
            session.get(CampaignStep, step_id).deleted_at = datetime(2025, 10, 1,
                                                                     tzinfo=timezone.utc)
    page = panel.get(f"/panel/campaigns/{cart}", **CAMPAIGN_PERIOD)
    assert row(page, f"step-{step2}").startswith("مرحلهٔ ۲ حذف‌شده ۱ قبل: ۱")
    assert f'id="step-{step3}"' not in page.text  # nothing sent, then or before


def test_the_period_day_by_day_with_values(panel, history, cart, seeded):
    page = panel.get(f"/panel/campaigns/{cart}", **CAMPAIGN_PERIOD).text
    charts = page[page.index('id="report-charts"'):]
    revenue = charts[:charts.index('id="chart-sent"')]
    assert re.findall(r"<title>(.*?)</title>", revenue) == [
        f"۱۴۰۴/۰۶/{day}: {amount} تومان" for day, amount in [
            ("۲۰", "۰"), ("۲۱", "۴۰۰٬۰۰۰"), ("۲۲", "۰"), ("۲۳", "۲۰۰٬۰۰۰"), ("۲۴", "۰"),
            ("۲۵", "۰"), ("۲۶", "۰"), ("۲۷", "۰"), ("۲۸", "۰"), ("۲۹", "۰")]]
    assert re.findall(r'class="value at-phone at-wide at-desk">(.*?)</text>', revenue) == [
        "۴۰۰ هزار", "۲۰۰ هزار"]
    ticks = re.search(r'<div class="y-axis" aria-hidden="true">(.*?)</div>', revenue, re.S)[1]
    assert re.findall(r"<span>(.*?)</span>", ticks) == [
        "۴۰۰ هزار", "۳۰۰ هزار", "۲۰۰ هزار", "۱۰۰ هزار", "۰"]
    sent = charts[charts.index('id="chart-sent"'):]
    assert re.findall(r'class="value[^"]*">(.*?)</text>', sent) == ["۱"] * 4
    # A campaign that sent nothing in those days says so, instead of drawing a flat line.
    quiet = panel.get(f"/panel/campaigns/{seeded.campaign_ids['cross_sell']}",
                      **CAMPAIGN_PERIOD).text
    assert "در این بازه هنوز درآمدی از این کمپین نیست." in quiet
    assert "در این بازه هنوز پیامکی از این کمپین فرستاده نشده است." in quiet
    assert 'class="plot"' not in quiet
