"""Reading a restore token as the plugin does (plugin/bazgasht/includes/RestoreToken.php is the
real reader; tests/plugin/test_golden.py runs it on tokens bazgasht mints)."""

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

from app.links.restore import RESTORE_PARAM


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_of(target: str) -> str:
    return parse_qs(urlsplit(target).query)[RESTORE_PARAM][0]


def read(token: str, secret: str) -> dict | None:
    """The payload when the signature is the store's, else None."""
    body, _, signature = token.partition(".")
    expected = hmac.new(secret.encode(), b"bazgasht-restore." + body.encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.digest(), _unb64(signature)):
        return None
    return json.loads(_unb64(body))
