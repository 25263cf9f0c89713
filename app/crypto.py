"""Secrets a store gives us (its Kavenegar key, its WooCommerce REST keys), encrypted at rest.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) behind MultiFernet: every key of
BAZGASHT_ENCRYPTION_KEY (comma-separated) decrypts, the first one encrypts, so a new key is
put first, `bazgasht rotate-encryption-key` re-encrypts, then the old one is dropped.

Unset, an SQLite database gets a key generated once into a 0600 file beside it (a copied
database file or backup alone gives nothing away; the folder holding both does). PostgreSQL
without a key refuses to start: there is no safe place to invent one.

Each engine carries its keyring (app.db.make_engine attaches it); the column type
(app.types.EncryptedText) finds it through the engine's dialect, so a secret is never written
in plaintext by an engine that has none: that is an error.
"""

import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr
from sqlalchemy.engine import Connection, Dialect, Engine

SETTING = "BAZGASHT_ENCRYPTION_KEY"
MAKE_ONE = "make one with `bazgasht new-encryption-key`"


class EncryptionKeyError(Exception):
    """A key is missing, malformed or not the one a secret was written with. The message is
    one line for an operator and never holds a key or a secret."""


class Keyring:
    """The keys secrets are encrypted with: the first writes, all of them read."""

    def __init__(self, keys: Iterable[str]):
        fernets = []
        for n, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip().encode()))
            except (ValueError, TypeError):
                raise EncryptionKeyError(
                    f"{SETTING}: key {n} is not a Fernet key (44 characters of url-safe "
                    f"base64); {MAKE_ONE}") from None
        if not fernets:
            raise EncryptionKeyError(f"{SETTING} holds no key; {MAKE_ONE}")
        self.size = len(fernets)
        self._fernet = MultiFernet(fernets)

    @classmethod
    def parse(cls, text: str) -> "Keyring":
        return cls(part for part in text.split(",") if part.strip())

    def __repr__(self) -> str:
        return f"Keyring({self.size} key{'s' if self.size > 1 else ''})"

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise EncryptionKeyError(
                f"a stored secret cannot be decrypted with any key of {SETTING}: the key it was "
                "written with is missing (put it back, after the current one)") from None

    def rotate(self, token: str) -> str:
        """The same secret, encrypted with the first key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise EncryptionKeyError(
                f"a stored secret cannot be decrypted with any key of {SETTING}: keep the old "
                "key in the list, after the new one, until the rotation is done") from None


def new_key() -> str:
    return Fernet.generate_key().decode()


def key_file(database_url: str) -> Path | None:
    """Where an SQLite database's own key lives: beside it (None: not a file database)."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database)
    return path.with_name(path.name + ".encryption-key")


def _read_or_create(path: Path) -> str:
    """The key in `path`, generated on first use; a second process racing the first reads
    the one that won (the file appears whole, by a hard link, or not at all)."""
    if not path.exists():
        draft = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(new_key() + "\n")
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink(missing_ok=True)
    return path.read_text()


def keyring_for(database_url: str, configured: SecretStr | None) -> Keyring:
    """The keys for this database: the configured ones, else (SQLite) its own key file, or a
    key for this process alone (an in-memory database lives no longer)."""
    if configured is not None and configured.get_secret_value().strip():
        return Keyring.parse(configured.get_secret_value())
    if sa.make_url(database_url).get_backend_name() != "sqlite":
        raise EncryptionKeyError(
            f"{SETTING} is not set: it encrypts the stores' gateway and WooCommerce keys in the "
            f"database; {MAKE_ONE} and keep it with your other secrets")
    path = key_file(database_url)
    if path is None:
        return Keyring([new_key()])
    try:
        return Keyring.parse(_read_or_create(path))
    except EncryptionKeyError:
        raise EncryptionKeyError(f"{path} holds no valid key (it was generated for this "
                                 f"database: restore it from a backup)") from None


_KEYRINGS: "WeakKeyDictionary[Dialect, Keyring]" = WeakKeyDictionary()


def attach(engine: Engine, keyring: Keyring) -> None:
    _KEYRINGS[engine.dialect] = keyring


def keyring_of(dialect: Dialect) -> Keyring:
    try:
        return _KEYRINGS[dialect]
    except KeyError:
        raise EncryptionKeyError(
            "this database engine has no encryption keys: make it with app.db.make_engine"
        ) from None


def rotate(conn: Connection, columns: Iterable[sa.Column]) -> int:
    """Re-encrypt every stored value of these columns with the current (first) key; the
    number of values. Rows are read and written as stored, never as plaintext."""
    keyring = keyring_of(conn.dialect)
    count = 0
    by_table: dict[str, list[str]] = {}
    for column in columns:
        by_table.setdefault(column.table.name, []).append(column.name)
    for table_name, names in by_table.items():
        raw = sa.table(table_name, sa.column("id"), *(sa.column(n, sa.Text) for n in names))
        for row in conn.execute(sa.select(raw)).mappings().all():
            fresh = {n: keyring.rotate(row[n]) for n in names if row[n] is not None}
            if fresh:
                conn.execute(sa.update(raw).where(raw.c.id == row["id"]).values(fresh))
                count += len(fresh)
    return count
