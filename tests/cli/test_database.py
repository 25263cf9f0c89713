"""The database a newcomer points bazgasht at: named as it is, created when missing, and when it
cannot be, one clear line instead of a traceback."""

import uuid

import pytest
import sqlalchemy as sa

from app.migrate import describe_database
from tests.cli.conftest import bazgasht, clean_env, database_exists, free_port, serving


@pytest.mark.parametrize("url, described", [
    ("sqlite:///bazgasht.db", "SQLite ./bazgasht.db"),
    ("sqlite:////var/lib/bazgasht/bz.db", "SQLite /var/lib/bazgasht/bz.db"),
    ("postgresql+psycopg://bz:s3cret-pw@db.example:6543/shop", "PostgreSQL shop at db.example:6543"),
    ("postgresql+psycopg://bz:s3cret-pw@db.example/shop", "PostgreSQL shop at db.example:5432"),
])
def test_the_database_is_named_without_its_password(url, described):
    assert describe_database(url) == described


def pg_url(admin_url: str, database: str, **parts) -> str:
    return sa.make_url(admin_url).set(database=database, **parts).render_as_string(
        hide_password=False)


def test_serve_creates_a_missing_postgres_database_and_names_it(
        tmp_path, postgres_admin_url, missing_database):
    # Trust authentication ignores the password; it is there to be kept out of the output.
    url = pg_url(postgres_admin_url, missing_database, password="never-printed-pw")
    with serving(tmp_path, clean_env(DATABASE_URL=url)) as (port, output):
        host = sa.make_url(postgres_admin_url)
        where = f"{host.host}:{host.port or 5432}"
        assert f"created the database: PostgreSQL {missing_database} at {where}" in output
        assert f"database:       PostgreSQL {missing_database} at {where}" in output
        assert "SQLite" not in output and "never-printed-pw" not in output
        assert "Demo store «فروشگاه نمونه» created" in output
    assert database_exists(postgres_admin_url, missing_database)
    assert not (tmp_path / "bazgasht.db").exists()


def test_migrate_creates_a_missing_postgres_database(
        tmp_path, postgres_admin_url, missing_database):
    env = clean_env(DATABASE_URL=pg_url(postgres_admin_url, missing_database))
    result = bazgasht("migrate", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "created the database" in result.stdout and "database is up to date" in result.stdout
    again = bazgasht("migrate", cwd=tmp_path, env=env)
    assert again.returncode == 0 and "created" not in again.stdout, again.stderr
    stores = bazgasht("store", "list", cwd=tmp_path, env=env)
    assert stores.returncode == 0 and stores.stdout.strip() == "[]", stores.stderr


@pytest.fixture
def role_without_createdb(postgres_admin_url):
    name = f"bazgasht_cli_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{name}" LOGIN NOCREATEDB'))
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()


def test_a_database_that_cannot_be_created_is_one_line(
        tmp_path, postgres_admin_url, missing_database, role_without_createdb):
    url = pg_url(postgres_admin_url, missing_database, username=role_without_createdb,
                 password="never-printed-pw")
    for command in (["migrate"], ["serve", "--port", str(free_port())]):
        result = bazgasht(*command, cwd=tmp_path, env=clean_env(DATABASE_URL=url))
        assert result.returncode == 1
        assert "Traceback" not in result.stderr and "never-printed-pw" not in result.stderr
        [line] = result.stderr.strip().splitlines()
        assert line.startswith(f"error: database '{missing_database}' does not exist")
        assert "could not be created" in line and "permission denied" in line
    assert not database_exists(postgres_admin_url, missing_database)


def test_an_unreachable_server_is_one_line(tmp_path):
    url = f"postgresql+psycopg://bz:never-printed-pw@127.0.0.1:{free_port()}/bazgasht"
    for command in (["migrate"], ["store", "list"]):
        result = bazgasht(*command, cwd=tmp_path, env=clean_env(DATABASE_URL=url))
        assert result.returncode == 1
        assert "Traceback" not in result.stderr and "never-printed-pw" not in result.stderr
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("error:") and "PostgreSQL bazgasht at 127.0.0.1:" in line, line
