"""Running the companion plugin's PHP from the Python suite: Debian's php, phpunit and phpcs."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "plugin"
IN_CI = os.environ.get("CI", "").lower() == "true"
TOOLS = {"php": "php8.2-cli", "phpunit": "phpunit", "phpcs": "php-codesniffer"}


def require(tool: str) -> str:
    """The tool's path; without it the test skips, except in CI (.ci/run installs it)."""
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (apt-get install {TOOLS[tool]})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(*args: str, stdin: str | None = None, cwd: Path = PLUGIN,
        env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120,
                          env=None if env is None else os.environ | env)


def php_script(script: str, payload: object) -> object:
    """Runs plugin/tests/golden/<script> with `payload` as JSON on stdin; its JSON answer."""
    done = run(require("php"), str(PLUGIN / "tests" / "golden" / script),
               stdin=json.dumps(payload))
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)
