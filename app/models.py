"""Every domain's tables, imported once so the metadata (and Alembic) sees them all."""

from app.campaigns.models import Campaign, CampaignStep, Enrollment, Message
from app.commerce.models import Cart, Order, Product
from app.contacts.models import Contact
from app.db import Base
from app.ingest.models import WebhookDelivery
from app.messaging.models import ConsoleSms, InboundSms
from app.stores.models import Store

__all__ = ["Base", "Campaign", "CampaignStep", "Enrollment", "Message", "Cart", "ConsoleSms", "InboundSms", "Contact", "Order", "Product", "Store", "WebhookDelivery"]
