"""ruff over the code (rules and settings in pyproject.toml [tool.ruff]): no finding passes, and
the complexity ceiling (mccabe max-complexity) is the most complex function's, so it only goes
down."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ["app", "workers", "tests", "bench", "migrations"]


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-fix",
                           "--output-format", "concise", *args, *CHECKED],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), f"ruff did not run:\n{done.stdout}{done.stderr}"
    return done


def findings(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.match(r"\S+\.py:\d+:\d+: ", line)]


def test_ruff_finds_nothing():
    done = ruff()
    found = findings(done.stdout)
    if done.returncode or found:
        pytest.fail(f"ruff: {len(found)} finding(s); `.venv/bin/ruff check --fix "
                    f"{' '.join(CHECKED)}` fixes the safe ones (review its diff):\n"
                    + "\n".join(found or [done.stdout]), pytrace=False)


def test_complexity_ceiling_is_the_most_complex_function():
    ceiling = tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "tool"]["ruff"]["lint"]["mccabe"]["max-complexity"]
    done = ruff("--select", "C901", "--config", "lint.mccabe.max-complexity=0")
    scores = {line: int(m.group(1)) for line in findings(done.stdout)
              if (m := re.search(r"is too complex \((\d+) > 0\)", line))}
    highest = max(scores.values(), default=0)
    worst = [line for line, score in scores.items() if score == highest]
    if highest > ceiling:
        over = [line for line, score in scores.items() if score > ceiling]
        pytest.fail(f"Above the complexity ceiling ({ceiling}): split these functions.\n"
                    + "\n".join(over), pytrace=False)
    if highest < ceiling:
        pytest.fail(f"The most complex function now scores {highest}, below the ceiling "
                    f"({ceiling}): ratchet it down, set `max-complexity = {highest}` in "
                    "pyproject.toml [tool.ruff.lint.mccabe].\n" + "\n".join(worst),
                    pytrace=False)
