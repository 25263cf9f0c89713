"""The home page's daily bar charts as numbers (app/dashboard/chart.py): the axis counts in whole,
round steps of the unit the merchant reads, bars carry their values where the labels fit, and an
empty period is said so instead of drawn."""

import re
from datetime import date, timedelta

import jdatetime
import pytest

from app.dashboard.chart import (
    CHAR_WIDTH,
    LABEL_PAD,
    PLOT_WIDTH,
    WIDEST_BAR,
    _span,
    axis,
    bar_chart,
    nice_step,
)
from app.digits import persian_digits
from tests.dashboard.test_browser import DESKTOP, PHONE, Merchant

EVERYWHERE = ("phone", "wide", "desk")  # every screen class of PLOT_WIDTH


def days(values: list, key: str = "sent") -> list[dict]:
    first = date(2026, 11, 1)
    return [{"jalali": persian_digits(jdatetime.date.fromgregorian(
                date=first + timedelta(n)).strftime("%Y/%m/%d")), key: value}
            for n, value in enumerate(values)]


def revenue(tomans: list[float]) -> list[dict]:
    return days([round(t * 10) for t in tomans], "revenue")  # rial, as the reports give it


def shown(chart, where: str) -> list[str]:
    return [bar.label for bar in chart.bars if where in bar.shown_at]


@pytest.mark.parametrize("largest, step, top", [
    (0, 1, 1), (0.3, 1, 1), (1, 1, 1), (3, 1, 3), (4, 1, 4), (5, 2, 6), (7, 2, 8), (11, 5, 15),
    (100, 50, 100), (101, 50, 150), (999, 500, 1000), (80_000, 20_000, 80_000),
    (123_456_789, 50_000_000, 150_000_000)])
def test_the_axis_climbs_in_whole_round_steps(largest, step, top):
    assert nice_step(largest) == step
    assert axis(largest) == (top, list(range(top, -1, -step)))
    assert len(axis(largest)[1]) - 1 <= 4  # never more than four steps


def test_a_period_with_nothing_is_empty_not_a_flat_axis():
    for chart in (bar_chart(days([0] * 30), "sent"), bar_chart(days([]), "sent"),
                  bar_chart(revenue([0, 0, 0]), "revenue", currency="IRT"),
                  bar_chart(days([None, None]), "sent")):
        assert chart.empty
        assert not any(bar.label for bar in chart.bars)


def test_counts_are_never_cut_in_fractions_of_an_sms():
    chart = bar_chart(days([0, 1, 0, 1]), "sent")
    assert [t.text for t in chart.ticks] == ["۱", "۰"]
    assert [t.y for t in chart.ticks] == [0, 100]
    chart = bar_chart(days([3, 1, 2]), "sent")
    assert [t.text for t in chart.ticks] == ["۳", "۲", "۱", "۰"]
    assert [bar.label for bar in chart.bars] == ["۳", "۱", "۲"]
    assert all(bar.shown_at == EVERYWHERE for bar in chart.bars)
    assert [bar.top for bar in chart.bars] == [0, pytest.approx(66.667), pytest.approx(33.333)]


def test_money_below_one_toman_has_an_axis_of_one_toman_not_a_tenth():
    chart = bar_chart(revenue([0.5, 0, 0.2]), "revenue", currency="IRT")
    assert [t.text for t in chart.ticks] == ["۱", "۰"]  # not «۰٫۱ تومان»
    assert chart.unit == "تومان"
    assert [bar.label for bar in chart.bars] == ["۰٫۵", "", "۰٫۲"]
    assert [bar.value for bar in chart.bars] == [5, 0, 2]  # the tooltip's rial, as reported


def test_money_is_labelled_short_on_round_steps():
    chart = bar_chart(revenue([800_000, 1_234_567, 0, 45_000]), "revenue", currency="IRT")
    assert [t.text for t in chart.ticks] == ["۱٫۵ میلیون", "۱ میلیون", "۵۰۰ هزار", "۰"]
    assert [bar.label for bar in chart.bars] == ["۸۰۰ هزار", "۱٫۲ میلیون", "", "۴۵ هزار"]
    assert all("." not in t.text and "," not in t.text for t in chart.ticks)
    rial = bar_chart(revenue([800_000]), "revenue", currency="IRR")
    assert rial.unit == "ریال" and rial.bars[0].label == "۸ میلیون"


