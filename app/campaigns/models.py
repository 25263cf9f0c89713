"""Campaigns, their steps, enrollments, the messages they schedule and the orders credited to
those messages.

Postgres holds the schedule: a message row with its due_at is the only record that an SMS is
owed; workers claim due rows, nothing waits for hours inside the broker.
"""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.campaigns.reasons import Reason, SendMode
from app.clock import utcnow
from app.db import Base
from app.types import BigId, UTCDateTime

# Campaign kinds
ABANDONED_CART = "abandoned_cart"
POST_PURCHASE_SURVEY = "post_purchase_survey"
CROSS_SELL = "cross_sell"
WIN_BACK = "win_back"
LOST_ORDER = "lost_order"  # an order left unpaid at the bank's page
# The hidden campaign a broadcast owns (app/broadcasts): one step, its members enrolled at start
# (subject_type "contact"); its kind and its trigger, no trigger's in enroll.TRIGGERS, never in
# the campaigns' lists.
BROADCAST = "broadcast"
# Presets a store adds (app/campaigns/presets.py): several of one kind may run at once.
THANK_YOU = "thank_you"
SURVEY_REWARD = "survey_reward"
REPLENISHMENT = "replenishment"

# What starts a campaign's sequence (Campaign.trigger): app/campaigns/enroll.py TRIGGERS finds
# the subjects of each. A campaign's kind names the preset it was made from (app/campaigns/
# presets.py) and decides what its messages carry (content.py); its trigger decides who gets them.
CART_ABANDONED = "cart_abandoned"
ORDER_LOST = "order_lost"
ORDER_COMPLETED = "order_completed"
NO_PURCHASE = "no_purchase"
ORDER_STATUS = "order_status"  # trigger_params {"status": <a WooCommerce status slug>}
PRODUCT_BOUGHT = "product_bought"  # {"products": [...], "categories": [...]}
SURVEY_ANSWERED = "survey_answered"  # {"rating_min": 1, "rating_max": 5}
REORDER_DUE = "reorder_due"  # {"days_before": 3}: app/campaigns/replenish.py's date
TRIGGERS = (CART_ABANDONED, ORDER_LOST, ORDER_COMPLETED, NO_PURCHASE, ORDER_STATUS, PRODUCT_BOUGHT,
            SURVEY_ANSWERED, REORDER_DUE)

# Message statuses
SCHEDULED = "scheduled"
SENDING = "sending"
SENT = "sent"
DELIVERED = "delivered"
FAILED = "failed"
SKIPPED = "skipped"
HELD = "held"


