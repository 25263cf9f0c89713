"""Cross-sell picks: cross-sells, then upsells, then what the store's customers bought together."""

from sqlalchemy import update

from app.campaigns import recommend as picks
from app.commerce.models import Order
from app.db import unit_of_work
from tests.campaigns.shop import tehran
from tests.factories import set_product


def pick(factory, wc_id: int):
    picks._history.clear()  # the store's history is cached per process for a few minutes
    with factory() as session:
        order = session.query(Order).filter_by(wc_id=wc_id).one()
        product = picks.recommend(session, order)
        return product.wc_id if product else None


def test_cross_sells_come_first_then_upsells(shop, factory):
    shop.product(11, cross_sells=[12])
    shop.product(12)
    shop.product(13)
    shop.order(800, tehran("2026-11-20T10:00"))
    assert pick(factory, 800) == 12
    set_product(factory, shop.store.id, 11, cross_sell_ids=[], upsell_ids=[13])
    assert pick(factory, 800) == 13


def test_out_of_stock_and_already_bought_products_are_never_picked(shop, factory):
    shop.product(11, cross_sells=[12, 13, 14])
    shop.product(12, stock="outofstock")
    shop.product(13)
    shop.product(14)
    shop.order(801, tehran("2026-11-01T10:00"), items=((13, 1),))  # bought 13 before
    shop.order(802, tehran("2026-11-20T10:00"))
    assert pick(factory, 802) == 14


def test_bought_together_from_the_store_history_when_the_merchant_set_nothing(shop, factory):
    for product in (11, 20, 21, 22):
        shop.product(product)
    # Other customers: 11 went with 21 twice, with 20 once; 22 never with 11.
    phones = iter(["09121000001", "09121000002", "09121000003", "09121000004"])
    for wc_id, items in ((810, ((11, 1), (21, 1))), (811, ((11, 1), (21, 2), (20, 1))),
                         (812, ((11, 1), (20, 1))), (813, ((21, 1), (22, 1)))):
        shop.order(wc_id, tehran("2026-11-10T10:00"), phone=next(phones), items=items)
    with unit_of_work(factory) as session:  # ties broken by frequency: make 21 the clear pick
        session.execute(update(Order).where(Order.wc_id == 812).values(purchased=False))
    shop.order(820, tehran("2026-11-20T10:00"), phone="09129999999")
    assert pick(factory, 820) == 21


def test_nothing_to_pick_is_none(shop, factory):
    shop.product(11)
    shop.order(830, tehran("2026-11-20T10:00"))
    assert pick(factory, 830) is None
