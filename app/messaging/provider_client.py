"""What every SMS provider's client shares: the key, never shown; one httpx client whose sends
are bounded by `read_timeout` and whose questions that change nothing (statuses, the credit,
an outbox or an inbox) by `query_timeout` — at most the read timeout, 5 s by default: small,
quick answers whose callers ask again rather than wait. (The providers' own SDKs wait long or
forever: a call could hang a worker.)"""

from __future__ import annotations

from typing import Any, Self

import httpx

from app.http import tls


class ProviderClient:
    BASE_URL = ""  # the provider's API, unless a base_url is given (a fake, in tests)
    QUERY_TIMEOUT = 5.0

    def __init__(self, api_key: str, *, base_url: str | None = None,
                 connect_timeout: float = 5.0, read_timeout: float = 30.0,
                 query_timeout: float | None = None):
        base_url = self.BASE_URL if base_url is None else base_url
        if not api_key:
            raise ValueError("api_key is required")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout,
                                write=read_timeout, pool=connect_timeout)
        query = min(read_timeout, self.QUERY_TIMEOUT if query_timeout is None else query_timeout)
        self._query_timeout = httpx.Timeout(connect=connect_timeout, read=query,
                                            write=query, pool=connect_timeout)
        self._http = httpx.Client(timeout=timeout, verify=tls(), headers={
            "Accept": "application/json", **self._headers(api_key)})

    def _headers(self, api_key: str) -> dict[str, str]:
        """What every call carries beside Accept (where the provider wants its key, say)."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base_url!r}, api_key='***')"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# Reading a provider's answer, whose fields may be missing, null or of another type.

def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def as_str(value: Any) -> str | None:
    return None if value is None else str(value)
