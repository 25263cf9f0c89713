"""A daily bar chart as numbers for an inline SVG (templates/dashboard/_chart.html): no chart
library, no script, nothing to download, no inline style (the panel's CSP forbids it).

The plot is placed in percentages of its box, so it stretches to the page's width while its
text keeps its size. Days run right to left, as the page reads. The axis has whole, round steps
in the unit the merchant reads (an SMS, a toman: never «۰٫۱ تومان»); a bar is labelled with its
value where the label fits at that screen's width, and every day carries a tooltip.
"""

import math
from dataclasses import dataclass

from app.dashboard.numbers import compact, number
from app.messaging.persian import unit

MAX_LABELS = 6     # dates under a phone's plot; a wider screen shows twice as many
TARGET_STEPS = 4   # the axis is cut in about this many steps
WIDEST_BAR = 75 / 7  # percent: a bar is never wider than in a week's chart (one day is no slab)

# The narrowest plot of each screen class (px; panel.css switches at 48rem and 64rem), and a
# value label's width per character in Vazirmatn at the chart's 11.2 px, a little over what
# Chromium measures («۸۰۰ هزار» 37 px, «۱٫۲ میلیون» 48, «۱۲۳» 16.5): a label is shown at a
# class only where it fits at that width.
PLOT_WIDTH = {"phone": 280, "wide": 620, "desk": 860}
CHAR_WIDTH, LABEL_PAD, LABEL_GAP = 5.0, 2, 3


@dataclass(frozen=True)
class Bar:
    x: float        # left edge, percent of the plot's width
    width: float    # percent
    top: float      # percent of the plot's height from its top
    height: float   # percent
    slot_x: float   # the whole day's slot (the tooltip's area), percent
    slot_width: float
    value: float    # as reported (rial for money)
    jalali: str
    label: str      # the value, short («۸۰۰ هزار», «۱۲»); "" for nothing
    label_x: float  # percent
    anchor: str     # SVG text-anchor: "middle" over the bar; "end"/"start" at an edge
    shown_at: tuple[str, ...]  # the screen classes where the label has room ("phone", "wide")


@dataclass(frozen=True)
class Tick:
    text: str
    y: float  # percent from the top


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    ticks: list[Tick]                 # from the top line down to «۰»
    labels: list[tuple[str, str]]     # per day, right to left: (text or "", "major"|"minor"|"")
    unit: str                         # the money unit the axis counts in («تومان»), or ""
    empty: bool                       # nothing to draw: no day, or every day nothing


def nice_step(largest: float, steps: int = TARGET_STEPS) -> int:
    """The smallest whole 1, 2 or 5 × 10ⁿ that cuts 0…`largest` in at most `steps` steps: an
    axis people read at a glance, never in fractions of a unit."""
    if largest <= 0:
        return 1
    raw = largest / steps
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return int(factor * power)
    raise AssertionError("unreachable: 10 × power ≥ raw")


def axis(largest: float) -> tuple[int, list[int]]:
    """(top, tick values from the top down to 0) for values up to `largest` (whole steps)."""
    step = nice_step(largest)
    top = step * max(1, math.ceil(largest / step))
    return top, list(range(top, -1, -step))


def _pct(value: float) -> float:
    return round(value, 3) + 0.0  # never «-0.0%»


def _placement(center: float, label_px: float) -> tuple[float, str]:
    """Where a label stands (x %, SVG text-anchor): over its bar, or, where that would cross
    the plot's edge on the narrowest screen, held against that edge. The page is right to
    left, so "end" puts the text's left edge at x and "start" its right edge."""
    narrowest = min(PLOT_WIDTH.values())
    half = label_px / 2 / narrowest * 100
    if center - half < 0:
        return 0.0, "end"
    if center + half > 100:
        return 100.0, "start"
    return center, "middle"


def _span(x: float, anchor: str, label_px: float, width_px: float) -> tuple[float, float]:
    """The label's left and right edge (px) in a plot this wide."""
    at = x / 100 * width_px
    if anchor == "end":
        return at, at + label_px
    if anchor == "start":
        return at - label_px, at
    return at - label_px / 2, at + label_px / 2


def _fits(values: list[float], spans: list[tuple[float, float]], width_px: float) -> set[int]:
    """Which bars get their label at a plot this wide (`spans`: each label's edges, px): the
    biggest first, each only where it overlaps no label already placed and no taller bar."""
    n = len(values)
    slot = width_px / max(n, 1)
    placed: list[tuple[float, float]] = []
    chosen = set()
    for i in sorted(range(n), key=lambda i: -values[i]):
        if not values[i]:
            break
        left, right = spans[i]
        if any(left < end and start < right for start, end in placed):
            continue
        # The days under the label (it stands above this bar's top): none may be taller.
        # Slots are counted from the left here; days from the right.
        first, last = int(max(left, 0) // slot), int(min(right, width_px - 0.01) // slot)
        if any(values[n - 1 - k] > values[i] for k in range(first, last + 1)):
            continue
        placed.append((left - LABEL_GAP, right + LABEL_GAP))
        chosen.add(i)
    return chosen


def bar_chart(days: list[dict], key: str, *, currency: str | None = None) -> Chart:
    """The chart of `key` per day; money (in rial) when `currency` is given, drawn and labelled
    in the store's unit (toman for IRT)."""
    name, factor = unit(currency) if currency else ("", 1)
    values = [(day[key] or 0) / factor for day in days]
    top, tick_values = axis(max(values, default=0))
    short = compact if currency else number
    slot = 100 / max(len(days), 1)
    width = min(slot * 0.75, WIDEST_BAR)
    texts = [short(v) if v else "" for v in values]
    sizes = [len(text) * CHAR_WIDTH + LABEL_PAD for text in texts]
    centers = [100 - (i + 0.5) * slot for i in range(len(days))]  # the first day at the right
    places = [_placement(c, size) for c, size in zip(centers, sizes, strict=True)]
    room = {cls: _fits(values, [_span(x, anchor, size, px) for (x, anchor), size
                                in zip(places, sizes, strict=True)], px)
            for cls, px in PLOT_WIDTH.items()}
    bars = []
    for i, (day, value, text) in enumerate(zip(days, values, texts, strict=True)):
        height = 100 * value / top
        bars.append(Bar(
            x=_pct(centers[i] - width / 2), width=_pct(width),
            top=_pct(100 - height), height=_pct(height),
            slot_x=_pct(centers[i] - slot / 2), slot_width=_pct(slot),
            value=day[key] or 0, jalali=day["jalali"], label=text,
            label_x=_pct(places[i][0]), anchor=places[i][1],
            shown_at=tuple(cls for cls in PLOT_WIDTH if i in room[cls])))
    ticks = [Tick(text=short(v) if v else "۰", y=_pct(100 - 100 * v / top))
             for v in tick_values]
    return Chart(bars=bars, ticks=ticks, labels=_dates(days), unit=name,
                 empty=not any(values))


def _dates(days: list[dict]) -> list[tuple[str, str]]:
    """Every `step`-th day has a label, counted back from the last day (today is always named);
    a phone shows every other one of them."""
    step = max(1, math.ceil(len(days) / (2 * MAX_LABELS)))
    labels = []
    for i, day in enumerate(days):
        back = len(days) - 1 - i
        if back % step:
            labels.append(("", ""))
        else:
            labels.append((day["jalali"][5:],  # «۱۴۰۵/۰۹/۰۲» → «۰۹/۰۲»
                           "major" if back % (2 * step) == 0 else "minor"))
    return labels
