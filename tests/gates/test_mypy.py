"""mypy (settings in pyproject.toml [tool.mypy], pydantic plugin) over app/ and workers/: a
ratchet. The errors of each package are counted against tests/gates/mypy_baseline.json; more
fails with the package's errors, fewer fails until the baseline is lowered to the new count."""

import json
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASELINE = Path(__file__).with_name("mypy_baseline.json")
CHECKED = ["app", "workers"]
ERROR = re.compile(r"^(?P<path>[^:\s]+\.pyi?):\d+(?::\d+)?: error: ")


def package_of(path: str) -> str:
    """app/campaigns/dispatch.py → app/campaigns; app/dashboard/routers/x.py → app/dashboard;
    app/cli.py → app (the top-level modules)."""
    parts = Path(path).parts
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def test_mypy_errors_only_go_down():
    started = time.monotonic()
    # The cache (.mypy_cache, from pyproject.toml) keeps a warm run well under a second.
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-color-output", "--no-pretty",
                           *CHECKED], cwd=ROOT, capture_output=True, text=True, timeout=300)
    took = time.monotonic() - started
    if done.returncode not in (0, 1):  # 2: a crash or a bad configuration, nothing counted
        pytest.fail(f"mypy did not run (exit {done.returncode}):\n{done.stdout}{done.stderr}",
                    pytrace=False)
    errors: dict[str, list[str]] = defaultdict(list)
    for line in done.stdout.splitlines():
        if m := ERROR.match(line):
            errors[package_of(m["path"])].append(line)
    counts = Counter({package: len(lines) for package, lines in errors.items()})
    baseline = json.loads(BASELINE.read_text())["errors"]
    up = {p: n for p, n in counts.items() if n > baseline.get(p, 0)}
    down = {p: counts[p] for p, n in baseline.items() if counts[p] < n}
    print(f"mypy: {sum(counts.values())} errors in {took:.1f} s: {dict(sorted(counts.items()))}")
    problems = []
    if up:
        problems.append(
            "more errors than tests/gates/mypy_baseline.json allows in "
            + ", ".join(f"{p} ({n} > {baseline.get(p, 0)})" for p, n in sorted(up.items()))
            + "; fix the new ones (all of the package's errors are listed below)")
    if down:
        problems.append("fewer errors than the baseline, well done: ratchet it down, in "
                        "tests/gates/mypy_baseline.json set "
                        + ", ".join(f'"{p}": {n}' for p, n in sorted(down.items())))
    if problems:
        offending = [line for p in sorted(up) for line in errors[p]]
        pytest.fail("mypy: " + "\nmypy: ".join(problems) + "\n" + "\n".join(offending),
                    pytrace=False)
