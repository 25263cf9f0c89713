"""Engine, sessions and the declarative base shared by every domain."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    MetaData,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.visitors import InternalTraversal

from app.config import get_settings
from app.crypto import Keyring, attach, keyring_for

# Stable constraint names make migrations reproducible on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, keys: Keyring | None = None) -> Engine:
    """An engine that encrypts the stores' secrets with `keys` (default: the configured ones,
    app/crypto.py); without a key for this database it raises EncryptionKeyError."""
    keys = keys or keyring_for(url, get_settings().bazgasht_encryption_key)
    engine = _engine(url)
    attach(engine, keys)
    return engine


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # Let SQLAlchemy, not the driver, open transactions (savepoints need it); see
            # begin() below. WAL lets the webhook endpoint write while the scheduler reads.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # IMMEDIATE takes the write lock up front: a deferred transaction that reads, then
            # writes after another writer committed, fails at once instead of waiting.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


class in_ids(ColumnElement[bool]):  # noqa: N801  (used like a function, as in_() is)
    """`column IN ids`. PostgreSQL gets `column = ANY(%(ids)s)`: one array parameter, so the
    statement reads the same for any number of ids and psycopg parses it once (it does not
    cache statements with more than 50 parameters, and parses those anew each time: a 200-id
    IN of a send batch cost more than the query). Other databases: a plain IN."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a comparison, like in_(): no "= 1" around it
    _traverse_internals = [("expanding", InternalTraversal.dp_clauseelement),
                           ("array", InternalTraversal.dp_clauseelement)]

    def __init__(self, column, ids):
        ids = list(ids)
        self.expanding = column.in_(ids)
        self.array = column == any_(bindparam(None, ids, type_=ARRAY(column.type)))


@compiles(in_ids)
def _in_ids(element, compiler, **kw):
    return compiler.process(element.expanding, **kw)


@compiles(in_ids, "postgresql")
def _in_ids_postgresql(element, compiler, **kw):
    return compiler.process(element.array, **kw)


def rowcount(result: Result[Any]) -> int:
    """Rows an INSERT/UPDATE/DELETE matched. Session.execute() is typed as returning a plain
    Result; for those statements it is a CursorResult, which has the count."""
    return cast(CursorResult[Any], result).rowcount


def insert_rows(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]
                ) -> tuple[postgresql.Insert | sqlite.Insert, list[dict[str, Any]] | None]:
    """An INSERT of many rows (dicts with the same keys) into the model's table, in the
    session's dialect (so it has on_conflict_do_nothing), and the parameters to execute it
    with: `session.execute(*insert_rows(...))`.

    On PostgreSQL one statement whatever the rows: INSERT ... SELECT from one array per column
    (unnest), in the rows' order, a column with the same value in every row bound once. A
    statement with a parameter per value costs the driver about 0.1 ms a row to parse
    (psycopg caches only short ones), more than the database takes to insert it; a statement
    per row, a round trip each. Elsewhere (SQLite, in process) the rows as parameters:
    SQLAlchemy makes them multi-row INSERTs, or executemany.
    Columns left out get their defaults; a Python-side one is computed once for all the rows.
    """
    if session.get_bind().dialect.name != "postgresql":
        return sqlite.insert(model), list(rows)
    table = cast(Table, model.__table__)
    names = list(rows[0])
    values = {name: [row[name] for row in rows] for name in names}
    arrays = {name: bindparam(None, column, type_=ARRAY(table.c[name].type))
              for name, column in values.items() if any(v != column[0] for v in column)}
    if not arrays:  # a single row, or every row alike
        return postgresql.insert(model).values(list(rows)), None
    source = func.unnest(*arrays.values()).table_valued(*arrays).render_derived()
    picked = [source.c[name] if name in arrays
              else bindparam(None, values[name][0], type_=table.c[name].type)
              for name in names]
    return postgresql.insert(model).from_select(names, select(*picked)), None


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
