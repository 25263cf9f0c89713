"""A daily bar chart as numbers for an inline SVG (templates/dashboard/_chart.html): no chart
library, no script, nothing to download. The plot is drawn in a 1000 × 200 box that the browser
stretches to the page's width; labels are HTML beside it, so they keep their size on a phone.
Days run right to left, as the page reads.
"""

import math
from dataclasses import dataclass

WIDTH, HEIGHT = 1000, 200
MAX_LABELS = 6  # on a phone; a desktop shows twice as many


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    jalali: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    top: int  # the value the top line stands for
    labels: list[tuple[str, str]]  # per day, right to left: (text or "", "major"|"minor"|"")
    empty: bool


def nice_ceiling(value: float) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above `value` (axis tops people can read)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power) if step * power >= 1 else 1
    return int(10 * power)


def bar_chart(days: list[dict], key: str) -> Chart:
    values = [int(day[key] or 0) for day in days]
    top = max(nice_ceiling(max(values, default=0)), 2)  # a middle line at a whole number
    n = max(len(days), 1)
    slot = WIDTH / n
    gap = min(slot * 0.25, 6)
    bars = []
    for i, (day, value) in enumerate(zip(days, values, strict=True)):
        height = HEIGHT * value / top
        x = WIDTH - (i + 1) * slot + gap / 2  # the first day at the right
        bars.append(Bar(x=round(x, 2), y=round(HEIGHT - height, 2), width=round(slot - gap, 2),
                        height=round(height, 2), value=value, jalali=day["jalali"]))
    # Every `step`-th day has a label, counted back from the last day (today is always
    # named); a phone shows every other one of them.
    step = max(1, math.ceil(len(days) / (2 * MAX_LABELS)))
    labels = []
    for i, day in enumerate(days):
        back = len(days) - 1 - i
        if back % step:
            labels.append(("", ""))
        else:
            labels.append((day["jalali"][5:],  # «۱۴۰۵/۰۹/۰۲» → «۰۹/۰۲»
                           "major" if back % (2 * step) == 0 else "minor"))
    return Chart(bars=bars, top=top, labels=labels, empty=not any(values))
