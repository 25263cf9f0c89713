"""`bazgasht` command line: serve, migrate, stores and ingest for operators."""

import json
from pathlib import Path
from typing import Annotated

import typer

from app.config import Settings, get_settings

# No pretty tracebacks: they print local variables, and those can hold secrets.
cli = typer.Typer(help="bazgasht: SMS retention for WooCommerce stores.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
store_cli = typer.Typer(help="Stores (tenants).", no_args_is_help=True)
ingest_cli = typer.Typer(help="Webhook deliveries.", no_args_is_help=True)
cli.add_typer(store_cli, name="store")
cli.add_typer(ingest_cli, name="ingest")


def _echo_json(data) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _factory(settings: Settings):
    """Sessions on an up-to-date schema: the embedded SQLite file migrates itself."""
    from app.db import make_engine, make_sessionmaker
    from app.migrate import is_current, upgrade

    if settings.database_url.startswith("sqlite"):
        upgrade(settings.database_url)
    elif not is_current(settings.database_url):
        typer.echo("error: the database schema is not up to date: run `bazgasht migrate`", err=True)
        raise typer.Exit(1)
    return make_sessionmaker(make_engine(settings.database_url))


def _ensure_database(settings: Settings) -> None:
    """A missing PostgreSQL database is created (or one clear line says why it cannot be)."""
    from app.migrate import describe_database, ensure_database

    if ensure_database(settings.database_url):
        typer.echo(f"created the database: {describe_database(settings.database_url)}")


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date (alembic upgrade head), creating a missing
    PostgreSQL database first."""
    from app.migrate import upgrade

    settings = get_settings()
    _ensure_database(settings)
    upgrade(settings.database_url)
    typer.echo("database is up to date")


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _hide_uvicorn_address(record) -> bool:
    # uvicorn prints the bare address, which answers 404; the banner prints pages that answer.
    return not str(record.msg).startswith("Uvicorn running on")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_migrate: Annotated[bool, typer.Option("--no-migrate", help="Skip migrations.")] = False,
) -> None:
    """Run the API (and, without REDIS_URL, the background work) in this process."""
    import logging
    import os

    import uvicorn

    from app.clock import SYSTEM
    from app.dashboard import join
    from app.db import unit_of_work
    from app.limits import server_options
    from app.main import create_app
    from app.migrate import describe_database, upgrade
    from app.onboarding import open_demo_store
    from app.ops.logs import configure as configure_logging
    from app.stores import service as stores

    listening = _address(host, port)
    settings = get_settings()
    derived = "bazgasht_public_url" not in settings.model_fields_set
    if derived:
        # One public URL for the whole process: what the embedded tick mints (short links,
        # survey links) reads get_settings(), not a copy made here.
        reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        os.environ["BAZGASHT_PUBLIC_URL"] = f"http://{_address(reachable, port)}"
        get_settings.cache_clear()
        settings = get_settings()
    if not no_migrate:
        _ensure_database(settings)
        upgrade(settings.database_url)
    base = settings.public_url
    mode = ("embedded: background work runs in this process (no Redis)" if settings.embedded
            else "production: run `bazgasht worker` and `bazgasht beat` for background work")
    lines = ["", "bazgasht is running:",
             f"  merchant panel: {base}/panel/login  (a member's phone and a code by SMS)",
             f"  API docs:       {base}/docs",
             f"  health check:   {base}/healthz",
             f"  listening on:   {listening}"
             + ("" if derived else "  (links and webhook URLs use BAZGASHT_PUBLIC_URL, as above)"),
             f"  database:       {describe_database(settings.database_url)}",
             f"  mode:           {mode}"]
    if derived and port != 8000:
        lines.append(f"  other commands (store create, tick) build URLs from BAZGASHT_PUBLIC_URL:"
                     f" export BAZGASHT_PUBLIC_URL={base}")
    with unit_of_work(_factory(settings)) as session:
        demo = open_demo_store(session, now=SYSTEM.now())
        if demo:
            store, api_key, token = demo
            lines += ["", f"Demo store «{store.name}» created (connect a WooCommerce store with "
                          "these, or create your own with `bazgasht store create`):",
                      f"  store id:       {store.id}",
                      f"  webhook URL:    {stores.webhook_url(base, store.id)}",
                      f"  webhook secret: {store.webhook_secret}",
                      f"  API key:        {api_key}  (shown once)",
                      f"  panel owner:    {base}{join.link_path(token)}",
                      "                  (open it, give your phone and name: you become the "
                      "store's owner; one use, 7 days)"]
            if not settings.platform_kavenegar_api_key:
                lines.append("  sign-in codes:  the console gateway sends no SMS: each code is "
                             "printed in this log («panel sign-in code for …»)")
    lines += ["", "Press CTRL+C to stop."]
    banner = "\n".join(lines)

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if self.started:  # listening: every URL above answers from now on
                typer.echo(banner)

    app = create_app(settings)
    # Sets up its loggers; bounds headers and idle connections (app/limits.py).
    config = uvicorn.Config(app, host=host, port=port, log_level="info",
                            **server_options(settings))
    configure_logging(settings.log_format, settings.log_level)  # then LOG_FORMAT, redaction
    logging.getLogger("uvicorn.error").addFilter(_hide_uvicorn_address)
    Server(config).run()


@store_cli.command("create")
def store_create(
    name: Annotated[str, typer.Option(help="Store name shown to customers.")],
    url: Annotated[str, typer.Option(help="The store's site URL, e.g. https://shop.example")],
    timezone: Annotated[str, typer.Option(help="IANA timezone.")] = "Asia/Tehran",
    currency: Annotated[str, typer.Option(help="IRT, IRR, IRHT, IRHR or ISO code.")] = "IRT",
    owner_phone: Annotated[str | None, typer.Option(
        help="The mobile of the store's first panel owner (signs in with it and an SMS code).")]
    = None,
    owner_name: Annotated[str | None, typer.Option(help="The owner's name in the panel.")] = None,
) -> None:
    """Create a store and print its id, API key, webhook URL and secret as JSON."""
    from pydantic import ValidationError

    from app.db import unit_of_work
    from app.onboarding import open_store
    from app.stores import service as stores
    from app.stores.plugin import connection_code
    from app.stores.schemas import StoreCreate

    settings = get_settings()
    try:
        data = StoreCreate(name=name, url=url, timezone=timezone, currency=currency,
                           owner_phone=owner_phone, owner_name=owner_name)
    except ValidationError as exc:
        for err in exc.errors():
            typer.echo(f"error: {'.'.join(map(str, err['loc']))}: {err['msg']}", err=True)
        raise typer.Exit(2) from None
    with unit_of_work(_factory(settings)) as session:
        store, api_key = open_store(session, data)
        url = stores.webhook_url(settings.public_url, store.id)
        _echo_json({"id": store.id, "name": store.name, "url": store.url,
                    "api_key": api_key, "webhook_secret": store.webhook_secret,
                    "webhook_url": url, "plugin_connection_code": connection_code(store, url)})


@store_cli.command("list")
def store_list() -> None:
    """List the stores as JSON: id, name, url, enabled, webhook URL (no secrets)."""
    from app.db import unit_of_work
    from app.stores import service as stores

    settings = get_settings()
    with unit_of_work(_factory(settings)) as session:
        _echo_json([{"id": s.id, "name": s.name, "url": s.url, "enabled": s.enabled,
                     "webhook_url": stores.webhook_url(settings.public_url, s.id)}
                    for s in stores.list_stores(session)])


@store_cli.command("join-link")
def store_join_link(
    store: Annotated[int, typer.Option(help="Store id.")],
) -> None:
    """Make a one-time link to the store's panel and print it as JSON: whoever opens it and
    proves a phone by SMS code becomes an owner of the store (one use, valid 7 days)."""
    from app.clock import SYSTEM
    from app.dashboard import join
    from app.db import unit_of_work
    from app.stores import service as stores

    settings = get_settings()
    with unit_of_work(_factory(settings)) as session:
        row = stores.get_store(session, store)
        now = SYSTEM.now()
        token = join.new_link(session, store_id=row.id, now=now)
        _echo_json({"id": row.id, "join_url": settings.public_url + join.link_path(token),
                    "expires_at": (now + join.LIFETIME).isoformat()})


@store_cli.command("rotate-key")
def store_rotate_key(
    store: Annotated[int, typer.Option(help="Store id.")],
) -> None:
    """Issue a new API key for a store and print it once, as JSON; the old key stops working."""
    from app.admin.service import rotate_api_key
    from app.db import unit_of_work
    from app.stores import service as stores

    with unit_of_work(_factory(get_settings())) as session:
        row = stores.get_store(session, store)
        api_key = rotate_api_key(session, store=row)
        _echo_json({"id": row.id, "api_key": api_key, "api_key_prefix": row.api_key_prefix})


@store_cli.command("set-gateway")
def store_set_gateway(
    store: Annotated[int, typer.Option(help="Store id.")],
    provider: Annotated[str, typer.Option(help="console, or a provider: kavenegar, smsir, …")],
    sender: Annotated[str | None, typer.Option(help="The sending line, e.g. 10004346.")] = None,
) -> None:
    """Set a store's SMS gateway. The provider's API key is read from SMS_API_KEY (so it stays
    out of shell history; KAVENEGAR_API_KEY is read too) and never printed."""
    import os

    from pydantic import ValidationError

    from app.db import unit_of_work
    from app.stores import service as stores
    from app.stores.schemas import SmsGatewaySettings

    try:
        data = SmsGatewaySettings(provider=provider, sender=sender,
                                  api_key=os.environ.get("SMS_API_KEY")
                                  or os.environ.get("KAVENEGAR_API_KEY") or None)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(map(str, err["loc"])) or "settings"
            typer.echo(f"error: {where}: {err['msg']}", err=True)
        raise typer.Exit(2) from None
    with unit_of_work(_factory(get_settings())) as session:
        row = stores.set_sms_gateway(session, store, data)
        _echo_json({"id": row.id, "sms_provider": row.sms_provider, "sms_sender": row.sms_sender,
                    "sms_api_key_set": bool(row.sms_api_key)})


@store_cli.command("set-woocommerce-api")
def store_set_woocommerce_api(
    store: Annotated[int, typer.Option(help="Store id.")],
) -> None:
    """Set a store's WooCommerce REST keys (read/write), for personal coupons. They are read
    from WC_CONSUMER_KEY and WC_CONSUMER_SECRET (so they stay out of shell history) and never
    printed. Messages held for want of a coupon are tried again."""
    import os

    from pydantic import ValidationError

    from app.campaigns.coupons import release_held
    from app.clock import SYSTEM
    from app.db import unit_of_work
    from app.stores import service as stores
    from app.stores.schemas import WooCommerceApiKeys

    try:
        keys = WooCommerceApiKeys(consumer_key=os.environ.get("WC_CONSUMER_KEY", ""),
                                  consumer_secret=os.environ.get("WC_CONSUMER_SECRET", ""))
    except ValidationError as exc:
        for err in exc.errors():  # never the input: it is a secret
            typer.echo(f"error: {'.'.join(map(str, err['loc']))}: {err['msg']} "
                       "(set WC_CONSUMER_KEY and WC_CONSUMER_SECRET)", err=True)
        raise typer.Exit(2) from None
    with unit_of_work(_factory(get_settings())) as session:
        row = stores.set_woocommerce_api(session, store, keys)
        released = release_held(session, store_id=row.id, now=SYSTEM.now())
        _echo_json({"id": row.id, "woocommerce_api_set": True, "messages_released": released})


@ingest_cli.command("process")
def ingest_process() -> None:
    """Apply webhook deliveries that are waiting (the worker and `serve` do this by themselves)."""
    from app.clock import SYSTEM
    from app.ingest.service import process_pending

    applied = process_pending(_factory(get_settings()), now=SYSTEM.now())
    typer.echo(f"applied {applied} deliveries")


@ingest_cli.command("list")
def ingest_list(
    store: Annotated[int, typer.Option(help="Store id.")],
    status: Annotated[str | None, typer.Option(help="e.g. dead_letter")] = None,
    limit: int = 50,
) -> None:
    """Show a store's recent webhook deliveries, with the reason for each dead letter."""
    from app.db import unit_of_work
    from app.ingest.service import list_deliveries

    with unit_of_work(_factory(get_settings())) as session:
        rows = list_deliveries(session, store_id=store, status=status, limit=limit)
        _echo_json([{"id": d.id, "topic": d.topic, "status": d.status, "reason": d.reason,
                     "received_at": d.received_at} for d in rows])


def _parse_now(value: str | None):
    from datetime import datetime, timezone

    from app.clock import SYSTEM

    if value is None:
        return SYSTEM.now()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        typer.echo(f"error: --now: not an ISO 8601 time: {value!r}", err=True)
        raise typer.Exit(2) from None
    if parsed.tzinfo is None:
        typer.echo("error: --now needs a zone, e.g. 2026-11-24T10:00:00+03:30", err=True)
        raise typer.Exit(2)
    return parsed.astimezone(timezone.utc)


@cli.command()
def tick(
    now: Annotated[str | None, typer.Option(help="Act as if it were this time (ISO 8601 with zone).")] = None,
) -> None:
    """Run every scheduler job once, in turn: replies, enrolment, paused stores, reaper,
    coupons, dispatch, delivery reports, alerts, the reports' rollup (each on its own: one
    failing stops no other)."""
    from dataclasses import asdict

    from app.messaging.gateway import make_gateways
    from app.scheduler import tick as run_tick

    at = _parse_now(now)
    settings = get_settings()  # short links are minted on settings.public_url
    factory = _factory(settings)
    report = run_tick(factory, make_gateways(factory, settings), at)
    _echo_json({"now": at.isoformat()} | asdict(report))
    if report.failed:  # the others ran; the log says why these did not
        raise typer.Exit(1)


@cli.command("rebuild-report-rollup")
def rebuild_report_rollup(
    store: Annotated[int | None, typer.Option(help="Only this store (default: every store).")] = None,
    now: Annotated[str | None, typer.Option(help="Act as if it were this time (ISO 8601 with zone).")] = None,
) -> None:
    """Drop the reports' daily rollup and build it again from the raw tables, up to yesterday.
    Reports stay exact meanwhile: a store without its rollup is read from the raw tables."""
    import time

    from app.db import unit_of_work
    from app.ops.locks import try_exclusive
    from app.reports.rollup import forget, roll_up
    from app.stores.models import Store

    at = _parse_now(now)
    factory = _factory(get_settings())
    with try_exclusive(factory.kw["bind"], "report_rollup") as mine:
        if not mine:
            typer.echo("error: the report_rollup job is running right now; try again in a minute",
                       err=True)
            raise typer.Exit(1)
        with unit_of_work(factory) as session:
            if store is not None and session.get(Store, store) is None:
                typer.echo(f"error: --store: no store {store}", err=True)
                raise typer.Exit(2)
            forget(session, store)
        started = time.perf_counter()
        days = roll_up(factory, at, store_ids=None if store is None else [store])
    _echo_json({"store": store, "rolled_up_days": days,
                "seconds": round(time.perf_counter() - started, 1)})


@cli.command("new-encryption-key")
def new_encryption_key() -> None:
    """Print a new key for BAZGASHT_ENCRYPTION_KEY (README: Security)."""
    from app.crypto import new_key

    typer.echo(new_key())


@cli.command("rotate-encryption-key")
def rotate_encryption_key() -> None:
    """Re-encrypt every stored store credential with the first key of BAZGASHT_ENCRYPTION_KEY
    (the others only read); then the old keys can be removed."""
    from app.crypto import rotate
    from app.db import unit_of_work
    from app.models import Base
    from app.types import EncryptedText

    columns = [column for table in Base.metadata.sorted_tables for column in table.columns
               if isinstance(column.type, EncryptedText)]
    with unit_of_work(_factory(get_settings())) as session:
        count = rotate(session.connection(), columns)
    typer.echo(f"re-encrypted {count} secrets with the current key")


@cli.command("fake-kavenegar")
def fake_kavenegar(
    port: Annotated[int, typer.Option(help="Port to listen on (loopback).")] = 8787,
    api_key: Annotated[str, typer.Option(help="The API key it accepts.")] = "test-key",
    control: Annotated[bool, typer.Option(
        "--control", help="Serve a debug API under /_fake/ (faults, credit, inbound texts, "
                          "what was sent) for harnesses in other processes.")] = False,
) -> None:
    """Run a fake Kavenegar for local development (point KAVENEGAR_BASE_URL at it)."""
    from app.messaging.fake_kavenegar import main as run_fake

    run_fake(port=port, api_key=api_key, control=control)


def _celery(*args: str) -> None:
    import importlib.util
    import os
    import sys

    # The celery of this interpreter's environment, not whichever one PATH finds (or none:
    # `.venv/bin/bazgasht worker` from a shell whose PATH lacks the venv).
    if importlib.util.find_spec("celery") is None:
        typer.echo(f"error: celery is not installed for {sys.executable}", err=True)
        raise typer.Exit(1)
    if not get_settings().redis_url:
        typer.echo("error: set REDIS_URL: workers and beat need Redis", err=True)
        raise typer.Exit(1)
    os.execv(sys.executable, [sys.executable, "-m", "celery",
                              "-A", "workers.celery_app:celery_app", *args])


@cli.command()
def worker() -> None:
    """Run a Celery worker (production mode, REDIS_URL set)."""
    _celery("worker", "--loglevel=info")


@cli.command()
def beat() -> None:
    """Run Celery beat, the scheduler's clock (exactly one per deployment)."""
    _celery("beat", "--loglevel=info")


@cli.command("plugin-zip")
def plugin_zip(out: Annotated[Path, typer.Option(help="folder to write the zip into")] = Path("dist"),
               ) -> None:
    """Build the companion WordPress plugin's installable zip (bazgasht-<version>.zip)."""
    from app.stores.plugin import build_zip, version

    out.mkdir(parents=True, exist_ok=True)
    target = out / f"bazgasht-{version()}.zip"
    target.write_bytes(build_zip())
    typer.echo(str(target))


def main() -> None:
    from sqlalchemy.exc import OperationalError

    from app.crypto import EncryptionKeyError
    from app.errors import DomainError
    from app.migrate import DatabaseUnavailable, describe_database

    try:
        cli()
    except DomainError as exc:  # a clear message, as the API would give, not a traceback
        typer.echo(f"error: {exc.message}", err=True)
        raise SystemExit(2) from None
    except (DatabaseUnavailable, EncryptionKeyError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    except OperationalError as exc:  # the database went away or cannot be opened
        reason = next((line.strip() for line in str(exc.orig).splitlines() if line.strip()),
                      type(exc.orig).__name__)
        where = describe_database(get_settings().database_url)
        typer.echo(f"error: cannot use {where}: {reason}", err=True)
        raise SystemExit(1) from None
