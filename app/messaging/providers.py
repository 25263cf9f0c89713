"""The SMS providers a store may send through with its own account: each one's name (as
stores.sms_provider holds it), its Persian name for the panel, its API's address, and how its
gateway is made. Adding a provider is one entry here (its client, fake and adapter live in
their own modules) and its base URL setting in app/config.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.messaging.gateway import Gateway, KavenegarGateway
from app.messaging.ghasedak import DEFAULT_BASE_URL as GHASEDAK_URL
from app.messaging.ghasedak import GhasedakClient
from app.messaging.ghasedak_gateway import GhasedakGateway
from app.messaging.ippanel import DEFAULT_BASE_URL as IPPANEL_URL
from app.messaging.ippanel import IpPanelClient
from app.messaging.ippanel_gateway import IpPanelGateway
from app.messaging.kavenegar import DEFAULT_BASE_URL as KAVENEGAR_URL
from app.messaging.kavenegar import KavenegarClient
from app.messaging.melipayamak import DEFAULT_BASE_URL as MELIPAYAMAK_URL
from app.messaging.melipayamak import MeliPayamakClient
from app.messaging.melipayamak_gateway import MeliPayamakGateway
from app.messaging.smsir import DEFAULT_BASE_URL as SMSIR_URL
from app.messaging.smsir import SmsIrClient
from app.messaging.smsir_gateway import SmsIrGateway
from app.stores.schemas import SmsChoice

CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Provider:
    name: str
    label: str  # what the panel shows
    base_url: str  # the real API; settings `<name>_base_url` points elsewhere (a fake)
    make: Callable[[str, str | None, str, float], Gateway]  # (key, sender, base URL, timeout)


def _kavenegar(api_key: str, sender: str | None, base_url: str, read_timeout: float) -> Gateway:
    return KavenegarGateway(KavenegarClient(api_key, base_url=base_url,
                                            connect_timeout=CONNECT_TIMEOUT,
                                            read_timeout=read_timeout), sender=sender)


def _smsir(api_key: str, sender: str | None, base_url: str, read_timeout: float) -> Gateway:
    return SmsIrGateway(SmsIrClient(api_key, base_url=base_url, connect_timeout=CONNECT_TIMEOUT,
                                    read_timeout=read_timeout), sender=sender)


def _ippanel(api_key: str, sender: str | None, base_url: str, read_timeout: float) -> Gateway:
    return IpPanelGateway(IpPanelClient(api_key, base_url=base_url,
                                        connect_timeout=CONNECT_TIMEOUT,
                                        read_timeout=read_timeout), sender=sender)


def _ghasedak(api_key: str, sender: str | None, base_url: str, read_timeout: float) -> Gateway:
    return GhasedakGateway(GhasedakClient(api_key, base_url=base_url,
                                          connect_timeout=CONNECT_TIMEOUT,
                                          read_timeout=read_timeout), sender=sender)


def _melipayamak(api_key: str, sender: str | None, base_url: str,
                 read_timeout: float) -> Gateway:
    return MeliPayamakGateway(MeliPayamakClient(api_key, base_url=base_url,
                                                connect_timeout=CONNECT_TIMEOUT,
                                                read_timeout=read_timeout), sender=sender)


PROVIDERS: dict[str, Provider] = {p.name: p for p in (
    Provider("kavenegar", "کاوه‌نگار", KAVENEGAR_URL, _kavenegar),
    Provider("smsir", "اس‌ام‌اس‌دات‌آی‌آر (SMS.ir)", SMSIR_URL, _smsir),
    Provider("ippanel", "آی‌پی‌پنل (IPPanel، فراز اس‌ام‌اس)", IPPANEL_URL, _ippanel),
    Provider("ghasedak", "قاصدک", GHASEDAK_URL, _ghasedak),
    Provider("melipayamak", "ملی پیامک", MELIPAYAMAK_URL, _melipayamak),
)}
# What a merchant may choose (the API's and the panel's choices; a test holds it to PROVIDERS).
Choice = SmsChoice
