"""Outbound HTTP: one TLS context for every client of the process.

Building a context loads the CA bundle, about 20 ms of CPU; a client made per call (a merchant
alert, a store's coupon) would pay that every time. An SSLContext is safe to share between
threads once built.
"""

import functools
import ssl

import certifi


@functools.cache
def tls() -> ssl.SSLContext:
    """What httpx builds for verify=True, made once."""
    return ssl.create_default_context(cafile=certifi.where())
