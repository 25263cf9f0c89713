"""`make serve` installs what serving needs and nothing more; `make test` installs the test
tools too; both from their lock file, hashes checked. Read with `make -n` (nothing is
installed or run)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def planned(tmp_path, *args: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # Not the settings of a make this may run under (`make test`), nor a PORT of the machine's.
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PORT", "VENV", "PYTHON")}
    result = subprocess.run(["make", "-n", "--no-print-directory", f"VENV={tmp_path / 'venv'}",
                             *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_serve_installs_the_project_without_dev_extras_and_passes_the_port(tmp_path):
    steps = planned(tmp_path, "serve", "PORT=9123")
    venv = tmp_path / "venv"
    assert f"{venv}/bin/pip install -q --require-hashes -r requirements.lock\n" in steps
    assert f"{venv}/bin/pip install -q --no-deps -e .\n" in steps
    assert "dev.lock" not in steps and "playwright" not in steps.lower()
    assert f"touch {venv}/.installed-serve" in steps
    assert steps.rstrip().endswith(f"{venv}/bin/bazgasht serve --port 9123")


def test_serve_listens_on_8000_by_default(tmp_path):
    assert planned(tmp_path, "serve").rstrip().endswith("serve --port 8000")


def test_test_still_installs_the_dev_extras(tmp_path):
    steps = planned(tmp_path, "test")
    assert "pip install -q --require-hashes -r requirements-dev.lock" in steps
    assert f"{tmp_path / 'venv'}/bin/pytest" in steps
