"""Column types shared by the domains."""

from datetime import datetime, timezone

from sqlalchemy import BigInteger, DateTime, Integer, Text
from sqlalchemy.types import TypeDecorator

from app.crypto import keyring_of

# BIGINT on Postgres, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
BigId = BigInteger().with_variant(Integer(), "sqlite")
# The largest id each kind of id column holds: stores, campaigns and steps are INTEGER, the rest
# BigId. Ids from outside are checked against these, so a larger one is malformed input (422),
# never a database error.
MAX_SMALL_ID = 2**31 - 1
MAX_ID = 2**63 - 1


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    SQLite keeps no zone, so values are stored as naive UTC and the zone is put back on load.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class EncryptedText(TypeDecorator):
    """A secret a store gave us: plaintext in Python, a Fernet token in the database, with the
    keys of the engine it goes through (app/crypto.py). An engine without keys fails; nothing
    is ever written in plaintext."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect):
        return None if value is None else keyring_of(dialect).encrypt(value)

    def process_result_value(self, value: str | None, dialect):
        return None if value is None else keyring_of(dialect).decrypt(value)