def test_one_day_is_one_bar_in_the_middle_not_a_slab():
    chart = bar_chart(days([7]), "sent")
    [bar] = chart.bars
    assert bar.width <= WIDEST_BAR
    assert bar.x + bar.width / 2 == pytest.approx(50)
    assert (bar.slot_x, bar.slot_width) == (0, 100)  # the tooltip covers the whole plot
    assert bar.label == "۷" and bar.shown_at == EVERYWHERE and bar.anchor == "middle"
    assert [t.text for t in chart.ticks] == ["۸", "۶", "۴", "۲", "۰"]
    assert chart.labels == [(bar.jalali[5:], "major")]


def test_one_huge_day_is_labelled_and_the_small_ones_still_get_a_bar():
    values = [3] * 29 + [5_000]
    chart = bar_chart(days(values), "sent")
    assert [t.text for t in chart.ticks] == ["۶٬۰۰۰", "۴٬۰۰۰", "۲٬۰۰۰", "۰"]
    huge = chart.bars[-1]  # the first day stands at the left, the last at the right
    assert huge.label == "۵٬۰۰۰" and huge.shown_at == EVERYWHERE
    assert all(0 < bar.height < 1 for bar in chart.bars[:-1])
    assert huge.x < chart.bars[0].x


def test_a_label_at_the_edge_is_held_inside_the_plot():
    chart = bar_chart(revenue([0] * 28 + [500_000, 300_000]), "revenue", currency="IRT")
    last = chart.bars[-1]  # at the left edge: its label starts there and runs right
    peak = chart.bars[-2]
    assert (peak.label_x, peak.anchor) == (0, "end") and peak.shown_at == EVERYWHERE
    assert last.shown_at == ()  # it would stand over the taller bar beside it


