"""Reachability of a store's SMS gateway, for the operator: does it answer, and how."""

import time

from app.messaging.gateway import ConsoleGateway, GatewayError
from app.messaging.providers import PROVIDERS
from app.ops.logs import redact_kavenegar_key


def gateway_check(gateways, store) -> dict:
    """Ask the store's gateway for its credit: whether it answers, and how (its second
    provider's too, under `fallback`, when it named one). Never a key."""
    provider = store.sms_provider
    gateway = gateways.for_store(store)
    answer = {"store_id": store.id, "provider": provider,
              "gateway": "console" if isinstance(gateway, ConsoleGateway)
              else "kavenegar" if provider == "platform" else provider}
    answer |= _ask(gateway, store.sms_api_key if provider in PROVIDERS else None)
    if second := gateways.fallback_for(store):
        answer["fallback"] = {"provider": second[0]} | _ask(second[1],
                                                            store.sms_fallback_api_key)
    return answer


def _ask(gateway, secret: str | None) -> dict:
    started = time.perf_counter()
    try:
        credit = gateway.credit()
    except GatewayError as exc:
        return {"ok": False, "latency_ms": _ms(started),
                "error": {"kind": str(exc.kind), "code": exc.code,
                          "meaning": _MEANING[str(exc.kind)],
                          "message": redact_kavenegar_key(str(exc), secret)}}
    return {"ok": True, "latency_ms": _ms(started), "credit": credit}


_MEANING = {
    "retry": "unreachable or failing for now (network, timeout, 5xx): sends are retried",
    "store": "the account refuses (key, credit, line, IP): the store's sending is paused until "
             "it answers again",
    "recipient": "refused for a recipient",
    "invalid": "an unexpected answer: a bug on our side or a change at the gateway",
}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
