"""Cart restore: the SMS link carries a signed token; the companion plugin exchanges it here
for the cart's items, rebuilds the cart and copies the cart token into the order it becomes."""

from collections.abc import Callable

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from app.commerce.models import Cart
from app.errors import NotFound
from app.stores.models import Store

RESTORE_PARAM = "bazgasht_restore"
_SALT = "bazgasht.cart-restore"
# The personal or fixed coupon code a message carried (or None): the campaign engine's
# (app.campaigns.coupons.code_for_message), handed over by the edge, because the engine
# imports links and dependencies point one way.
CouponCodeOf = Callable[[Session, int], str | None]


def restore_token(secret: str, *, cart_id: int, message_id: int) -> str:
    """Signed with the store's webhook secret: only bazgasht mints one, and a token of one
    store is worthless at another."""
    return URLSafeSerializer(secret, salt=_SALT).dumps([cart_id, message_id])


def read_restore_token(secret: str, token: str) -> tuple[int, int] | None:
    try:
        cart_id, message_id = URLSafeSerializer(secret, salt=_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(cart_id, int) or not isinstance(message_id, int):
        return None
    return cart_id, message_id


def exchange(session: Session, store: Store, token: str, *,
             coupon_code_of: CouponCodeOf) -> dict:
    found = read_restore_token(store.webhook_secret, token)
    cart = session.get(Cart, found[0]) if found else None
    if found is None or cart is None or cart.store_id != store.id:
        raise NotFound("this restore token is not valid for this store (copy the whole "
                       f"'{RESTORE_PARAM}' parameter)", code="invalid_restore_token")
    return dict(cart_token=cart.token, coupon_code=coupon_code_of(session, found[1]),
                items=[dict(product_id=item["product_id"],
                            variation_id=item.get("variation_id") or 0,
                            quantity=item.get("quantity") or 1)
                       for item in cart.items or [] if item.get("product_id")])
