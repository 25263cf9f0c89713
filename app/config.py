"""Settings, read once from the environment (and a .env file if present)."""

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///bazgasht.db"
    # Unset means embedded mode: background work runs in threads inside `serve`.
    redis_url: str | None = None
    bazgasht_admin_token: SecretStr | None = None
    bazgasht_public_url: str = "http://127.0.0.1:8000"
    # WooCommerce never retries; anything larger than this is not a real delivery.
    max_webhook_body_bytes: int = 1024 * 1024
    # ---- HTTP limits (app/limits.py), before any endpoint or authentication runs ----
    # The largest body any endpoint takes (a blacklist CSV, app/admin/contacts.py): larger is
    # refused with 413 before it is read.
    max_request_body_bytes: int = 2 * 1024 * 1024
    # A request's body must have arrived this long after the request started (else 408).
    body_timeout_seconds: float = 30.0
    # `bazgasht serve`: a request head (request line and headers) larger than this is refused
    # (400), and an idle keep-alive connection is closed after keep_alive_seconds.
    max_header_bytes: int = 16 * 1024
    keep_alive_seconds: float = 5.0
    # How often the scheduler enrolls, claims due messages and sends them.
    tick_seconds: float = 15.0
    # Tests and local development point this at `bazgasht fake-kavenegar`.
    kavenegar_base_url: str = "https://api.kavenegar.com"
    # Pay as you go: the platform's own Kavenegar account for stores with sms_provider
    # "platform" (metered per part against their prepaid balance). Unset: the console gateway.
    platform_kavenegar_api_key: SecretStr | None = None
    platform_sms_sender: str | None = None
    # ---- operations (app/ops) ----
    # "json" in production: one JSON object per line, with request, store and message ids.
    log_format: str = "text"
    log_level: str = "INFO"
    # Set: GET /metrics wants "Authorization: Bearer <token>". Unset: open (keep it off the
    # public internet at the proxy).
    metrics_token: SecretStr | None = None
    # Celery workers serve no HTTP: set, a worker serves its processes' metrics on this port.
    metrics_port: int | None = None
    # A worker told to stop at once (SIGQUIT, a second Ctrl-C) still gives running send
    # batches this long before cancelling them.
    worker_soft_shutdown_seconds: float = 60.0

    @property
    def embedded(self) -> bool:
        return not self.redis_url

    @property
    def public_url(self) -> str:
        return self.bazgasht_public_url.rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()
