"""What the store's WooCommerce calls a product or a category, for a person who sees them by
id (a campaign's conditions in the panel). Only what the store's product webhooks brought:
an id bazgasht has not seen has no name here."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.commerce.models import Product


def product_names(session: Session, store_id: int, wc_ids: list[int]) -> dict[int, str]:
    """WooCommerce product id → its name, for those of `wc_ids` the store's products know."""
    if not wc_ids:
        return {}
    return {wc_id: name for wc_id, name in session.execute(
        select(Product.wc_id, Product.name).where(Product.store_id == store_id,
                                                  Product.wc_id.in_(wc_ids)))
        if name}


def category_names(session: Session, store_id: int, ids: list[int]) -> dict[int, str]:
    """WooCommerce category id → its name, as the store's products file them (categories have
    no table of their own: each product carries its own [{"id", "name"}])."""
    wanted, found = set(ids), dict[int, str]()
    if not wanted:
        return {}
    # JSON inside a column, read differently by the two databases: matched in Python.
    for (filed,) in session.execute(select(Product.categories)
                                    .where(Product.store_id == store_id)):
        for category in filed or []:
            if (isinstance(category, dict) and category.get("id") in wanted
                    and isinstance(category.get("name"), str) and category["name"]):
                found.setdefault(category["id"], category["name"])
        if len(found) == len(wanted):
            break
    return found