def _code_column(enum: type[Reason] | type[SendMode], length: int) -> Enum:
    # Stored as its value in a plain VARCHAR (no database enum type, no CHECK): a new code needs
    # no migration; Python refuses a value outside the enum on the way in and out.
    return Enum(enum, native_enum=False, create_constraint=False, length=length,
                validate_strings=True,
                values_callable=lambda members: [m.value for m in members])


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_store_id_kind", "store_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Promotional messages obey the frequency cap and carry the opt-out line.
    promotional: Mapped[bool] = mapped_column(Boolean, default=True)
    # abandoned_cart: minutes of inactivity before a cart counts as abandoned;
    # win_back: minutes without a purchase after the last one. Unused by order triggers.
    trigger_minutes: Mapped[int] = mapped_column(Integer, default=0)
    trigger: Mapped[str] = mapped_column(String(40))
    # The trigger's own settings beyond trigger_minutes (app/campaigns/schemas.py TriggerParams).
    trigger_params: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    # Who of the trigger's subjects is enrolled (schemas.py Conditions, all ANDed), checked once,
    # when the trigger fires: a subject that fails is recorded as exited, with no messages.
    conditions: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    # What ends an enrollment before its next message (schemas.py Exits), checked as each is
    # sent, beside what its trigger always ends on (a purchase ends a cart's reminders).
    exits: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    # Percent of new enrollments drawn into the control group (0 = off): enrolled, never sent
    # to, compared with the rest in the campaign's lift (app/reports/lift.py).
    control_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # reorder_due: when the trigger last read the store's purchases and took every reminder due
    # then; it reads them again an hour later, on a new store-local day, or after its params
    # change (app/campaigns/enroll.py look_again). Null: at the next tick.
    trigger_looked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Deleted by the merchant: kept (inactive) for its history; its pending messages were skipped.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CampaignStep(Base):
    __tablename__ = "campaign_steps"
    __table_args__ = (UniqueConstraint("campaign_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    # Counted from the enrollment's anchor (the moment the trigger fired), not from the last step.
    delay_minutes: Mapped[int] = mapped_column(Integer)
    # Sent within this many minutes of its due time or not at all (skipped: too_late): quiet
    # hours, the frequency cap, a paused store or a stopped service never make it days late.
    send_within_minutes: Mapped[int] = mapped_column(Integer)
    template: Mapped[str] = mapped_column(Text)
    coupon: Mapped[dict | None] = mapped_column(JSON)
    # For stores in "lookup" mode: {"template": "<approved Kavenegar template>",
    # "tokens": {"token": "{{ first_name }}", ...}} (each token a Jinja expression).
    lookup: Mapped[dict | None] = mapped_column(JSON)
    # [{"name": "A", "template": "...", "weight": 50}, ...]; empty = the step's template only.
    variants: Mapped[list] = mapped_column(JSON, default=list)
    # Deleted by the merchant: kept for its messages' history, never scheduled again.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Enrollment(Base):
    """One subject (a cart or an order) in one campaign: never twice."""

    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("campaign_id", "subject_type", "subject_id"),
        Index("ix_enrollments_contact_id_status", "contact_id", "status"),
        # The lift report reads one campaign's enrollments by when they started.
        Index("ix_enrollments_campaign_id_anchor_at", "campaign_id", "anchor_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(BigId)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    anchor_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="active")
    exit_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    exited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Drawn into the campaign's control group when enrolled: its messages go through every
    # check, then are skipped (reason control) instead of sent.
    control: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The product the sequence is about, when its trigger picked one: reorder_due's due product
    # (its messages name it, and buying it again ends the sequence), product_bought's first
    # match. WooCommerce's product id.
    product_wc_id: Mapped[int | None] = mapped_column(BigInteger)


class Message(Base):
    """One SMS of one step for one enrollment."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "step_id"),
        # The tick's claim reads only due scheduled rows: its cost follows what is due.
        Index("ix_messages_due", "due_at", postgresql_where=text("status = 'scheduled'"),
              sqlite_where=text("status = 'scheduled'")),
        Index("ix_messages_status_claimed_at", "status", "claimed_at"),
        Index("ix_messages_contact_id_sent_at", "contact_id", "sent_at"),
        # The frequency cap reads withheld (control) messages beside sent ones; few rows have it.
        Index("ix_messages_contact_id_withheld_at", "contact_id", "withheld_at",
              postgresql_where=text("withheld_at IS NOT NULL"),
              sqlite_where=text("withheld_at IS NOT NULL")),
        Index("ix_messages_status_sent_at", "status", "sent_at"),
        # Reports read one store's messages by when they went out, or (not sent) were due;
        # the included columns let them count without visiting the table.
        Index("ix_messages_store_id_sent_at", "store_id", "sent_at",
              postgresql_include=["id", "campaign_id", "step_id", "variant", "status", "parts",
                                  "cost", "delivery_status"]),
        Index("ix_messages_store_id_due_at_unsent", "store_id", "due_at",
              postgresql_where=text("sent_at IS NULL"), sqlite_where=text("sent_at IS NULL"),
              postgresql_include=["campaign_id", "step_id", "variant", "status"]),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    step_id: Mapped[int] = mapped_column(ForeignKey("campaign_steps.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    promotional: Mapped[bool] = mapped_column(Boolean, default=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Its step's due time plus the step's send_within_minutes: after it, it is skipped instead.
    latest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=SCHEDULED)
    # Why it is where it is (app/campaigns/reasons.py), with the particulars beside it.
    reason: Mapped[Reason | None] = mapped_column(_code_column(Reason, 40))
    reason_detail: Mapped[str | None] = mapped_column(String(300))
    # Set when the message is approved for the gateway.
    send_mode: Mapped[SendMode | None] = mapped_column(_code_column(SendMode, 10))
    variant: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The sending process that took it (app/ops/liveness.py): its death frees it at once.
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A control message, when it would have been approved: it counts in the frequency cap from
    # then on, as if sent (so other campaigns treat control contacts like the rest), but it
    # never went out, so nothing that reads sent_at (reports, credit, delivery) sees it.
    withheld_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gateway_id: Mapped[str | None] = mapped_column(String(64))
    # The provider it was handed to (the store's sms_provider then): its delivery report and,
    # after a stall, whether it went out are asked of that provider only.
    sent_via: Mapped[str | None] = mapped_column(String(20))
    parts: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[int | None] = mapped_column(Integer)  # Rial, as the gateway charged it
    delivery_status: Mapped[int | None] = mapped_column(Integer)  # the gateway's code
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# Personal coupon states (app.campaigns.coupons)
COUPON_PENDING = "pending"  # code chosen and stored; not known to exist in the store yet
COUPON_CREATED = "created"  # the store confirmed it: the SMS may carry the code
COUPON_FAILED = "failed"    # given up: the message gets the step's fallback code, or is held
# Its message will never go out (skipped, or failed before the gateway took it):
COUPON_DELETING = "deleting"  # to be deleted from the store (retried until it is)
COUPON_DELETED = "deleted"    # gone from the store (or never made there)
COUPON_KEPT = "kept"          # left in the store: an order used it (or it could not be deleted)


class Coupon(Base):
    """A personal coupon made in the store for one message.

    The code is chosen and stored before the store is called, so a lost answer is looked up by
    code instead of creating a second coupon. `code` is kept as WooCommerce keeps it (lower
    case), which is also how orders report it in `coupon_lines`.
    """

    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("message_id"),
        UniqueConstraint("store_id", "code"),
        # The coupon phase reads pending coupons whose next try is due.
        Index("ix_coupons_status_retry_at", "status", "retry_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default=COUPON_PENDING)
    discount_type: Mapped[str] = mapped_column(String(20))
    amount: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    email: Mapped[str] = mapped_column(String(320), default="")
    wc_id: Mapped[int | None] = mapped_column(BigId)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the coupon phase may call the store for it next (also a lease while a call runs).
    retry_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The last call may have created it in the store: look it up before creating it again.
    maybe_created: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Attribution(Base):
    """An order credited to one message: at most one per order, removed (kept, dated) when the
    order stops being a purchase (cancelled, refunded, failed, deleted)."""

    __tablename__ = "attributions"
    __table_args__ = (Index("ix_attributions_store_id_attributed_at", "store_id", "attributed_at"),
                      Index("ix_attributions_message_id", "message_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    step_id: Mapped[int] = mapped_column(ForeignKey("campaign_steps.id", ondelete="CASCADE"))
    variant: Mapped[str | None] = mapped_column(String(40))
    # lost_order | cart_token | coupon | click | cross_sell: why this message got the credit
    basis: Mapped[str] = mapped_column(String(20))
    # The order's total less what its refunds gave back, Rial; `refunded`: that part.
    revenue: Mapped[int] = mapped_column(BigInteger)
    refunded: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The message recommended a product (cross-sell) and this order bought it.
    cross_sell_purchase: Mapped[bool] = mapped_column(Boolean, default=False,
                                                      server_default=false())
    attributed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_reason: Mapped[str | None] = mapped_column(String(100))
