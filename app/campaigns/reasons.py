"""Why a message is where it is: a stable code per cause, stored in `messages.reason`.

The code is what programs read (the API, the metrics' `reason` label, queries); the free
`messages.reason_detail` beside it carries the particulars (a gateway's words, an order's new
status). A person reads the code through its Persian label, kept with the panel's other words in
templates/dashboard/_labels.html (REASONS); a test holds the two lists equal.
"""

from enum import StrEnum


class Reason(StrEnum):
    # skipped: it will never go out
    ENROLLMENT_ENDED = "enrollment_ended"
    OPTED_OUT = "opted_out"
    CAMPAIGN_DELETED = "campaign_deleted"
    STEP_DELETED = "step_deleted"
    RECEIVER_BLOCKS_ADS = "receiver_blocks_ads"
    PURCHASED = "purchased"
    PURCHASED_AGAIN = "purchased_again"
    CART_EMPTIED = "cart_emptied"
    ORDER_DELETED = "order_deleted"
    ORDER_CHANGED = "order_changed"
    NOTHING_TO_RECOMMEND = "nothing_to_recommend"
    SUPERSEDED = "superseded"  # a newer unpaid order of the same customer took its place
    ORDER_PLACED = "order_placed"  # the cart became an order: the lost-order sequence follows it
    CART_DECLINED = "cart_declined"  # the shopper unticked the SMS consent box at checkout
    ONCE_PER_CUSTOMER = "once_per_customer"  # asked for another order of theirs, not long ago
    TOO_LATE = "too_late"  # past its step's send-no-later-than (hours, cap, a pause, downtime)
    CONTROL = "control"  # the enrollment is in the campaign's control group: never sent to
    CLICKED = "clicked"  # an exit condition: the customer tapped an earlier message's link
    # Not a message's: an enrollment recorded, with no messages, for a subject that failed the
    # campaign's conditions (so the trigger never looks at it again).
    CONDITIONS_NOT_MET = "conditions_not_met"
    BROADCAST_CANCELLED = "broadcast_cancelled"  # the merchant cancelled its broadcast
    # held: it goes out once someone fixes or resumes something
    CAMPAIGN_PAUSED = "campaign_paused"
    STORE_PAUSED = "store_paused"
    NO_BALANCE = "no_balance"
    COUPON_INVALID = "coupon_invalid"
    COUPON_FAILED = "coupon_failed"
    COUPON_NOT_IN_STORE = "coupon_not_in_store"  # the fixed code is not usable in the store
    LOOKUP_CONFIG = "lookup_config"
    LOOKUP_REFUSED = "lookup_refused"
    TEMPLATE_BROKEN = "template_broken"
    # scheduled: moved to a later minute
    QUIET_HOURS = "quiet_hours"
    FREQUENCY_CAP = "frequency_cap"
    POSTPONED = "postponed"
    COUPON_NOT_READY = "coupon_not_ready"
    COUPON_RENEWED = "coupon_renewed"
    GATEWAY_RETRY = "gateway_retry"
    STALL_RETURNED = "stall_returned"
    # scheduled again: what held it is over
    CAMPAIGN_RESUMED = "campaign_resumed"
    STORE_RESUMED = "store_resumed"
    BALANCE_TOPPED_UP = "balance_topped_up"
    COUPON_RETRY = "coupon_retry"
    COUPON_IN_STORE = "coupon_in_store"  # the fixed code is usable in the store again
    # failed
    GATEWAY_REFUSED = "gateway_refused"
    NOT_DELIVERED = "not_delivered"
    LOOKUP_DATA = "lookup_data"
    LOOKUP_UNKNOWN = "lookup_unknown"
    SEND_UNKNOWN = "send_unknown"  # its answer was lost; the gateway cannot say; not resent
    # sent, found out afterwards
    CONFIRMED_AFTER_LOSS = "confirmed_after_loss"
    CONFIRMED_AFTER_STALL = "confirmed_after_stall"


class SendMode(StrEnum):
    """How an approved message went to the gateway."""

    TEXT = "text"  # sms/send: our text, asked about by localid afterwards
    LOOKUP = "lookup"  # verify/lookup: an approved template, no localid (app/campaigns/lookup.py)


DETAIL_LENGTH = 300


def detail(text: object) -> str:
    """A reason's particulars, cut to what the column keeps."""
    return str(text)[:DETAIL_LENGTH]
