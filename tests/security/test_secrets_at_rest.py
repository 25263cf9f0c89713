"""The credentials a store gives us (its Kavenegar key, its WooCommerce REST keys) are
encrypted in the database: whoever reads the tables, a dump or a backup gets Fernet tokens,
while the app still sends and makes coupons with the real keys (app/crypto.py)."""

import logging
import os
import stat
import subprocess
import sys
import uuid
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import sessionmaker

from app.crypto import EncryptionKeyError, Keyring, key_file, keyring_for, new_key
from app.db import make_engine, unit_of_work
from app.http import tls
from app.migrate import alembic_config, upgrade
from app.stores.models import Store
from tests import factories
from tests.admin.test_preview import step_url
from tests.campaigns.test_coupons import DISCOUNT, PERSONAL, SECOND, cart, set_step
from tests.conftest import POSTGRES_URL, _postgres_available, require_server
from tests.helpers import bearer, create_store, live_kavenegar
from tests.migrations.test_migrations import _insert

KAVENEGAR_KEY = "4A6B-SECRET-kavenegar-7f00"
CONSUMER_KEY = "ck_" + "5f1e" * 10
CONSUMER_SECRET = "cs_" + "9c3a" * 10
PLAINTEXTS = (KAVENEGAR_KEY, CONSUMER_KEY, CONSUMER_SECRET)
RAW = sa.text("SELECT sms_api_key, wc_consumer_key, wc_consumer_secret FROM stores WHERE id = :id")


def raw_secrets(engine, store_id: int) -> tuple:
    with engine.connect() as conn:
        return tuple(conn.execute(RAW, {"id": store_id}).one())


def assert_ciphertext(values) -> None:
    for value in values:
        assert value.startswith("gAAAAA")  # a Fernet token (version byte 0x80)
        assert not any(secret in value for secret in PLAINTEXTS)


def test_keys_given_over_the_api_are_stored_encrypted(api, store, engine, factory):
    response = api.patch("/api/v1/store", json={
        "sms_provider": "kavenegar", "sms_api_key": KAVENEGAR_KEY, "sms_sender": "10004346",
        "wc_consumer_key": CONSUMER_KEY, "wc_consumer_secret": CONSUMER_SECRET})
    assert response.status_code == 200, response.text
    assert_ciphertext(raw_secrets(engine, store.id))
    with factory() as session:  # the app reads them back as they were given
        row = session.get(Store, store.id)
        assert (row.sms_api_key, row.wc_consumer_key, row.wc_consumer_secret) == PLAINTEXTS
        assert not any(secret in repr(row) for secret in PLAINTEXTS)


def test_an_sms_goes_out_with_the_decrypted_kavenegar_key(live_server, api, store, engine):
    # The fake answers 401 to any other key.
    with live_kavenegar(live_server, KAVENEGAR_KEY) as kavenegar:
        api.patch("/api/v1/store", json={"sms_provider": "kavenegar", "sms_api_key": KAVENEGAR_KEY,
                                         "sms_sender": factories.DEFAULT_LINE})
        sent = api.post(f"{step_url(api, 'abandoned_cart')}/test-send", json={"phone": "۰۹۱۲۱۲۳۴۵۶۷"})
        assert sent.status_code == 200, sent.text
        [message] = kavenegar.messages
        assert message.receptor == "+989121234567"
    assert_ciphertext(raw_secrets(engine, store.id)[:1])


def test_a_coupon_is_made_in_the_store_with_the_decrypted_rest_keys(shop, engine):
    from app.commerce.fake_woocommerce import FakeWooCommerce

    with FakeWooCommerce(consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET) as woo, \
            httpx.Client(verify=tls(), base_url=shop.client.base_url, timeout=10,
                         headers=bearer(shop.store)) as api:
        answer = api.patch("/api/v1/store", json={"wc_consumer_key": CONSUMER_KEY,
                                                  "wc_consumer_secret": CONSUMER_SECRET})
        assert answer.status_code == 200, answer.text
        factories.store_settings(shop.factory, shop.store.id, url=woo.base_url)
        set_step(shop, 2, PERSONAL, DISCOUNT)
        cart(shop, "secret-cart-001")
        shop.tick(SECOND - timedelta(minutes=10))
        [made] = woo.coupons  # the fake refuses requests signed with any other keys
        [call] = woo.calls("POST /coupons")
        assert call.oauth["oauth_consumer_key"] == CONSUMER_KEY and made["code"]
    assert_ciphertext(raw_secrets(engine, shop.store.id)[1:])


# -- keys: missing, wrong, rotated ----------------------------------------------------------------

