"""One clock: nothing in the service reads the wall clock but app/clock.py."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WALL_CLOCK = re.compile(r"\b(?:datetime\.(?:now|utcnow|today)|date\.today|time\.time|"
                        r"time\.time_ns|utcnow)\(\)|datetime\.now\(")


def test_only_the_clock_reads_the_wall_clock():
    readers = []
    sources = [*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("workers").rglob("*.py")]
    for path in sorted(sources):
        if path == ROOT / "app" / "clock.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if WALL_CLOCK.search(line):
                readers.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert readers == [], "read the time from the app's clock (app/clock.py):\n" + "\n".join(readers)


def test_the_settable_clock_stands_where_it_is_put():
    from datetime import datetime, timedelta, timezone

    from app.clock import SettableClock

    at = datetime(2026, 11, 24, 10, 0, tzinfo=timezone(timedelta(hours=3, minutes=30)))
    clock = SettableClock(at)
    assert clock.now() == at and clock.now().tzinfo == timezone.utc
    clock.advance(timedelta(days=400))
    assert clock.now() == at + timedelta(days=400)
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 11, 24, 10, 0))  # no zone: which 10:00?
