"""docker-compose.yml is valid for Debian's docker-compose (no Docker engine needed to check)
and runs what production needs: health checks, migrations first, volumes, a graceful worker."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import IN_CI

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose():
    binary = shutil.which("docker-compose")
    if binary is None:
        if IN_CI:
            pytest.fail("docker-compose is required in CI (.ci/run installs it with apt-get)")
        pytest.skip("docker-compose not installed (apt-get install docker-compose)")
    env = os.environ | {"BAZGASHT_ADMIN_TOKEN": "token", "BAZGASHT_PUBLIC_URL": "https://b.example",
                        "POSTGRES_PASSWORD": "d1c3a9e0b7"}

    def run(*args):
        return subprocess.run([binary, "-f", str(COMPOSE_FILE), *args], capture_output=True,
                              text=True, env=env, timeout=60)

    return run


def test_the_file_validates(compose):
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_it_refuses_to_start_without_the_operator_settings(compose):
    env_free = subprocess.run(
        [shutil.which("docker-compose"), "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items()
             if k not in ("BAZGASHT_ADMIN_TOKEN", "BAZGASHT_PUBLIC_URL")}
        | {"POSTGRES_PASSWORD": "d1c3a9e0b7"})
    assert env_free.returncode != 0 and "BAZGASHT_ADMIN_TOKEN" in env_free.stderr


def test_there_is_no_default_database_password(compose):
    env = {k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"}
    refused = subprocess.run(
        [shutil.which("docker-compose"), "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True, text=True, timeout=60,
        env=env | {"BAZGASHT_ADMIN_TOKEN": "token", "BAZGASHT_PUBLIC_URL": "https://b.example"})
    assert refused.returncode != 0 and "POSTGRES_PASSWORD" in refused.stderr
    config = yaml.safe_load(compose("config").stdout)
    assert config["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == "d1c3a9e0b7"
    assert ":d1c3a9e0b7@" in config["services"]["api"]["environment"]["DATABASE_URL"]


def test_only_the_proxy_is_published_with_timeouts_and_size_limits(compose):
    services = yaml.safe_load(compose("config").stdout)["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    nginx = " ".join(services["proxy"]["command"])
    for directive in ("client_header_timeout", "client_body_timeout", "client_max_body_size",
                      "large_client_header_buffers", "proxy_pass http://api:8000"):
        assert directive in nginx
    # Behind the proxy (which bounds the request head: large_client_header_buffers) the api
    # runs the faster parser, and closes idle connections.
    api = " ".join(services["api"]["command"])
    assert "--http httptools" in api and "--timeout-keep-alive 5" in api
    assert "large_client_header_buffers 4 16k" in nginx


def test_the_services_and_what_production_needs_of_them(compose):
    result = compose("config")
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "proxy", "worker", "beat"}
    for name in ("postgres", "redis", "api", "proxy", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    # Migrations on start: the processes wait for the one-shot migration to succeed.
    for name in ("api", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == \
            "service_completed_successfully"
    assert services["migrate"]["command"] == ["bazgasht", "migrate"]
    assert {"pgdata", "redisdata"} <= set(config["volumes"])
    # Several uvicorn processes, their metrics added up in a per-container tmpfs.
    assert "--workers" in " ".join(services["api"]["command"])
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["LOG_FORMAT"] == "json"
        assert env["PROMETHEUS_MULTIPROC_DIR"] in services[name]["tmpfs"]
    # The worker stops warm and has time to finish the batch in flight.
    assert services["worker"]["stop_signal"] == "SIGTERM"
    assert services["worker"]["stop_grace_period"] in ("2m", "120s")
    assert services["worker"]["environment"]["METRICS_PORT"]