def sqlite_store(tmp_path, keys: Keyring) -> tuple[str, int]:
    """A migrated SQLite database with one store whose three credentials are set."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade(url)
    engine = make_engine(url, keys)
    with unit_of_work(sessionmaker(engine)) as session:
        store_id = create_store(session).id
        row = session.get(Store, store_id)
        row.sms_api_key, row.wc_consumer_key, row.wc_consumer_secret = PLAINTEXTS
    engine.dispose()
    return url, store_id


def read_secrets(url: str, keys: Keyring, store_id: int) -> tuple:
    engine = make_engine(url, keys)
    try:
        with sessionmaker(engine)() as session:
            row = session.get(Store, store_id)
            return row.sms_api_key, row.wc_consumer_key, row.wc_consumer_secret
    finally:
        engine.dispose()


def test_a_wrong_key_is_a_clear_error_never_a_secret(tmp_path):
    url, store_id = sqlite_store(tmp_path, Keyring([new_key()]))
    with pytest.raises(EncryptionKeyError) as error:
        read_secrets(url, Keyring([new_key()]), store_id)
    assert "cannot be decrypted with any key of BAZGASHT_ENCRYPTION_KEY" in str(error.value)
    assert not any(secret in str(error.value) for secret in PLAINTEXTS)


def test_malformed_or_missing_keys_stop_the_engine_from_being_made():
    with pytest.raises(EncryptionKeyError, match="key 2 is not a Fernet key"):
        Keyring.parse(f"{new_key()},not-a-key")
    postgres = "postgresql+psycopg://bz:pw@127.0.0.1:1/bazgasht"
    with pytest.raises(EncryptionKeyError, match="BAZGASHT_ENCRYPTION_KEY is not set"):
        keyring_for(postgres, None)


def test_an_engine_without_keys_writes_no_plaintext(tmp_path):
    url = f"sqlite:///{tmp_path / 'bare.db'}"
    upgrade(url)
    bare = sa.create_engine(url)  # not app.db.make_engine: it has no keys
    try:
        with pytest.raises(sa.exc.StatementError) as error, sessionmaker(bare)() as session:
            session.add(Store(name="x", url="https://x.example", api_key_hash="h" * 64,
                              api_key_prefix="bz_", webhook_secret="s", sms_api_key=KAVENEGAR_KEY))
            session.commit()
        assert isinstance(error.value.orig, EncryptionKeyError)
        with bare.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM stores")).scalar() == 0
    finally:
        bare.dispose()


def bazgasht(*args: str, cwd, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BAZGASHT_")}
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=cwd, env=environment | env,
                          capture_output=True, text=True, timeout=120)


def test_rotation_re_encrypts_every_secret_and_the_old_key_can_go(tmp_path):
    old, new = new_key(), new_key()
    url, store_id = sqlite_store(tmp_path, Keyring([old]))
    before = raw_secrets(sa.create_engine(url), store_id)
    # Step 1: the new key first, the old one still there to read with.
    done = bazgasht("rotate-encryption-key", cwd=tmp_path, DATABASE_URL=url,
                    BAZGASHT_ENCRYPTION_KEY=f"{new},{old}")
    assert done.returncode == 0, done.stderr
    assert "re-encrypted 3 secrets" in done.stdout
    after = raw_secrets(sa.create_engine(url), store_id)
    assert_ciphertext(after)
    assert not set(before) & set(after)
    for key in (old, new):
        assert key not in done.stdout + done.stderr
    # Step 2: the old key removed, everything still reads.
    assert read_secrets(url, Keyring([new]), store_id) == PLAINTEXTS
    with pytest.raises(EncryptionKeyError):
        read_secrets(url, Keyring([old]), store_id)
    # Rotating without the key the secrets were written with is a clear error, not a crash.
    lost = bazgasht("rotate-encryption-key", cwd=tmp_path, DATABASE_URL=url,
                    BAZGASHT_ENCRYPTION_KEY=new_key())
    assert lost.returncode == 1 and "keep the old key in the list" in lost.stderr
    assert "Traceback" not in lost.stderr


def test_postgres_without_a_key_refuses_to_start(tmp_path):
    require_server("PostgreSQL", POSTGRES_URL, _postgres_available())
    name = f"bazgasht_nokey_{uuid.uuid4().hex[:12]}"
    url = sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        answer = bazgasht("migrate", cwd=tmp_path, DATABASE_URL=url)
        assert answer.returncode == 1
        assert "error: BAZGASHT_ENCRYPTION_KEY is not set" in answer.stderr
        assert "Traceback" not in answer.stderr
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_embedded_default_makes_its_own_key_beside_the_database(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'bazgasht.db'}"
    path = key_file(url)
    assert path == tmp_path / "bazgasht.db.encryption-key"
    with caplog.at_level(logging.DEBUG):
        first = keyring_for(url, None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()
    assert key not in repr(first) and key not in caplog.text
    token = first.encrypt(KAVENEGAR_KEY)
    assert keyring_for(url, None).decrypt(token) == KAVENEGAR_KEY  # the same key, kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bazgasht.db.encryption-key"]


def test_a_database_from_before_gets_its_stored_keys_encrypted(empty_database):
    """Revision 0019: plaintext credentials already in stores are encrypted in place; going
    back down gives them back as they were."""
    url = empty_database
    upgrade(url, "0018")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _insert(conn, "stores", id=1, api_key_hash="h1", sms_api_key=KAVENEGAR_KEY,
                wc_consumer_key=CONSUMER_KEY, wc_consumer_secret=CONSUMER_SECRET)
        _insert(conn, "stores", id=2, api_key_hash="h2")
    upgrade(url)
    assert_ciphertext(raw_secrets(engine, 1))
    assert raw_secrets(engine, 2) == (None, None, None)
    keys = Keyring.parse(os.environ["BAZGASHT_ENCRYPTION_KEY"])  # the one tests/conftest.py sets
    assert read_secrets(url, keys, 1) == PLAINTEXTS
    command.downgrade(alembic_config(url), "0018")
    assert raw_secrets(engine, 1) == PLAINTEXTS
    engine.dispose()
