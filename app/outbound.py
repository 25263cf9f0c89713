"""Outbound HTTP to a URL a tenant chose (the store URL, the alert webhook URL): the one guarded
client, and the check such a URL passes when it is saved.

A merchant's URL must not reach what sits behind bazgasht (loopback, the private network, the
cloud's metadata service at 169.254.169.254), nor hold bazgasht up. So every call:
- resolves the host once, refuses it unless EVERY address is public (`is_public`), and connects
  to the address it checked (the Host header, TLS SNI and certificate check stay on the name):
  no window for DNS rebinding; a refused host fails before any connection is tried, the same way
  whatever listens there (no port scanning);
- follows no redirect (a redirect is an answer like any other: its status is all we keep);
- ends within one deadline (connect, send and the whole answer): no wait is longer than the
  deadline, and the answer's reading stops at the first chunk past it;
- reads at most `max_body` bytes of answer.
What comes back is the caller's to read, never to repeat: errors carry our own fixed words.

Calls are made with no database transaction open (the callers see to it): a slow store must not
hold a row lock.

Local development and tests talk to fakes on loopback: `outbound_allow_private` (app/config.py)
lifts the address rules, only in embedded mode (no REDIS_URL); Settings refuses it otherwise.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx

from app.http import tls

# -- the policy --------------------------------------------------------------------------------

_allow_private: bool | None = None  # None: the settings decide


def allow_private() -> bool:
    """Whether tenant URLs may point at loopback and private addresses (development, tests)."""
    if _allow_private is not None:
        return _allow_private
    from app.config import get_settings  # settings read once per process, at the first call

    return get_settings().outbound_allow_private


def set_allow_private(value: bool | None) -> None:
    """Override the setting for this process (tests: tests/conftest.py, tests/security);
    None returns to the setting."""
    global _allow_private
    _allow_private = value


# -- addresses ---------------------------------------------------------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(address: IPAddress) -> bool:
    """A globally routable unicast address. An IPv6 address that carries an IPv4 one (mapped,
    6to4, NAT64) is judged by the IPv4 one as well."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(address.packed[-4:])
        if inner is not None and not is_public(inner):
            return False
    return address.is_global and not (address.is_multicast or address.is_reserved
                                      or address.is_link_local or address.is_loopback
                                      or address.is_unspecified or address.is_private)


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Names that never mean a public host: resolved (or not) inside the network bazgasht runs in.
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".lan", ".home.arpa",
                   ".intranet", ".corp")


def literal_address(host: str) -> IPAddress | None:
    """The address a host names by itself, in any form a resolver accepts: dotted, decimal
    (2130706433), hex (0x7f000001), octal or short (127.1) IPv4, and IPv6."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def _local_name(host: str) -> bool:
    name = host.lower().rstrip(".")
    return "." not in name or name.endswith(_LOCAL_SUFFIXES)


def resolve(host: str, port: int) -> str:
    """The address to connect to: the host's first, once every one of them is allowed."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise OutboundError(Failure.UNREACHABLE, sent=False) from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    if not addresses:
        raise OutboundError(Failure.UNREACHABLE, sent=False)
    if not allow_private() and not all(is_public(a) for a in addresses):
        raise OutboundError(Failure.REFUSED, sent=False)
    return str(addresses[0])


# -- checking a URL when it is saved -----------------------------------------------------------

class UrlRefused(ValueError):
    """A URL we will not save: a stable `code` (the 422's) and what to do, in `message`."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def check_url(url: str, *, what: str, https_only: bool = False,
              bare: bool = False) -> SplitResult:
    """The parts of a URL bazgasht may call, else UrlRefused. `what` names it in the message;
    `https_only`: plain http refused (unless private addresses are allowed: local fakes);
    `bare`: no query and no fragment (a base URL bazgasht appends paths to)."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  a bad port raises here
    except ValueError:
        raise UrlRefused("url_invalid", f"{what} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("url_invalid", f"{what} must be an http(s) URL with a host name, e.g. "
                                        "https://shop.example")
    if "@" in parts.netloc:
        raise UrlRefused("url_has_credentials", f"{what} must not hold a user name or password "
                                                "(user@host)")
    if bare and ("?" in text or "#" in text):
        raise UrlRefused("url_has_query", f"{what} must not have a query (?…) or fragment "
                                          "(#…): give the site's address, e.g. "
                                          "https://shop.example or https://example.com/shop")
    private_ok = allow_private()
    if https_only and parts.scheme != "https" and not private_ok:
        raise UrlRefused("url_not_https", f"{what} must use https (the alerts it receives are "
                                          "the store's business)")
    address = literal_address(parts.hostname)
    if not private_ok and (_local_name(parts.hostname) if address is None
                           else not is_public(address)):
        raise UrlRefused("url_not_public", f"{what} must point at a public internet host, not "
                                           "an IP or name of a private or local network")
    return parts


