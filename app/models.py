"""Every domain's tables, imported once so the metadata (and Alembic) sees them all."""

from app.admin.models import TestSend
from app.alerts.models import MerchantAlert
from app.billing.models import LedgerEntry
from app.broadcasts.models import Broadcast
from app.campaigns.models import Attribution, Campaign, CampaignStep, Enrollment, Message
from app.commerce.models import Cart, Order, Product
from app.connection.models import StoreWebhook
from app.contacts.models import Contact
from app.dashboard.models import PanelJoinLink, PanelLoginCode, PanelMember, PanelSession
from app.db import Base
from app.ingest.models import WebhookDelivery
from app.links.models import Click, Link
from app.messaging.models import ConsoleSms, InboundSms
from app.report_marks.models import ReportDirtyDay
from app.reports.models import ReportDay, ReportWatermark
from app.segments.models import Segment
from app.server_key import ServerSecret
from app.stores.models import Store
from app.surveys.models import SurveyAnswer

__all__ = ["TestSend", "Attribution", "Broadcast", "LedgerEntry", "Base", "Click", "Link", "MerchantAlert", "Campaign", "CampaignStep", "Enrollment", "Message", "Cart", "ConsoleSms", "InboundSms", "Contact", "Order", "PanelJoinLink", "PanelLoginCode", "PanelMember", "PanelSession", "Product", "ReportDay", "ReportDirtyDay", "ReportWatermark", "Segment", "ServerSecret", "Store", "StoreWebhook", "SurveyAnswer", "WebhookDelivery"]
