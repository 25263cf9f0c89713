"""app.db.in_ids: `IN` on every database, one array parameter on PostgreSQL."""

from sqlalchemy import event, select

from app.db import in_ids, unit_of_work
from app.stores.models import Store
from tests.helpers import create_store


def test_it_selects_what_in_selects_with_one_parameter_on_postgresql(factory, engine):
    with unit_of_work(factory) as session:
        ids = [create_store(session, name=f"s{i}").id for i in range(3)]
    statements = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, params, *_: statements.append(params))
    many = [ids[0], ids[2], *range(10**9, 10**9 + 300)]  # more than psycopg caches
    with factory() as session:
        assert sorted(session.scalars(select(Store.id).where(in_ids(Store.id, many)))) == \
            [ids[0], ids[2]]
        assert session.scalars(select(Store.id).where(in_ids(Store.id, []))).all() == []
        assert sorted(session.scalars(select(Store.id).where(~in_ids(Store.id, [ids[1]])))) == \
            [ids[0], ids[2]]
    if engine.dialect.name == "postgresql":
        assert len(statements[0]) == 1  # the 302 ids are one array
