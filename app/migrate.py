"""Run Alembic from code (the CLI, `serve` on start, and the tests), and make sure the
database it runs on exists."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

# The source checkout, or (installed as a package, as in the Docker image) the working folder.
ROOT = next((p for p in (Path(__file__).resolve().parent.parent, Path.cwd())
             if (p / "alembic.ini").exists()), Path.cwd())


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def is_current(database_url: str) -> bool:
    heads = set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads()) == heads
    finally:
        engine.dispose()


class DatabaseUnavailable(Exception):
    """The database cannot be reached or created; the message is one line for a person."""


def _server(url: URL) -> str:
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def describe_database(database_url: str) -> str:
    """What the database is, for a person: never the password."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = url.database or ""
        if path in ("", ":memory:"):
            return "SQLite (in memory)"
        return f"SQLite {path if Path(path).is_absolute() else './' + path}"
    if backend == "postgresql":
        return f"PostgreSQL {url.database} at {_server(url)}"
    return f"{backend} {url.database or ''}".strip()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return lines[0] if lines else type(orig).__name__


def ensure_database(database_url: str) -> bool:
    """On PostgreSQL, create the database when it does not exist yet, connecting to the
    server's `postgres` maintenance database with the same credentials. Returns True when it
    created it; raises DatabaseUnavailable (one line) when the server cannot be reached or the
    database can neither be opened nor created. Other backends: nothing to do."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql" or not url.database:
        return False
    try:
        _connect(url)
        return False
    except DBAPIError as exc:
        problem = _first_line(exc)
    # The server's messages may be in any language, and psycopg gives no SQLSTATE for a failed
    # connection: whether the database is missing is asked of the server itself.
    maintenance = url.set(database="postgres")
    label = describe_database(database_url)
    engine = create_engine(maintenance, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                 {"name": url.database})
            if exists:
                raise DatabaseUnavailable(f"cannot connect to {label}: {problem}")
            quoted = engine.dialect.identifier_preparer.quote(url.database)
            try:
                conn.execute(text(f"CREATE DATABASE {quoted}"))
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) == "42P04":  # created meanwhile
                    return False
                raise DatabaseUnavailable(
                    f"database {url.database!r} does not exist on {_server(url)} "
                    f"and could not be created ({_first_line(exc)}): create it, or give "
                    "DATABASE_URL a user allowed to (CREATEDB)") from None
    except DBAPIError as exc:
        raise DatabaseUnavailable(f"cannot connect to {label}: {_first_line(exc)}") from None
    finally:
        engine.dispose()
    return True


def _connect(url: URL) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()
