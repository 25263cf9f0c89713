"""An operator lists the stores and rotates a store's API key from the command line."""

import json

import httpx

from app.db import unit_of_work
from app.http import tls
from app.stores import service as stores
from tests.cli.conftest import bazgasht, clean_env
from tests.helpers import create_store


def test_store_list_shows_every_store_without_secrets(database_url, factory, tmp_path):
    with unit_of_work(factory) as session:
        tea = create_store(session)
        other = create_store(session, name="دکان دیگر", url="https://other.example")
        stores.set_enabled(session, other.id, False)
    env = clean_env(DATABASE_URL=database_url, BAZGASHT_PUBLIC_URL="https://bz.example")
    result = bazgasht("store", "list", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"id": tea.id, "name": "چای‌خانه", "url": "https://shop.example", "enabled": True,
         "webhook_url": f"https://bz.example/webhooks/woocommerce/{tea.id}"},
        {"id": other.id, "name": "دکان دیگر", "url": "https://other.example", "enabled": False,
         "webhook_url": f"https://bz.example/webhooks/woocommerce/{other.id}"}]
    for secret in (tea.api_key, tea.webhook_secret, other.api_key, other.webhook_secret):
        assert secret not in result.stdout


def test_rotate_key_prints_a_new_key_once_and_the_old_one_stops_working(
        database_url, factory, live_server, tmp_path):
    with unit_of_work(factory) as session:
        store = create_store(session)
    result = bazgasht("store", "rotate-key", "--store", str(store.id), cwd=tmp_path,
                      env=clean_env(DATABASE_URL=database_url))
    assert result.returncode == 0, result.stderr
    rotated = json.loads(result.stdout)
    new_key = rotated["api_key"]
    assert rotated == {"id": store.id, "api_key": new_key, "api_key_prefix": new_key[:8]}
    assert new_key.startswith("bz_") and new_key != store.api_key
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10) as client:
        def settings_with(key):
            return client.get("/api/v1/store", headers={"Authorization": f"Bearer {key}"})

        assert settings_with(store.api_key).status_code == 401
        answer = settings_with(new_key)
        assert answer.status_code == 200 and answer.json()["id"] == store.id
        assert answer.json()["api_key_prefix"] == new_key[:8]
    # Shown once: nothing else prints it again.
    listed = bazgasht("store", "list", cwd=tmp_path, env=clean_env(DATABASE_URL=database_url))
    assert new_key not in listed.stdout and new_key[8:] not in listed.stdout


def test_rotate_key_of_an_unknown_store_is_a_clear_error(database_url, factory, tmp_path):
    result = bazgasht("store", "rotate-key", "--store", "999", cwd=tmp_path,
                      env=clean_env(DATABASE_URL=database_url))
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no store with id 999"


def test_join_link_makes_a_one_time_link_to_the_stores_panel(database_url, factory, live_server,
                                                            tmp_path):
    with unit_of_work(factory) as session:
        store = create_store(session)
    result = bazgasht("store", "join-link", "--store", str(store.id), cwd=tmp_path,
                      env=clean_env(DATABASE_URL=database_url,
                                    BAZGASHT_PUBLIC_URL="https://bz.example"))
    assert result.returncode == 0, result.stderr
    made = json.loads(result.stdout)
    assert made["id"] == store.id and made["join_url"].startswith("https://bz.example/panel/join/")
    path = made["join_url"].removeprefix("https://bz.example")
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10) as client:
        page = client.get(path)
    assert page.status_code == 200 and "پیوستن به پنل «چای‌خانه»" in page.text
    missing = bazgasht("store", "join-link", "--store", "999", cwd=tmp_path,
                       env=clean_env(DATABASE_URL=database_url))
    assert missing.returncode != 0 and "999" in missing.stderr
