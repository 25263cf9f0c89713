"""`.venv/bin/bazgasht worker` and `beat` run the venv's Celery from a shell whose PATH does not
include the venv (no activated venv, as under systemd or cron)."""

import sys
from pathlib import Path

import pytest

from tests.cli.conftest import bazgasht, clean_env, free_port, running

BAZGASHT = Path(sys.executable).parent / "bazgasht"


@pytest.fixture
def bare_shell_env() -> dict:
    """PATH without the venv; Redis where nothing listens (Celery starts, then retries)."""
    if not BAZGASHT.exists():
        pytest.skip(f"no bazgasht script next to {sys.executable}")
    path = [p for p in clean_env()["PATH"].split(":") if Path(p) != BAZGASHT.parent]
    return clean_env(PATH=":".join(path or ["/usr/bin", "/bin"]),
                     REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")


@pytest.mark.parametrize("command, started", [
    ("worker", "bazgasht.campaigns.tick"),  # the banner lists the app's tasks
    ("beat", "beat: Starting..."),
])
def test_worker_and_beat_run_without_the_venv_on_path(tmp_path, bare_shell_env, command,
                                                      started):
    with running([str(BAZGASHT), command], cwd=tmp_path, env=bare_shell_env) as celery:
        output = celery.wait_for(started)
    assert started in output, output
    assert "celery is not installed" not in output


def test_worker_without_redis_says_so(tmp_path):
    result = bazgasht("worker", cwd=tmp_path, env=clean_env())
    assert result.returncode == 1
    assert result.stderr.strip() == "error: set REDIS_URL: workers and beat need Redis"
