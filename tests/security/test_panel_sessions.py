"""Panel sessions are rows: the cookie holds a random token and the database only its hash, so
reading the database (or the stores' rows) opens no panel; signing out, an owner ending a
session, removing a member or disabling the store ends it at once; it expires after seven days
of the app's clock."""

import hashlib
from datetime import datetime, timedelta, timezone

import httpx
from sqlalchemy import select

from app.config import Settings
from app.dashboard.auth import COOKIE
from app.dashboard.models import PanelLoginCode, PanelSession
from app.db import unit_of_work
from app.http import tls
from app.server_key import ServerSecret, load
from app.stores.models import Store
from tests.dashboard.conftest import Panel


def _where(response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:300])
    return response.headers["location"]


def test_the_database_holds_no_cookie_and_no_code(panel, seeded, factory):
    token = panel.http.cookies[COOKIE]
    with factory() as session:
        [row] = session.scalars(select(PanelSession)).all()
        codes = session.scalars(select(PanelLoginCode.code_hash)).all()
    assert row.id == hashlib.sha256(token.encode()).hexdigest() and token not in row.id
    # Presenting what the database holds opens nothing.
    panel.http.cookies.set(COOKIE, row.id, path="/panel")
    assert _where(panel.get("/panel")).startswith("/panel/login?reason=invalid")
    assert codes and all(len(c) == 64 for c in codes)


def test_without_a_setting_the_key_is_made_once_and_kept_apart_from_the_stores(seeded,
                                                                              factory):
    settings = Settings(database_url="sqlite://", bazgasht_secret_key=None)
    first = load(factory, settings)
    assert load(factory, settings) == first  # every process finds the same one
    with unit_of_work(factory) as session:
        assert session.scalars(select(ServerSecret.value)).all() == [first.decode()]
        store = session.get_one(Store, seeded.store.id)
        assert first.decode() not in (store.api_key_hash, store.webhook_secret)
        assert first.decode() not in repr(session.get(ServerSecret, "panel"))
    assert len(first) >= 43


def test_a_cookie_replayed_after_signing_out_is_refused(panel):
    cookie, csrf = panel.http.cookies[COOKIE], panel.csrf
    assert _where(panel.post("/panel/logout")) == "/panel/login?reason=signed_out"
    # The attacker's copy of the cookie, still within its 7 days.
    panel.http.cookies.set(COOKIE, cookie, path="/panel")
    assert _where(panel.get("/panel")).startswith("/panel/login?reason=ended")
    assert _where(panel.post("/panel/settings/webhook/show", csrf=csrf)).startswith(
        "/panel/login")


def test_signing_out_ends_only_that_session(panel, seeded, live_server, factory):
    with httpx.Client(verify=tls(), base_url=live_server.url, follow_redirects=False) as other:
        phone = Panel(other, factory)
        phone.sign_in(seeded.store)  # the same owner on a second device: no wait for a code
        _where(panel.post("/panel/logout"))
        assert phone.get("/panel").status_code == 200


def test_a_session_expires_after_seven_days_of_the_apps_clock(anonymous, seeded, clock):
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc))
    panel = anonymous
    panel.sign_in(seeded.store)
    clock.advance(timedelta(days=7, seconds=-1))
    assert panel.get("/panel").status_code == 200
    clock.advance(timedelta(seconds=1))
    assert _where(panel.get("/panel")).startswith("/panel/login?reason=expired")


def test_a_disabled_store_opens_no_panel(panel, seeded, admin_client):
    assert admin_client.post(f"/platform/v1/stores/{seeded.store.id}/disable").status_code == 200
    assert _where(panel.get("/panel")).startswith("/panel/login?reason=disabled")


def test_last_seen_is_written_at_most_once_a_minute(anonymous, seeded, clock, factory):
    signed_in = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    clock.set(signed_in)
    anonymous.sign_in(seeded.store)

    def last_seen():
        with factory() as session:
            return session.scalar(select(PanelSession.last_seen_at))

    clock.advance(timedelta(seconds=59))
    anonymous.get("/panel")
    assert last_seen() == signed_in
    clock.advance(timedelta(seconds=1))
    anonymous.get("/panel")
    assert last_seen() == signed_in + timedelta(minutes=1)