@pytest.mark.parametrize("count", [7, 30, 90])
def test_labels_never_overlap_each_other_nor_a_taller_bar(count):
    values = [(n * 7919) % 13 * (n % 5) * 10_000 for n in range(count)]
    chart = bar_chart(revenue(values), "revenue", currency="IRT")
    for where, width in PLOT_WIDTH.items():
        slot = width / count
        spans = [(i, _span(b.label_x, b.anchor, len(b.label) * CHAR_WIDTH + LABEL_PAD,
                                         width))
                 for i, b in enumerate(chart.bars) if where in b.shown_at]
        assert spans, where  # the tallest bar at least is labelled
        for n, (i, (left, right)) in enumerate(spans):
            assert -0.01 <= left and right <= width + 0.01
            for _, (other_left, other_right) in spans[n + 1:]:
                assert right <= other_left or other_right <= left
            under = range(int(max(left, 0) // slot), int(min(right, width - .01) // slot) + 1)
            assert all(chart.bars[count - 1 - k].value <= chart.bars[i].value for k in under)
    # More room, more labels.
    assert len(shown(chart, "desk")) >= len(shown(chart, "wide")) >= len(shown(chart, "phone"))


def test_ninety_days_name_few_dates_and_always_today():
    chart = bar_chart(days(list(range(90))), "sent")
    named = [(text, kind) for text, kind in chart.labels if text]
    assert len(named) <= 12
    assert len([kind for _, kind in named if kind == "major"]) <= 6  # what a phone shows
    assert chart.labels[-1] == (chart.bars[-1].jalali[5:], "major")
    assert len(chart.bars) == 90 and all(bar.width > 0 for bar in chart.bars)
    assert chart.bars[-1].x >= 0 and chart.bars[0].x + chart.bars[0].width <= 100
    assert [t.text for t in chart.ticks] == ["۱۰۰", "۵۰", "۰"]


def test_a_new_stores_home_says_its_charts_are_empty(anonymous, other_store):
    anonymous.sign_in(other_store)
    page = anonymous.get("/panel")
    assert page.status_code == 200
    assert "در این بازه هنوز درآمدی از پیامک‌ها نیست." in page.text
    assert "در این بازه هنوز پیامکی فرستاده نشده است." in page.text
    assert 'class="plot"' not in page.text and "۰٫۱" not in page.text


def test_the_home_charts_carry_their_values(panel):
    page = panel.get("/panel").text
    revenue = page[page.index('id="chart-revenue"'):page.index('id="chart-sent"')]
    assert "(به تومان)" in revenue
    # The two orders' days (5,000,000 and 3,000,000 rial): labelled short, whole in the tooltip.
    assert re.search(r'<text [^>]*class="value at-phone at-wide at-desk">۵۰۰ هزار</text>', revenue)
    assert re.search(r"<title>[۰-۹/]+: ۵۰۰٬۰۰۰ تومان</title>", revenue)
    assert re.search(r"<title>[۰-۹/]+: ۳۰۰٬۰۰۰ تومان</title>", revenue)
    assert revenue.count("<title>") == 30  # every day of the period, even a day of nothing
    ticks = re.search(r'<div class="y-axis" aria-hidden="true">(.*?)</div>', revenue, re.S)[1]
    assert re.findall(r"<span>(.*?)</span>", ticks) == ["۶۰۰ هزار", "۴۰۰ هزار", "۲۰۰ هزار", "۰"]
    sent = page[page.index('id="chart-sent"'):]
    assert re.findall(r"<span>(.*?)</span>", sent.split("<svg")[0]) == ["۱", "۰"]
    # Four days of one SMS each: labelled on a laptop; on a phone, three of them next to each
    # other leave room for two labels.
    classes = re.findall(r'class="value ([^"]*)">۱</text>', sent)
    assert len(classes) == 4 and all("at-wide at-desk" in c for c in classes)
    assert 2 <= len([c for c in classes if "at-phone" in c]) < 4


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_new_stores_home_in_a_browser(viewport, browser, live_server, other_store, factory,
                                        database_url, screenshots):
    merchant = Merchant(browser, live_server.url, viewport)
    try:
        merchant.sign_in(other_store.owner_phone, factory)
        page = merchant.page
        assert page.locator("#chart-revenue .chart-empty").inner_text() == (
            "در این بازه هنوز درآمدی از پیامک‌ها نیست.")
        assert page.locator("#chart-sent .chart-empty").is_visible()
        assert page.locator("svg.plot").count() == 0
        assert merchant.layout_problems() == []
        folder = screenshots / database_url.split(":")[0].split("+")[0]
        folder.mkdir(exist_ok=True)
        name = "phone" if viewport is PHONE else "desktop"
        page.screenshot(path=folder / f"home-empty-{name}.png", full_page=True)
        assert merchant.errors == []
    finally:
        merchant.close()


# Every value label drawn (not hidden at this width), once the font is in: the revenue chart's,
# whether each stays inside its plot, and how many overlap another of the same chart.
_LABELS = """async () => {
    await document.fonts.ready;
    const shown = [...document.querySelectorAll("svg.plot text.value")]
        .filter(t => getComputedStyle(t).display !== "none")
        .map(t => ({chart: t.closest("figure").id, text: t.textContent,
                    box: t.getBoundingClientRect(),
                    plot: t.closest("svg").getBoundingClientRect()}));
    const overlapping = shown.filter((a, i) => shown.slice(i + 1).some(b =>
        a.chart === b.chart && a.box.left < b.box.right && b.box.left < a.box.right
        && a.box.top < b.box.bottom && b.box.top < a.box.bottom));
    return {revenue: shown.filter(s => s.chart === "chart-revenue").map(s => s.text),
            inside: shown.every(s => s.box.left >= s.plot.left - 1
                                 && s.box.right <= s.plot.right + 1),
            overlapping: overlapping.length};
}"""


def test_value_labels_show_where_they_fit_at_each_width(browser, live_server, seeded, factory):
    """The seeded home's revenue peak is labelled at a phone's, a tablet's and a laptop's width;
    each label stays inside its plot (on a phone held against its left edge), none overlaps
    another."""
    for viewport in (PHONE, {"width": 900, "height": 800}, DESKTOP):
        merchant = Merchant(browser, live_server.url, viewport)
        try:
            merchant.sign_in(seeded.store.owner_phone, factory)
            found = merchant.page.evaluate(_LABELS)
            assert merchant.errors == []
        finally:
            merchant.close()
        assert "۵۰۰ هزار" in found["revenue"], viewport
        assert found["inside"] and found["overlapping"] == 0, (viewport, found)
