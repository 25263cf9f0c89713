"""`alembic upgrade head` from an empty database gives exactly the models' schema."""

from datetime import datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.messaging.render import default_template
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
        lost = conn.execute(sa.text(
            "SELECT s.position, s.delay_minutes, s.template FROM campaign_steps s JOIN campaigns c "
            "ON c.id = s.campaign_id WHERE c.kind = 'lost_order' ORDER BY s.position")).all()
        rules = conn.execute(sa.text("SELECT send_from_minute, cap_per_day FROM stores")).one()
    engine.dispose()
    assert [k for k, _ in kinds] == ["abandoned_cart", "post_purchase_survey", "cross_sell",
                                     "win_back", "lost_order"]
    assert [bool(a) for _, a in kinds] == [True, True, True, False, True]
    assert steps == 9 and tuple(rules) == (540, 1)
    # Revision 0013 gives existing stores the lost-order campaign a new store gets.
    assert [tuple(s) for s in lost] == [(n, delay, default_template(f"lost_order_{n}"))
                                        for n, delay in ((1, 30), (2, 1440), (3, 4320))]


def _insert(conn, table: str, **values) -> None:
    """A row of an old schema: the given values, every other required column a plain dummy."""
    dummies = {sa.Integer: 1, sa.String: "x", sa.Text: "x", sa.Boolean: True,
               sa.DateTime: datetime(2026, 11, 1), sa.JSON: {}}
    columns = sa.Table(table, sa.MetaData(), autoload_with=conn).columns
    for column in columns:
        if column.name not in values and not column.nullable and column.server_default is None:
            values[column.name] = next(v for t, v in dummies.items()
                                       if isinstance(column.type, t))
        if column.name.endswith("_id") and column.name not in values:
            values[column.name] = 1
    conn.execute(sa.insert(sa.Table(table, sa.MetaData(), autoload_with=conn)), values)


def test_free_text_reasons_become_codes_with_their_particulars(tmp_path):
    """Revision 0012: the engine's old reason texts map to codes; what they said beyond the
    code stays as the detail, and a lookup send is known by its mode, not its text."""
    from app.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'reasons.db'}"
    upgrade(url, "0011")
    engine = sa.create_engine(url)
    old = [("skipped", "opted out", None), ("scheduled", "quiet hours", None),
           ("held", "store sending paused: 403 key invalid", None),
           ("skipped", "order is refunded now", None),
           ("held", "coupon: store unreachable for 60 minutes", None),
           ("held", "lookup mode: step 1 has no lookup template", None),
           ("failed", "lookup token renders empty for this message", None),
           ("failed", "gateway: 411 invalid receptor", "hello"),
           ("sent", "confirmed after a lost answer", "hello"),
           ("failed", "lookup outcome unknown: the answer was lost", "[lookup cart] token=x"),
           ("scheduled", None, None)]
    with engine.begin() as conn:
        for table in ("stores", "campaigns", "campaign_steps", "contacts"):
            _insert(conn, table, id=1)
        for n, (status, reason, text) in enumerate(old, start=1):
            _insert(conn, "enrollments", id=n, subject_id=n)
            _insert(conn, "messages", id=n, enrollment_id=n, status=status, reason=reason,
                    text=text, sent_at=datetime(2026, 11, 1) if text else None)
    upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT reason, reason_detail, send_mode FROM messages ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("opted_out", None, None), ("quiet_hours", None, None),
        ("store_paused", "store sending paused: 403 key invalid", None),
        ("order_changed", "order is refunded now", None),
        ("coupon_failed", "coupon: store unreachable for 60 minutes", None),
        ("lookup_config", "lookup mode: step 1 has no lookup template", None),
        ("lookup_data", "lookup token renders empty for this message", None),
        ("gateway_refused", "gateway: 411 invalid receptor", "text"),
        ("confirmed_after_loss", None, "text"),
        ("lookup_unknown", "lookup outcome unknown: the answer was lost", "lookup"),
        (None, None, None)]
