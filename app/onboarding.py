"""A new store: the tenant with its credentials, and the campaigns it starts with."""

from datetime import datetime

from sqlalchemy.orm import Session

from app.campaigns.presets import create_default_campaigns
from app.dashboard import join, members
from app.dashboard.models import OWNER
from app.stores.models import Store
from app.stores.schemas import StoreCreate
from app.stores.service import create_store, has_stores

# The store `bazgasht serve` opens on an empty database, so that a newcomer has something to
# connect and sign in with. Its name is what its texts say («…در فروشگاه نمونه منتظرته»), hence
# Persian (like the default campaign names, a Persian default that sits in Python).
DEMO_STORE = StoreCreate.model_validate({"name": "فروشگاه نمونه", "url": "https://shop.example"})


# The panel name of an owner given by phone only (owner_phone without owner_name); they can
# be renamed by another owner, or removed and added again, on the people page.
OWNER_NAME = "مالک فروشگاه"


def open_store(session: Session, data: StoreCreate, *,
               now: datetime | None = None) -> tuple[Store, str]:
    """A new store with its default campaigns, and its first panel owner if `data` names one
    (a phone that is not a mobile number is refused before anything is written)."""
    if data.owner_phone is not None:
        members.member_phone(data.owner_phone)
    store, api_key = create_store(session, data)
    create_default_campaigns(session, store.id)
    if data.owner_phone is not None:
        members.add_member(session, store_id=store.id, phone=data.owner_phone,
                           name=data.owner_name or OWNER_NAME, role=OWNER, now=now or store.created_at)
    return store, api_key


def open_demo_store(session: Session, *, now: datetime) -> tuple[Store, str, str] | None:
    """On a database without stores: the demo store, its plain API key and a join link's token
    for its first owner (app/dashboard/join.py); else None."""
    if has_stores(session):
        return None
    store, api_key = open_store(session, DEMO_STORE, now=now)
    return store, api_key, join.new_link(session, store_id=store.id, now=now)
