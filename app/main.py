"""The FastAPI application factory."""

import gc
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import ratelimit
from app.admin.routers import activity, contacts, preview, replenishment
from app.admin.routers import store as store_settings
from app.background import BackgroundLoop
from app.billing.router import merchant_router as billing_router
from app.billing.router import platform_router as billing_platform_router
from app.broadcasts import service as broadcasts
from app.broadcasts.router import router as broadcasts_router
from app.campaigns import coupons
from app.campaigns import service as campaigns
from app.campaigns.presets_router import router as presets_router
from app.campaigns.router import router as campaigns_router
from app.clock import SYSTEM, Clock
from app.config import Settings, get_settings
from app.connection.router import router as connection_router
from app.crypto import keyring_for
from app.dashboard import install as install_dashboard
from app.dashboard.api import router as members_router
from app.db import make_engine, make_sessionmaker
from app.errors import install_error_handlers
from app.ingest import service as ingest
from app.ingest.rejections import RejectionRecorder
from app.ingest.router import router as ingest_router
from app.ingest.writer import DeliveryWriter
from app.limits import BodyLimits
from app.links.clicks import ClickRecorder
from app.links.router import install as install_links
from app.messaging.gateway import make_gateways
from app.messaging.router import router as gateway_check_router
from app.onboarding import open_store
from app.ops.logs import RequestIdMiddleware
from app.ops.router import router as ops_router
from app.reports.router import router as reports_router
from app.reports.router import segments_router as segment_reports_router
from app.scheduler import OWN_JOBS, TENANT_JOBS, tick
from app.segments.router import router as segments_router
from app.stores.plugin import router as plugin_download_router
from app.stores.router import merchant_router as webhook_secret_router
from app.stores.router import router as stores_router
from app.surveys.router import router as surveys_router

log = logging.getLogger(__name__)


def _celery_notifier(redis_url: str):
    """Production: ask a worker to apply deliveries now; beat does it anyway every few seconds."""
    from celery import Celery

    client = Celery("bazgasht", broker=redis_url)

    def notify() -> None:
        try:
            client.send_task("bazgasht.ingest.process_pending", ignore_result=True)
        except Exception:
            log.warning("could not enqueue ingest processing; beat will pick it up", exc_info=True)

    return notify


def create_app(settings: Settings | None = None, *, background: bool = True,
               clock: Clock = SYSTEM) -> FastAPI:
    """Build the app. `background=False` leaves applying deliveries to the caller (tests);
    `clock` is the one clock the app, its routers and its background loops read."""
    settings = settings or get_settings()
    engine = make_engine(settings.database_url,
                         keyring_for(settings.database_url, settings.bazgasht_encryption_key))
    factory = make_sessionmaker(engine)
    loops: list[BackgroundLoop] = []
    # One set per app: they keep HTTP clients (the scheduler, test sends, gateway checks).
    gateways = make_gateways(factory, settings)
    if background and settings.embedded:
        loops.append(BackgroundLoop(lambda: ingest.process_pending(factory, now=clock.now()),
                                    name="bazgasht-ingest"))
        # Every scheduler job in turn, each on its own (app/scheduler.py); those that call
        # tenants' URLs in a loop of their own, so a slow store or alert endpoint never holds
        # up sending.
        loops.append(BackgroundLoop(lambda: tick(factory, gateways, clock.now(), jobs=OWN_JOBS),
                                    interval=settings.tick_seconds, name="bazgasht-tick"))
        loops.append(BackgroundLoop(lambda: tick(factory, gateways, clock.now(),
                                                 jobs=TENANT_JOBS),
                                    interval=settings.tick_seconds, name="bazgasht-tenants"))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        for loop in loops:
            loop.start()
        app.state.click_recorder.start()
        app.state.rejection_recorder.start()
        # Everything alive after startup lives for the whole process: keep it out of the
        # collector's full passes, which otherwise stall every request for tens of ms.
        gc.collect()
        gc.freeze()
        yield
        await app.state.delivery_writer.stop()
        app.state.click_recorder.stop()
        app.state.rejection_recorder.stop()
        for loop in loops:
            loop.stop()
        engine.dispose()

    app = FastAPI(
        title="bazgasht",
        version="0.1.0",
        summary="SMS retention for WooCommerce stores",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.engine = engine
    app.state.sessionmaker = factory
    app.state.gateways = gateways
    if loops:
        app.state.notify_ingest = loops[0].wake
    elif background and settings.redis_url:
        app.state.notify_ingest = _celery_notifier(settings.redis_url)
    else:
        app.state.notify_ingest = lambda: None
    app.state.delivery_writer = DeliveryWriter(engine, lambda: app.state.notify_ingest())
    app.state.click_recorder = ClickRecorder(factory)
    app.state.rejection_recorder = RejectionRecorder(factory)
    # What the edges of lower packages ask of the campaign engine (and of broadcasts), handed
    # over here: those packages are imported by them, so they never import them (dependencies
    # point one way).
    app.state.oldest_due = campaigns.oldest_due  # /metrics: the queue's lag
    app.state.open_store = open_store  # a new store's default campaigns (app/stores)
    app.state.release_coupon_holds = coupons.release_held  # new WooCommerce keys (app/stores)
    app.state.message_subject = campaigns.message_subject  # a survey's order (app/surveys)
    app.state.broadcasts_of = broadcasts.of_campaigns  # broadcasts' rows (app/reports summary)
    install_error_handlers(app)
    ratelimit.install(app)  # app.state.limiter and its 429 answer (app/ratelimit.py)
    app.include_router(ingest_router)
    app.include_router(stores_router)
    app.include_router(webhook_secret_router)  # the merchant's webhook secret rotation
    app.include_router(connection_router)  # one-click connect (app/connection)
    app.include_router(surveys_router)
    app.include_router(plugin_download_router)
    app.include_router(billing_platform_router)
    app.include_router(billing_router)
    app.include_router(reports_router)
    # The merchant admin API, /api/v1.
    for router in (store_settings.router, members_router, campaigns_router, presets_router,
                   preview.router, contacts.router, activity.router, segments_router,
                   segment_reports_router,
                   broadcasts_router):
        app.include_router(router)
    app.include_router(replenishment.router)  # predicted reorder dates (app/campaigns)

    @app.get("/healthz", tags=["ops"], summary="Liveness")
    def healthz() -> dict:
        return {"ok": True}

    app.include_router(ops_router)  # /readyz, /metrics (app/ops)
    # A store's gateway check, and Kavenegar's receive URL (app/messaging).
    app.include_router(gateway_check_router)
    app.add_middleware(RequestIdMiddleware)  # X-Request-ID in, out, and in the logs
    # Outermost: a body over the limit or too slow is refused before anything else reads it.
    app.add_middleware(BodyLimits, max_bytes=settings.max_request_body_bytes,
                       timeout=settings.body_timeout_seconds)

    install_dashboard(app)  # the merchant panel, /panel

    # Last: short links (routed first for well-formed codes, see install; a catch-all last).
    install_links(app)
    return app
