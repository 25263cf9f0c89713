"""Mirrors of a store's WooCommerce orders, products and carts, kept current by webhooks."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base
from app.types import BigId, UTCDateTime


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("store_id", "wc_id"),
        Index("ix_orders_store_id_cart_token", "store_id", "cart_token"),
        Index("ix_orders_contact_id", "contact_id"),
        # The lost-order trigger reads one store's recent orders by when they were placed.
        Index("ix_orders_store_id_created_gmt", "store_id", "created_gmt"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    wc_id: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(64))
    purchased: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    currency: Mapped[str] = mapped_column(String(8), default="")
    # Rial for Iranian currencies, the minor unit otherwise (see app.commerce.money).
    total: Mapped[int | None] = mapped_column(BigInteger)
    # What the order's refunds gave back so far (a partial refund leaves it purchased), Rial.
    refunded: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    customer_wc_id: Mapped[int | None] = mapped_column(BigInteger)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone_raw: Mapped[str] = mapped_column(String(64), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    phone_error: Mapped[str | None] = mapped_column(String(200))
    cart_token: Mapped[str | None] = mapped_column(String(64))
    items: Mapped[list] = mapped_column(JSON, default=list)
    # The coupon codes used (coupon_lines[].code), lower-cased as WooCommerce keeps them: a
    # personal coupon's code credits its message.
    coupon_codes: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    created_gmt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    modified_gmt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_gmt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_gmt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the customer pays for this order (WooCommerce's order-pay page), while it can be paid.
    payment_url: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    created_via: Mapped[str] = mapped_column(String(40), default="", server_default="")
    # WooCommerce cancelled it while it waited for payment (the hold-stock timer): still a lost
    # order, unlike one the merchant cancelled after it was placed.
    unpaid_cancelled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    payload_sha256: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("store_id", "wc_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    wc_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(500), default="")
    permalink: Mapped[str] = mapped_column(String(2000), default="")
    type: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(40), default="")
    currency: Mapped[str] = mapped_column(String(8), default="")
    price: Mapped[int | None] = mapped_column(BigInteger)
    regular_price: Mapped[int | None] = mapped_column(BigInteger)
    sale_price: Mapped[int | None] = mapped_column(BigInteger)
    stock_status: Mapped[str] = mapped_column(String(40), default="")
    stock_quantity: Mapped[int | None] = mapped_column(BigInteger)
    cross_sell_ids: Mapped[list] = mapped_column(JSON, default=list)
    upsell_ids: Mapped[list] = mapped_column(JSON, default=list)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    image_url: Mapped[str] = mapped_column(String(2000), default="")
    modified_gmt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payload_sha256: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Cart(Base):
    """A shopper's cart as the companion plugin reports it (topic bazgasht_cart.updated)."""

    __tablename__ = "carts"
    __table_args__ = (
        UniqueConstraint("store_id", "token"),
        Index("ix_carts_contact_id", "contact_id"),
        # The abandoned-cart trigger reads one store's carts by last activity.
        Index("ix_carts_store_id_modified_gmt", "store_id", "modified_gmt"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64))
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone_raw: Mapped[str] = mapped_column(String(64), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    phone_error: Mapped[str | None] = mapped_column(String(200))
    items: Mapped[list] = mapped_column(JSON, default=list)
    currency: Mapped[str] = mapped_column(String(8), default="")
    total: Mapped[int | None] = mapped_column(BigInteger)
    restore_url: Mapped[str] = mapped_column(String(2000), default="")
    cart_url: Mapped[str] = mapped_column(String(2000), default="")
    modified_gmt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The order placed from this cart (linked by the cart token the plugin copies into it).
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    # When a purchase (of this cart, or by the same contact) ended its abandonment.
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the shopper unticked the plugin's SMS consent box: the cart's personal data is gone
    # and nothing more is sent about it (until they tick it again).
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payload_sha256: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
