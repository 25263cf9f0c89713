"""What the SMS a report covers cost the merchant: the one place reports compute it.

A message charged on the prepaid ledger (pay as you go, app/billing) costs what the ledger says:
its charge less its refund. Otherwise the cost is what the gateway reported when it accepted the
message (`messages.cost`, Rial); when that is missing too (the console gateway, a send confirmed
after a lost answer) it is estimated as parts × the store's price per part, and the report says
so. Kavenegar refunds messages that end with status 13 or 14, so those cost nothing.
"""

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from app.billing.models import CHARGE, REFUND, LedgerEntry
from app.campaigns.models import DELIVERED, FAILED, SENT, Message

# Statuses after which Kavenegar gives the credit back (see issue 6, "Pay as you go").
REFUNDED_STATUSES = (13, 14)
WENT_OUT = (SENT, DELIVERED, FAILED)


class PricedStore(Protocol):
    """A store as costs need it (a Store row, or an export's snapshot of one)."""

    id: int
    sms_price_per_part: int


@dataclass
class Cost:
    rial: int = 0
    estimated: int = 0   # messages whose cost is parts × price per part
    reported: int = 0    # messages whose cost the gateway reported (refunds included)
    ledger: int = 0      # messages charged on the prepaid ledger
    estimated_parts: int = 0  # the parts priced at the store's price in `rial` (the rollup)

    def add(self, other: "Cost") -> None:
        self.rial += other.rial
        self.estimated += other.estimated
        self.reported += other.reported
        self.ledger += other.ledger
        self.estimated_parts += other.estimated_parts


def cost_source(cost: Cost) -> str:
    """How a report's cost figures were obtained."""
    if cost.ledger and not (cost.estimated or cost.reported):
        return "ledger"
    if cost.estimated and cost.reported:
        return "gateway_and_estimate"
    return "estimate" if cost.estimated else "gateway"


def sms_costs(session: Session, *, store: PricedStore, where, by) -> dict[tuple, Cost]:
    """The cost of the store's messages that went out and match `where`, grouped by `by`.

    `where`: conditions on Message (say, sent_at in a period, or id in a page of an export);
    `by`: the grouping expressions (Message columns, a local day). Keys are tuples in `by`'s
    order.
    """
    # Each outer join finds at most one row through the unique (kind, message_id) index.
    charge, refund = aliased(LedgerEntry), aliased(LedgerEntry)
    charged = charge.id.is_not(None)
    # Spelled out for a message without a delivery report: NOT (NULL IN (…)) is NULL, not true,
    # and such a message (the console gateway's) would be priced but not counted as estimated.
    refunded = Message.delivery_status.is_not(None) & Message.delivery_status.in_(
        REFUNDED_STATUSES)
    estimated = ~charged & Message.cost.is_(None) & ~refunded
    # Ledger: charge less refund. Refunded: 0. Reported: as the gateway charged it. Otherwise:
    # parts (1 if unknown) × price.
    estimated_parts = func.coalesce(Message.parts, 1)
    per_message = case((charged, -charge.amount - func.coalesce(refund.amount, 0)),
                       (refunded, 0), (Message.cost.is_not(None), Message.cost),
                       else_=estimated_parts * store.sms_price_per_part)
    rows = session.execute(
        select(*by, func.sum(per_message), func.sum(case((estimated, estimated_parts), else_=0)),
               func.sum(case((estimated, 1), else_=0)),
               func.sum(case((charged, 1), else_=0)), func.count())
        .select_from(Message)
        .outerjoin(charge, (charge.kind == CHARGE) & (charge.message_id == Message.id))
        .outerjoin(refund, (refund.kind == REFUND) & (refund.message_id == Message.id))
        .where(Message.store_id == store.id, Message.status.in_(WENT_OUT),
               Message.sent_at.is_not(None), *where)
        .group_by(*by))
    costs = {}
    for row in rows:
        rial, parts, estimated_n, ledger_n, total = (int(v or 0) for v in row[-5:])
        costs[tuple(row[:-5])] = Cost(rial, estimated_n, total - estimated_n - ledger_n, ledger_n,
                                      parts)
    return costs
