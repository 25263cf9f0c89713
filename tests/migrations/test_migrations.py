"""`alembic upgrade head` from an empty database gives exactly the models' schema."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.models import Base


def test_upgrade_from_empty_matches_the_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_every_table_of_the_models_exists(engine):
    tables = set(sa.inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_stores_that_existed_before_campaigns_get_the_default_ones(tmp_path):
    from app.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO stores (name, url, api_key_hash, api_key_prefix, webhook_secret, "
            "timezone, currency, enabled, created_at) VALUES ('old', 'https://old.example', "
            "'h', 'bz_', 's', 'Asia/Tehran', 'IRT', 1, '2026-01-01 00:00:00')"))
    upgrade(url)
    with engine.connect() as conn:
        kinds = conn.execute(sa.text("SELECT kind, active FROM campaigns ORDER BY id")).all()
        steps = conn.execute(sa.text("SELECT count(*) FROM campaign_steps")).scalar()
        rules = conn.execute(sa.text("SELECT send_from_minute, cap_per_day FROM stores")).one()
    engine.dispose()
    assert [k for k, _ in kinds] == ["abandoned_cart", "post_purchase_survey", "cross_sell",
                                     "win_back"]
    assert [bool(a) for _, a in kinds] == [True, True, True, False]
    assert steps == 6 and tuple(rules) == (540, 1)
