"""Pay as you go: the operator credits a store; the merchant reads the balance and the ledger."""

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from app.billing import service
from app.deps import AdminDep, NowDep, SessionDep, StoreDep, StoreId
from app.errors import platform_errors
from app.stores.service import get_store

platform_router = APIRouter(prefix="/platform/v1/stores", tags=["platform"],
                            dependencies=[AdminDep], responses=platform_errors(404))
merchant_router = APIRouter(prefix="/api/v1/billing", tags=["billing"])


class TopUp(BaseModel):
    amount: int = Field(gt=0, le=10**13, description="Rial", examples=[5_000_000])
    note: str = Field("", max_length=300, examples=["bank transfer 1405/09/02"])


class Entry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str = Field(description="topup | charge | refund")
    amount: int = Field(description="Rial; charges are negative")
    balance_after: int
    message_id: int | None
    parts: int | None
    note: str
    created_at: datetime


class Ledger(BaseModel):
    balance: int = Field(description="Rial")
    metered: bool = Field(description="true when the store sends through the platform's account")
    price_per_part: int = Field(description="Rial per SMS part")
    low_balance_threshold: int
    low_balance: bool
    entries: list[Entry]
    next_before_id: int | None = Field(description="pass as before_id for the next page")


def _ledger(session, store_id: int, limit: int, before_id: int | None) -> dict:
    store = get_store(session, store_id)
    rows = service.entries(session, store_id, limit=limit, before_id=before_id)
    return dict(balance=store.balance, metered=service.metered(store),
                price_per_part=store.sms_price_per_part,
                low_balance_threshold=store.low_balance_threshold,
                low_balance=service.metered(store) and store.balance < store.low_balance_threshold,
                entries=rows, next_before_id=rows[-1].id if len(rows) == limit else None)


@platform_router.post("/{store_id}/credit", response_model=Ledger, status_code=201,
                      summary="Top up a store's prepaid SMS balance (Rial)")
def credit(store_id: StoreId, data: TopUp, session: SessionDep, now: NowDep) -> dict:
    service.top_up(session, store_id, data.amount, note=data.note, now=now)
    return _ledger(session, store_id, 20, None)


@platform_router.get("/{store_id}/ledger", response_model=Ledger)
def platform_ledger(store_id: StoreId, session: SessionDep, limit: int = Query(50, ge=1, le=500),
                    before_id: int | None = Query(None, ge=1, le=2**63 - 1)) -> dict:
    return _ledger(session, store_id, limit, before_id)


@merchant_router.get("", response_model=Ledger, summary="The store's balance and ledger")
def merchant_ledger(store: StoreDep, session: SessionDep, limit: int = Query(50, ge=1, le=500),
                    before_id: int | None = Query(None, ge=1, le=2**63 - 1)) -> dict:
    return _ledger(session, store.id, limit, before_id)
