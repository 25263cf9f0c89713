"""Panel sessions are signed with the installation's secret key, not with anything a store row
holds, and signing out ends a session for good."""

from datetime import datetime, timedelta, timezone

from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select

from app.config import Settings
from app.dashboard.auth import COOKIE, fingerprint
from app.db import unit_of_work
from app.server_key import ServerSecret, load
from app.stores.models import Store


def _where(response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:300])
    return response.headers["location"]


def _forged(store: Store, payload: dict, *, timed: bool) -> str:
    """A cookie signed with the store's stored API key hash, as one who read the row could."""
    serializer = (URLSafeTimedSerializer if timed else URLSafeSerializer)(
        store.api_key_hash, salt="bazgasht.panel.session")
    return f"{store.id}.{serializer.dumps(payload)}"


def test_a_session_forged_from_the_stored_key_hash_opens_nothing(anonymous, seeded, factory,
                                                                 clock):
    with unit_of_work(factory) as session:
        store = session.get_one(Store, seeded.store.id)
        session.expunge(store)
    now = int(clock.now().timestamp())
    for cookie in (_forged(store, {"fp": fingerprint(store), "n": "x" * 16}, timed=True),
                   _forged(store, {"s": store.id, "fp": fingerprint(store), "n": "x" * 16,
                                   "iat": now}, timed=False)):
        anonymous.http.cookies.set(COOKIE, cookie, path="/panel")
        assert _where(anonymous.get("/panel")).startswith("/panel/login?reason=invalid")
        # Reading the webhook secret needs a session: the forged one is sent to sign in.
        shown = anonymous.post("/panel/settings/webhook/show", csrf="anything")
        assert _where(shown).startswith("/panel/login")
        assert seeded.store.webhook_secret not in shown.text
        anonymous.http.cookies.clear()


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
    assert _where(panel.get("/panel")).startswith("/panel/login?reason=signed_out")
    assert _where(panel.post("/panel/settings/webhook/show", csrf=csrf)).startswith(
        "/panel/login")


def test_signing_out_ends_only_that_session(panel, anonymous, seeded, live_server):
    import httpx

    from app.http import tls
    from tests.dashboard.conftest import Panel

    with httpx.Client(verify=tls(), base_url=live_server.url, follow_redirects=False) as other:
        phone = Panel(other)
        phone.sign_in(seeded.store.api_key)
        _where(panel.post("/panel/logout"))
        assert phone.get("/panel").status_code == 200


def test_a_session_expires_after_seven_days_of_the_apps_clock(anonymous, seeded, clock):
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc))
    panel = anonymous
    panel.sign_in(seeded.store.api_key)
    clock.advance(timedelta(days=7, seconds=-1))
    assert panel.get("/panel").status_code == 200
    clock.advance(timedelta(seconds=1))
    assert _where(panel.get("/panel")).startswith("/panel/login?reason=expired")
