from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base
from app.types import EncryptedText, UTCDateTime


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))
    # sha256 of the key: keys are 256-bit random, so a slow hash buys nothing.
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_prefix: Mapped[str] = mapped_column(String(16))
    webhook_secret: Mapped[str] = mapped_column(String(64))
    # After a rotation the previous secret still verifies deliveries and links until then.
    previous_webhook_secret: Mapped[str | None] = mapped_column(String(64))
    previous_webhook_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Tehran")
    currency: Mapped[str] = mapped_column(String(8), default="IRT")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Sending rules, in the store's timezone: SMS go out only from send_from to send_until
    # (minutes after local midnight) on the allowed weekdays (0 = Monday … 6 = Sunday).
    send_from_minute: Mapped[int] = mapped_column(Integer, default=9 * 60, server_default="540")
    send_until_minute: Mapped[int] = mapped_column(Integer, default=21 * 60, server_default="1260")
    send_weekdays: Mapped[list] = mapped_column(JSON, default=lambda: list(range(7)),
                                                server_default="[0, 1, 2, 3, 4, 5, 6]")
    # Promotional SMS per contact: at most this many in 24 hours and in 7 days.
    cap_per_day: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    cap_per_week: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    # Promotional texts end with this line (CRA rule for service lines: reply 11 to stop).
    opt_out_text: Mapped[str] = mapped_column(String(40), default="لغو۱۱", server_default="لغو۱۱")
    # SMS gateway: "console" (records, delivers nothing), "kavenegar" with the store's own key,
    # or "platform": the platform's Kavenegar account, paid per part from the store's balance.
    sms_provider: Mapped[str] = mapped_column(String(20), default="console", server_default="console")
    # Store credentials are encrypted at rest (app/crypto.py); write-only in every API.
    sms_api_key: Mapped[str | None] = mapped_column(EncryptedText)
    sms_sender: Mapped[str | None] = mapped_column(String(20))
    # A second provider (its own account): it carries the messages the first refuses for now
    # before doing anything, never one the first may have sent (app/campaigns/dispatch.py).
    sms_fallback_provider: Mapped[str | None] = mapped_column(String(20))
    sms_fallback_api_key: Mapped[str | None] = mapped_column(EncryptedText)
    sms_fallback_sender: Mapped[str | None] = mapped_column(String(20))
    # "sms": our rendered text through sms/send; "lookup": Kavenegar verify/lookup with the
    # step's approved template and tokens (reaches numbers that block advertising lines).
    sms_template_mode: Mapped[str] = mapped_column(String(10), default="sms", server_default="sms")
    # For estimates before the gateway reports the real cost (Rial per SMS part).
    sms_price_per_part: Mapped[int] = mapped_column(Integer, default=1200, server_default="1200")
    # Set when the gateway refuses the store itself (no credit, bad key, IP, sender line):
    # its messages are held, nothing is lost, and sending resumes once the gateway agrees.
    sending_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sending_paused_reason: Mapped[str | None] = mapped_column(String(300))
    sending_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # WooCommerce REST API keys (write-only in every API): personal coupons.
    wc_consumer_key: Mapped[str | None] = mapped_column(EncryptedText)
    wc_consumer_secret: Mapped[str | None] = mapped_column(EncryptedText)
    # One-click connect (app/connection): sha256 of the pending authorisation's nonce (a token
    # is used once: the callback clears it); when the connections job last checked the store's
    # webhooks; how far orders and products were back-filled (the newest date_modified_gmt
    # seen in a back-fill walk); the first check of the current outage (NULL: healthy); until
    # when a round of the connections job holds the store (its calls to the store run on no
    # lock: this lease keeps two rounds from checking it at once).
    wc_connect_nonce_hash: Mapped[str | None] = mapped_column(String(64))
    connection_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    orders_synced_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    products_synced_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    connection_broken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    connection_leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the merchant hears what bazgasht saw (app/alerts).
    alert_phone: Mapped[str | None] = mapped_column(String(20))
    alert_webhook_url: Mapped[str | None] = mapped_column(String(500))
    # An order counts for a message whose link was clicked (or that was sent) this many days before.
    attribution_window_days: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    # Pay as you go (sms_provider "platform"): the prepaid balance in Rial, the ledger's sum;
    # below the threshold the merchant is told once per top-up.
    balance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    low_balance_threshold: Mapped[int] = mapped_column(BigInteger, default=200_000,
                                                       server_default="200000")
    low_balance_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
