"""Kavenegar's real-time receive URL (URL دریافت لحظه‌ای): Kavenegar calls it once for each
reply to the store's line as it arrives, so a «۱۱» takes effect before the next send instead
of at the next read of sms/receive (which stays, as the fallback for whatever a push misses).

What Kavenegar sends is not documented. Its own PHP example (kavenegar/kavenegar-examples-php,
src/ReceiveCallBack.php) reads `messageid`, `from`, `to` and `message` from `$_REQUEST`, that is
from a GET query string or a POST form alike; that is what we accept, names in any case.

Kavenegar cannot sign its calls, so the URL itself carries the secret: an HMAC of the store's
id under the installation's key (app/server_key.py). Nothing is stored, the same store always
gets the same URL, and rotating the key changes every store's URL at once.
"""

import hmac
from collections.abc import Iterable
from datetime import datetime

from app.digits import latin_digits
from app.errors import DomainError
from app.messaging.gateway import Inbound
from app.signing import sign
from app.types import MAX_ID

PROVIDER = "kavenegar"
_LABEL = "kavenegar-receive-url:"
PATH = "/hooks/kavenegar"

# One SMS of many parts, percent-encoded (a Persian letter is 6 bytes so), fits easily.
MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 50
MAX_TEXT = 4000
MAX_NUMBER = 32  # inbound_sms.sender and .line


class InvalidPush(DomainError, status=422, code="invalid_reply"):
    pass


class PushTooLarge(DomainError, status=413, code="payload_too_large"):
    pass


def receive_token(key: bytes, store_id: int) -> str:
    """The store's secret path segment; the label keeps it from passing for any other token."""
    return sign(key.decode(), _LABEL, str(store_id))


def token_matches(key: bytes, store_id: int, token: str) -> bool:
    return hmac.compare_digest(receive_token(key, store_id).encode(), token.encode())


def receive_url(public_url: str, key: bytes, store_id: int) -> str:
    return f"{public_url.rstrip('/')}{PATH}/{store_id}/{receive_token(key, store_id)}"


def receive_url_for(store, public_url: str, key: bytes) -> str | None:
    """The URL to paste into Kavenegar's panel; None while the store sends through another
    provider (the platform's line is the operator's, not the merchant's, to set)."""
    return receive_url(public_url, key, store.id) if store.sms_provider == PROVIDER else None


def fields_of(*sources: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Field names in lower case, the first value of each (the sources in order of trust)."""
    fields: dict[str, str] = {}
    for pairs in sources:
        for name, value in pairs:
            fields.setdefault(name.lower(), value)
    return fields


def is_ping(fields: dict[str, str]) -> bool:
    """A call with none of the fields: the URL being tried (by the panel, or by the merchant in
    a browser), answered with 200 so a working URL looks like one."""
    return not {"messageid", "from", "to", "message"} & fields.keys()


def parse(fields: dict[str, str], *, now: datetime) -> Inbound:
    """The reply in these fields, or InvalidPush naming what is wrong. The gateway id is the
    messageid as sms/receive reports it (a plain integer), so a reply both pushed and polled
    is one row."""
    return Inbound(gateway_id=_messageid(fields.get("messageid")),
                   sender=_number(fields.get("from"), "from", required=True),
                   line=_number(fields.get("to"), "to", required=False),
                   text=_text(fields.get("message")), received_at=now)


def _messageid(raw: str | None) -> str:
    if raw is None or not raw.strip():
        raise InvalidPush("messageid is missing: Kavenegar's id of the reply is required")
    digits = latin_digits(raw.strip())
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 19
            and 0 < int(digits) <= MAX_ID):
        raise InvalidPush("messageid must be a positive integer (Kavenegar's id of the reply)")
    return str(int(digits))


def _number(raw: str | None, name: str, *, required: bool) -> str:
    value = (raw or "").strip()
    if required and not value:
        raise InvalidPush(f"{name} is missing: the number the reply came from is required")
    if len(value) > MAX_NUMBER:
        raise InvalidPush(f"{name} is longer than {MAX_NUMBER} characters")
    return value


def _text(raw: str | None) -> str:
    if raw is None:
        raise InvalidPush("message is missing: the text of the reply is required")
    if len(raw) > MAX_TEXT:
        raise InvalidPush(f"message is longer than {MAX_TEXT} characters")
    return raw
