from logging.config import fileConfig

from alembic import context

from app.config import get_settings
from app.db import make_engine
from app.models import Base
from app.types import EncryptedText, UTCDateTime

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    """Revisions are history: render our column types as plain SQLAlchemy ones."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, EncryptedText):
        return "sa.Text()"
    return False


def _url() -> str:
    return config.attributes.get("database_url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode alters a SQLite table by copying it and dropping the old one: with
            # foreign keys enforced, that drop would cascade into every row that refers to it
            # (altering campaign_steps would delete every message). Off for the run (it cannot
            # change inside a transaction), and the keys are checked once it is over.
            connection.connection.execute("PRAGMA foreign_keys=OFF")  # not in a transaction
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=sqlite,
                          compare_type=True, render_item=render_item)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.connection.execute("PRAGMA foreign_key_check").fetchall()
            connection.connection.execute("PRAGMA foreign_keys=ON")
            if broken:
                raise RuntimeError(f"the migration left rows without their parents: {broken[:5]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
