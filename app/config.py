"""Settings, read once from the environment (and a .env file if present)."""

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 10


def weakness(secret: str) -> str | None:
    """Why a configured secret is too weak to guard anything, or None. Random ones pass:
    `python -c "import secrets; print(secrets.token_urlsafe(32))"`."""
    if len(secret) < MIN_SECRET_LENGTH:
        return (f"{len(secret)} characters, at least {MIN_SECRET_LENGTH} needed "
                "(generate one: python -c \"import secrets; print(secrets.token_urlsafe(32))\")")
    if len(set(secret)) < MIN_DISTINCT_CHARACTERS:
        return (f"only {len(set(secret))} different characters, at least "
                f"{MIN_DISTINCT_CHARACTERS} needed: use a random value")
    return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///bazgasht.db"
    # Unset means embedded mode: background work runs in threads inside `serve`.
    redis_url: str | None = None
    bazgasht_admin_token: SecretStr | None = None
    # Signs panel sessions and CSRF tokens. Unset: generated once and kept in the database
    # (app/server_key.py); production sets it. Changing it signs every merchant out.
    bazgasht_secret_key: SecretStr | None = None
    # Off only for load tests and benchmarks from one address (README, Security).
    rate_limits: bool = True
    bazgasht_public_url: str = "http://127.0.0.1:8000"
    # Fernet keys, comma-separated, for the stores' credentials at rest (app/crypto.py): the
    # first encrypts, all decrypt. Unset: an SQLite database's own key file; PostgreSQL refuses.
    bazgasht_encryption_key: SecretStr | None = None
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
    # The other providers' APIs (app/messaging/providers.py), for their fakes the same way.
    smsir_base_url: str = "https://api.sms.ir/v1"
    ippanel_base_url: str = "https://edge.ippanel.com/v1"
    ghasedak_base_url: str = "https://gw.ghasedak.me/Rest/api/v1/WebService"
    melipayamak_base_url: str = "https://console.melipayamak.com/api"
    # Pay as you go: the platform's own Kavenegar account for stores with sms_provider
    # "platform" (metered per part against their prepaid balance). Unset: the console gateway.
    platform_kavenegar_api_key: SecretStr | None = None
    platform_sms_sender: str | None = None
    # ---- retention (app/ingest) ----
    # Webhook bodies (shoppers' names, phones, addresses) are kept this many days after they
    # arrive, then emptied by the scheduler's webhook_bodies job; each delivery's row (topic,
    # status, dates, body hash) stays for reports and for recognising replays.
    webhook_body_retention_days: int = Field(30, ge=1)
    # ---- operations (app/ops) ----
    # "json" in production: one JSON object per line, with request, store and message ids.
    log_format: str = "text"
    log_level: str = "INFO"
    # Set: GET /metrics wants "Authorization: Bearer <token>". Unset: open (keep it off the
    # public internet at the proxy).
    metrics_token: SecretStr | None = None
    # Celery workers serve no HTTP: set, a worker serves its processes' metrics on this port.
    metrics_port: int | None = None
    # Production: how many senders drain due messages side by side, each a task that claims a
    # batch and sends it, batch after batch. Match the workers' pool processes (2 workers with
    # a child per core on 2 cores: 4); more only queue behind each other.
    senders: int = Field(4, ge=1, le=64)
    # A worker told to stop at once (SIGQUIT, a second Ctrl-C) still gives running send
    # batches this long before cancelling them.
    worker_soft_shutdown_seconds: float = 60.0
    # ---- outbound calls to tenant URLs (app/outbound.py) ----
    # On: a store URL or alert webhook URL may point at loopback and private addresses, and an
    # alert webhook may be plain http: local development and tests against the fakes, nothing
    # else. Refused with REDIS_URL set (production runs with Redis): the process does not start.
    outbound_allow_private: bool = False

    @model_validator(mode="after")
    def _private_outbound_only_embedded(self):
        if self.outbound_allow_private and self.redis_url:
            raise ValueError("OUTBOUND_ALLOW_PRIVATE is for local development (embedded mode) "
                             "only: unset it, or unset REDIS_URL")
        return self

    @field_validator("bazgasht_admin_token", "bazgasht_secret_key", "metrics_token")
    @classmethod
    def _strong(cls, value: SecretStr | None, info) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            problem = weakness(value.get_secret_value())
            if problem:
                raise ValueError(f"{info.field_name.upper()} is too weak: {problem}")
        return value

    @property
    def embedded(self) -> bool:
        return not self.redis_url

    @property
    def public_url(self) -> str:
        return self.bazgasht_public_url.rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()
