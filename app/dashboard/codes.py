"""One-time sign-in codes: six digits by SMS through the platform's own gateway.

A code is kept as an HMAC with the installation's key (app/server_key.py), lives five minutes,
opens one session and dies after five wrong tries. Only a phone's latest code counts: asking
again replaces it. A new code waits a minute after the previous one unless that one was used
(no SMS bombing a phone; a member signing in again at once is not held up).

With the console gateway (the embedded default: nothing leaves the machine) the code is also
written to the log, once, in Latin digits, so that a newcomer can sign in; with a real gateway
it is never logged.
"""

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.dashboard.models import PanelLoginCode
from app.db import rowcount
from app.digits import latin_digits
from app.messaging.gateway import ConsoleGateway, Gateway, GatewayError

log = logging.getLogger(__name__)

LIFETIME = timedelta(minutes=5)
RESEND_AFTER = timedelta(seconds=60)
MAX_TRIES = 5
KEPT = timedelta(days=1)  # rows past their expiry by this much are deleted
# Campaign messages use their id as the gateway's localid, alerts 10**12 + id, test sends
# 2 * 10**12 + id (app/admin/preview.py): a sign-in code must never share one, or the gateway
# would take it for a repeat of that message and send nothing.
LOGIN_CODE_LOCALID_BASE = 3 * 10**12
_SPACES = dict.fromkeys(map(ord, " \u200c\u200e\u200f-"))


def _digest(key: bytes, phone: str, code: str) -> str:
    return hmac.new(key, f"panel-code:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Issued:
    id: int
    phone: str
    code: str

    @property
    def localid(self) -> int:
        return LOGIN_CODE_LOCALID_BASE + self.id


def _latest(session: Session, phone: str) -> PanelLoginCode | None:
    return session.scalar(select(PanelLoginCode).where(PanelLoginCode.phone == phone)
                          .order_by(PanelLoginCode.id.desc()).limit(1))


def resend_wait(session: Session, phone: str, *, now: datetime) -> int | None:
    """Seconds until the phone may have a new code (None: now)."""
    latest = _latest(session, phone)
    if latest is None or latest.used_at is not None:
        return None
    left = (latest.created_at + RESEND_AFTER - now).total_seconds()
    return int(left) + 1 if left > 0 else None


def issue(session: Session, key: bytes, *, phone: str, now: datetime,
          join_id: str | None = None, name: str | None = None) -> Issued:
    session.execute(delete(PanelLoginCode).where(PanelLoginCode.expires_at < now - KEPT))
    code = f"{secrets.randbelow(10**6):06d}"
    row = PanelLoginCode(phone=phone, code_hash=_digest(key, phone, code), created_at=now,
                         expires_at=now + LIFETIME, attempts=0, join_id=join_id, name=name)
    session.add(row)
    session.flush()
    return Issued(id=row.id, phone=phone, code=code)


def send(gateway: Gateway, issued: Issued, text: str) -> bool:
    """Send the code's SMS (call with no transaction open); False if the gateway failed."""
    try:
        gateway.send(localid=issued.localid, receptor=issued.phone, text=text)
    except GatewayError as exc:
        log.warning("sign-in code %s not sent: %s", issued.id, exc)
        return False
    if isinstance(gateway, ConsoleGateway):
        log.info("panel sign-in code for …%s: %s (console gateway: no SMS left this machine)",
                 issued.phone[-4:], issued.code)
    return True


class CodeRefused(Exception):
    """`reason`: "wrong" (tries left in `left`), "dead" (no tries left) or "expired" (used,
    replaced, past five minutes, or never asked for)."""

    def __init__(self, reason: str, left: int = 0):
        super().__init__(reason)
        self.reason, self.left = reason, left


def typed_code(text: str) -> str:
    """A code as typed: Persian, Arabic-Indic or Latin digits, spaces and dashes dropped."""
    return latin_digits(text).translate(_SPACES).strip()


def verify(session: Session, key: bytes, *, phone: str, typed: str,
           now: datetime) -> PanelLoginCode:
    """Use the phone's latest code if `typed` is it; else CodeRefused (a wrong try counts)."""
    row = _latest(session, phone)
    if row is None or row.used_at is not None or now >= row.expires_at:
        raise CodeRefused("expired")
    if row.attempts >= MAX_TRIES:
        raise CodeRefused("dead")
    code = typed_code(typed)
    live = (PanelLoginCode.id == row.id, PanelLoginCode.used_at.is_(None),
            PanelLoginCode.attempts < MAX_TRIES)
    if not re.fullmatch(r"[0-9]{6}", code) or not hmac.compare_digest(
            _digest(key, phone, code), row.code_hash):
        counted = rowcount(session.execute(update(PanelLoginCode).where(*live).values(
            attempts=PanelLoginCode.attempts + 1)))
        session.refresh(row)
        left = MAX_TRIES - row.attempts
        raise CodeRefused("wrong" if counted and left > 0 else "dead", left)
    used = rowcount(session.execute(update(PanelLoginCode).where(
        *live, PanelLoginCode.expires_at > now).values(used_at=now)))
    if not used:  # another request used it a moment ago
        raise CodeRefused("expired")
    session.refresh(row)
    return row
