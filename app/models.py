"""Every domain's tables, imported once so the metadata (and Alembic) sees them all."""

from app.commerce.models import Cart, Order, Product
from app.contacts.models import Contact
from app.db import Base
from app.ingest.models import WebhookDelivery
from app.stores.models import Store

__all__ = ["Base", "Cart", "Contact", "Order", "Product", "Store", "WebhookDelivery"]