# -- calling -----------------------------------------------------------------------------------

class Failure(StrEnum):
    REFUSED = "address_not_public"  # refused before any connection: a non-public address
    UNREACHABLE = "unreachable"     # no answer: the name does not resolve, nothing listens, …
    DEADLINE = "deadline"           # the call was not over within its deadline
    TOO_LARGE = "too_large"         # the answer was over the size cap


_TEXT = {Failure.REFUSED: "the URL's host has a non-public address (refused, nothing sent)",
         Failure.UNREACHABLE: "no answer (the host could not be reached)",
         Failure.DEADLINE: "no complete answer within the deadline",
         Failure.TOO_LARGE: "the answer is too large"}


class OutboundError(Exception):
    """A call that got no usable answer. `sent`: the request may have reached the other side.
    Its text is ours alone: nothing of a foreign answer or of the URL."""

    def __init__(self, failure: Failure, *, sent: bool, status: int | None = None):
        self.failure, self.sent, self.status = failure, sent, status
        super().__init__(_TEXT[failure])

    def __reduce__(self):
        return (_rebuild, (self.failure, self.sent, self.status))


def _rebuild(failure: Failure, sent: bool, status: int | None) -> OutboundError:
    return OutboundError(failure, sent=sent, status=status)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    content: bytes

    def json(self) -> Any:
        return httpx.Response(self.status, headers=self.headers, content=self.content).json()


class _PinnedTransport(httpx.BaseTransport):
    """Connects to the address `resolve` checked, keeping the name for Host, SNI and the
    certificate. One pool per host name: a TLS connection made for one name is never reused for
    another that shares its address."""

    def __init__(self, verify: ssl.SSLContext, retries: int):
        self._verify, self._retries = verify, retries
        self._pools: dict[str, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        host = url.raw_host.decode("ascii")  # IDNA-encoded, as DNS and SNI want it
        address = resolve(host, url.port or (443 if url.scheme == "https" else 80))
        extensions = dict(request.extensions)
        if url.scheme == "https":
            extensions["sni_hostname"] = host
        pinned = httpx.Request(request.method, url.copy_with(host=address),
                               headers=request.headers, stream=request.stream,
                               extensions=extensions)
        with self._lock:
            pool = self._pools.get(host)
            if pool is None:
                pool = self._pools[host] = httpx.HTTPTransport(verify=self._verify,
                                                               retries=self._retries)
        return pool.handle_request(pinned)

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()


# Raised before any byte of the request left.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Client:
    """An httpx client for tenant URLs: see the module's docstring. `deadline` (seconds) bounds
    each call; `connect_timeout` (at most the deadline) the connecting; `retries`: immediate
    retries of a failed connection (nothing was sent)."""

    def __init__(self, *, deadline: float, max_body: int, connect_timeout: float | None = None,
                 headers: dict[str, str] | None = None, auth: httpx.Auth | None = None,
                 verify: ssl.SSLContext | None = None, retries: int = 0):
        self.deadline, self.max_body = deadline, max_body
        self._connect = min(connect_timeout or deadline, deadline)
        self._http = httpx.Client(transport=_PinnedTransport(verify or tls(), retries),
                                  follow_redirects=False, trust_env=False, auth=auth,
                                  headers=headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(self, method: str, url: str, **kwargs: Any) -> Answer:
        """One call, its answer read whole; OutboundError when there is no usable one."""
        ends = time.monotonic() + self.deadline
        timeout = httpx.Timeout(self.deadline, connect=self._connect)
        try:
            with self._http.stream(method, url, timeout=timeout, **kwargs) as streamed:
                data = bytearray()
                for chunk in streamed.iter_bytes():
                    data += chunk
                    if len(data) > self.max_body:
                        raise OutboundError(Failure.TOO_LARGE, sent=True,
                                            status=streamed.status_code)
                    if time.monotonic() > ends:
                        raise OutboundError(Failure.DEADLINE, sent=True)
                if time.monotonic() > ends:
                    raise OutboundError(Failure.DEADLINE, sent=True)
                # Decoded already: the headers that described the encoding no longer apply.
                headers = httpx.Headers([
                    (k, v) for k, v in streamed.headers.multi_items()
                    if k.lower() not in ("content-encoding", "content-length")])
                return Answer(streamed.status_code, headers, bytes(data))
        except httpx.InvalidURL:
            raise OutboundError(Failure.UNREACHABLE, sent=False) from None
        except httpx.TimeoutException as exc:
            # `from None`: the httpx exception holds the request, and the request its headers.
            raise OutboundError(Failure.DEADLINE,
                                sent=not isinstance(exc, _NOT_SENT)) from None
        except httpx.HTTPError as exc:
            raise OutboundError(Failure.UNREACHABLE,
                                sent=not isinstance(exc, _NOT_SENT)) from None
