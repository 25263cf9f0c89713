"""Cart restore tokens: the SMS link carries everything the companion plugin needs to rebuild
the cart, signed so the plugin can trust it without asking bazgasht (the shopper's page never
waits on us). The format is shared with the plugin's RestoreToken.php (docs/plugin.md):

    base64url(JSON payload) "." base64url(HMAC-SHA256(webhook secret, "bazgasht-restore." + payload))

both without padding; the payload `{"v": 1, "cart", "items": [[product, variation, qty]…],
"coupon", "exp"}`. A token of one store is worthless at another (each has its own secret).
"""

import json
from datetime import datetime, timedelta

from app.signing import b64url, sign

RESTORE_PARAM = "bazgasht_restore"
VERSION = 1
_LABEL = "bazgasht-restore."
# Long after the campaign's last reminder (3 days), short of the short link's 90 days: a cart
# from more than a month ago is better started afresh.
LIFETIME = timedelta(days=30)


def _quantity(value: object) -> int | float:
    number = float(value or 1)  # type: ignore[arg-type]
    return int(number) if number.is_integer() else number


def restore_token(secret: str, *, cart_token: str, items: list[dict], coupon: str | None,
                  now: datetime) -> str:
    payload = {"v": VERSION, "cart": cart_token,
               "items": [[int(item["product_id"]), int(item.get("variation_id") or 0),
                          _quantity(item.get("quantity"))]
                         for item in items if item.get("product_id")],
               "coupon": coupon or None,
               "exp": int((now + LIFETIME).timestamp())}
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{sign(secret, _LABEL, body)}"
