"""`alembic upgrade head` from an empty database gives exactly the models' schema."""

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import sessionmaker

from app.db import make_engine
from app.messaging.render import default_template
from app.models import Base
from app.types import UTCDateTime


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


def test_survey_alerts_move_to_merchant_alerts_with_their_ids_and_facts(empty_database):
    """Revision 0017: a survey alert half delivered keeps its id (its SMS's localid) and its
    channels' state, and gets the facts the deliverer used to read at send time."""
    from app.alerts.models import MerchantAlert
    from app.alerts.service import raise_alert
    from app.migrate import upgrade
    from app.stores.models import Store

    upgrade(empty_database, "0016")
    engine = make_engine(empty_database)
    with engine.begin() as conn:
        _insert(conn, "stores", id=1)
        _insert(conn, "contacts", id=1, phone="+989121112222")
        _insert(conn, "orders", id=1, contact_id=1, wc_id=901, number="901", first_name="سارا",
                last_name="", phone_raw="0912 111 2222")
        _insert(conn, "survey_answers", id=1, order_id=1, message_id=None, rating=1, comment="دیر رسید",
                answered_at=datetime(2026, 11, 2, 8, 30, tzinfo=timezone.utc))
        _insert(conn, "survey_alerts", id=7, answer_id=1, attempts=2, sms_status="sent",
                sms_gateway_id="g-1", webhook_status="pending",
                next_attempt_at=datetime(2026, 11, 2, 9, tzinfo=timezone.utc))
    upgrade(empty_database)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        [moved] = session.scalars(sa.select(MerchantAlert)).all()
        assert (moved.id, moved.kind, moved.answer_id, moved.attempts) == (7, "survey.low_rating", 1, 2)
        assert (moved.sms_status, moved.sms_gateway_id, moved.webhook_status) == ("sent", "g-1", "pending")
        assert moved.next_attempt_at == datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
        assert moved.details == {
            "order": {"id": 901, "number": "901"}, "rating": 1, "comment": "دیر رسید",
            "answered_at": "2026-11-02T08:30:00+00:00",
            "customer": {"first_name": "سارا", "last_name": "", "phone": "+989121112222"}}
        # New alerts number on after the moved ones (PostgreSQL's sequence was moved on).
        later = raise_alert(session, session.get(Store, 1), "connection.healed", {},
                            datetime(2026, 11, 3, tzinfo=timezone.utc))
        assert later.id > 7
    engine.dispose()


def test_steps_get_their_kinds_send_within_and_pending_messages_their_deadline(empty_database):
    """Revision 0023: every step gets its kind's send-no-later-than for its delay; a message
    not sent yet must go within that of its due time; a sent one has no deadline. Nothing of
    the messages is lost when SQLite copies the steps' table to alter it."""
    from app.migrate import upgrade

    upgrade(empty_database, "0022")
    engine = make_engine(empty_database)
    due = datetime(2026, 11, 2, 8, 30, tzinfo=timezone.utc)
    with engine.begin() as conn:
        _insert(conn, "stores", id=1)
        _insert(conn, "contacts", id=1, phone="+989121112222")
        for cid, kind in ((1, "abandoned_cart"), (2, "post_purchase_survey")):
            _insert(conn, "campaigns", id=cid, kind=kind)
        for sid, cid, delay in ((1, 1, 60), (2, 1, 4320), (3, 2, 4320)):
            _insert(conn, "campaign_steps", id=sid, campaign_id=cid, position=sid, delay_minutes=delay)
        for mid, sid, status in ((1, 1, "scheduled"), (2, 2, "held"), (3, 3, "scheduled"),
                                 (4, 1, "sent")):
            _insert(conn, "enrollments", id=mid, subject_id=mid)
            _insert(conn, "messages", id=mid, enrollment_id=mid, step_id=sid, status=status,
                    due_at=due)
    upgrade(empty_database)
    with engine.connect() as conn:
        steps = conn.execute(sa.text(
            "SELECT id, send_within_minutes FROM campaign_steps ORDER BY id")).all()
        messages = conn.execute(sa.select(sa.column("id"), sa.column("latest_at", UTCDateTime()))
                                .select_from(sa.table("messages")).order_by("id")).all()
    engine.dispose()
    assert [tuple(s) for s in steps] == [(1, 720), (2, 2880), (3, 4320)]
    assert [tuple(m) for m in messages] == [
        (1, due + timedelta(hours=12)), (2, due + timedelta(days=2)),
        (3, due + timedelta(days=3)), (4, None)]


def test_the_fixed_campaigns_become_presets_with_their_trigger(tmp_path):
    """Revision 0031: a store's campaigns keep working after the move to automations: each
    gets the trigger its kind always had, no conditions, no exits; steps and history stay."""
    from app.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'automations.db'}"
    upgrade(url, "0030")
    engine = sa.create_engine(url)
    kinds = ["abandoned_cart", "post_purchase_survey", "cross_sell", "win_back", "lost_order"]
    with engine.begin() as conn:
        _insert(conn, "stores", id=1)
        for n, kind in enumerate(kinds, start=1):
            _insert(conn, "campaigns", id=n, kind=kind)
            _insert(conn, "campaign_steps", id=n, campaign_id=n, position=1)
    upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text('SELECT kind, "trigger", trigger_params, conditions, exits '
                                    "FROM campaigns ORDER BY id")).all()
        steps = conn.execute(sa.text("SELECT count(*) FROM campaign_steps")).scalar()
    engine.dispose()
    assert [(kind, trigger) for kind, trigger, *_ in rows] == [
        ("abandoned_cart", "cart_abandoned"), ("post_purchase_survey", "order_completed"),
        ("cross_sell", "order_completed"), ("win_back", "no_purchase"),
        ("lost_order", "order_lost")]
    assert {tuple(r[2:]) for r in rows} == {("{}", "{}", "{}")} and steps == 5
