"""Unpadded base64url and HMAC-SHA256 signatures keyed by a store's secret: one owner for the
tokens bazgasht hands out (cart restore links, one-click connect) and the codes it shows."""

import base64
import hashlib
import hmac


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def sign(secret: str, label: str, body: str) -> str:
    """HMAC-SHA256 of `label + body` keyed with `secret`, as unpadded base64url. The label keeps
    a signature made for one purpose from passing for another."""
    return b64url(hmac.new(secret.encode(), (label + body).encode(), hashlib.sha256).digest())
