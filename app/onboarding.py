"""A new store: the tenant with its credentials, and the campaigns it starts with."""

from sqlalchemy.orm import Session

from app.campaigns.defaults import create_default_campaigns
from app.stores.models import Store
from app.stores.schemas import StoreCreate
from app.stores.service import create_store, has_stores

# The store `bazgasht serve` opens on an empty database, so that a newcomer has something to
# connect and sign in with. Its name is what its texts say («…در فروشگاه نمونه منتظرته»), hence
# Persian (like the default campaign names, a Persian default that sits in Python).
DEMO_STORE = StoreCreate.model_validate({"name": "فروشگاه نمونه", "url": "https://shop.example"})


def open_store(session: Session, data: StoreCreate) -> tuple[Store, str]:
    store, api_key = create_store(session, data)
    create_default_campaigns(session, store.id)
    return store, api_key


def open_demo_store(session: Session) -> tuple[Store, str] | None:
    """The demo store with its plain API key, on a database without stores; else None."""
    if has_stores(session):
        return None
    return open_store(session, DEMO_STORE)
