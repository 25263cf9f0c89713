"""An operator runs a tick from the command line, at a chosen moment."""

import json
import os
import re
import subprocess
import sys

from sqlalchemy import select

from app.messaging.models import ConsoleSms
from tests.campaigns.shop import tehran


def run_cli(database_url, *args, **env_extra):
    env = os.environ | {"DATABASE_URL": database_url} | env_extra
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_tick_at_a_given_time_sends_what_is_due(shop, database_url):
    shop.cart("cli-cart-00001", tehran("2026-11-24T10:00"))
    result = run_cli(database_url, "tick", "--now", "2026-11-24T11:00:00+03:30")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["now"] == "2026-11-24T07:30:00+00:00"
    assert (report["enrolled"], report["claimed"], report["outcome"]) == (1, 1, {"sent": 1})
    with shop.factory() as session:
        assert len(session.scalars(select(ConsoleSms)).all()) == 1


def test_tick_rejects_a_time_without_a_zone(database_url, factory):
    result = run_cli(database_url, "tick", "--now", "2026-11-24T11:00:00")
    assert result.returncode == 2 and "needs a zone" in result.stderr


def test_links_the_tick_mints_start_with_the_public_url(shop, database_url):
    shop.cart("cli-cart-00002", tehran("2026-11-24T10:00"))
    result = run_cli(database_url, "tick", "--now", "2026-11-24T11:00:00+03:30",
                     BAZGASHT_PUBLIC_URL="https://bz.example:8443/")
    assert result.returncode == 0, result.stderr
    with shop.factory() as session:
        [sms] = session.scalars(select(ConsoleSms)).all()
    assert re.search(r"https://bz\.example:8443/\w+", sms.text), sms.text
    assert "127.0.0.1" not in sms.text
