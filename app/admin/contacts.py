"""Contacts for the merchant: find by phone, see what bazgasht did with one, consent by hand, and
blacklist imports."""

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Attribution, Campaign, CampaignStep, Message
from app.commerce.models import Order
from app.contacts.models import Contact
from app.contacts.phones import InvalidPhone, Phone, normalize_phone
from app.contacts.service import opt_out_phones, set_consent
from app.errors import DomainError, NotFound
from app.links.models import Link
from app.messaging.models import InboundSms
from app.pagination import page
from app.stores.models import Store

HISTORY = 100
MERCHANT = "merchant"
BLACKLIST = "blacklist import"
MAX_BLACKLIST_BYTES = 2 * 1024 * 1024
MAX_BLACKLIST_ROWS = 100_000
MAX_REPORTED_INVALID = 1000
# Header cells that name the phone column (lower-cased, spaces removed).
_PHONE_HEADERS = ("phone", "mobile", "cell", "tel", "number", "msisdn", "شماره", "موبایل", "تلفن",
                  "همراه")


class InvalidPhoneInput(DomainError, status=422, code="invalid_phone"):
    pass


class InvalidCsv(DomainError, status=400, code="invalid_csv"):
    pass


def _phone(raw: str, field_name: str = "phone") -> Phone:
    try:
        return normalize_phone(raw)
    except InvalidPhone as exc:
        raise InvalidPhoneInput(f"{field_name}: {exc.reason} (a mobile number: 0912…, 912…, "
                                "+98912…, in any digits)") from None


def search(session: Session, *, store: Store, phone: str | None, opted_out: bool | None,
           limit: int, cursor: str | None) -> tuple[list[Contact], str | None]:
    query = select(Contact).where(Contact.store_id == store.id)
    if phone is not None:
        query = query.where(Contact.phone == _phone(phone).e164)
    if opted_out is not None:
        query = query.where(Contact.opted_out_at.is_not(None) if opted_out
                            else Contact.opted_out_at.is_(None))
    rows, next_cursor = page(session, query, Contact.id, limit=limit, cursor=cursor)
    return [row[0] for row in rows], next_cursor


def get_contact(session: Session, *, store: Store, contact_id: int) -> Contact:
    contact = session.scalar(select(Contact).where(Contact.id == contact_id,
                                                   Contact.store_id == store.id))
    if contact is None:
        raise NotFound(f"no contact with id {contact_id}", code="contact_not_found")
    return contact


@dataclass
class History:
    messages: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    consent_events: list[dict] = field(default_factory=list)


def _sender_forms(e164: str) -> list[str]:
    """How a gateway may write this phone as a reply's sender (Kavenegar: 0912…)."""
    forms = [e164, e164.lstrip("+"), "00" + e164.lstrip("+")]
    if e164.startswith("+98"):
        forms += ["0" + e164[3:], e164[3:]]
    return forms


def history(session: Session, *, contact: Contact) -> History:
    """What bazgasht did with the contact (newest first, HISTORY of each)."""
    found = History()
    rows = session.execute(
        select(Message, Campaign.kind, Campaign.name, CampaignStep.position, Link.human_clicks,
               Link.first_clicked_at)
        .join(Campaign, Campaign.id == Message.campaign_id)
        .join(CampaignStep, CampaignStep.id == Message.step_id)
        .outerjoin(Link, Link.message_id == Message.id)
        .where(Message.contact_id == contact.id, Message.store_id == contact.store_id)
        .order_by(Message.id.desc()).limit(HISTORY))
    for message, kind, name, position, clicks, first_clicked in rows:
        found.messages.append(dict(
            id=message.id, campaign_id=message.campaign_id, campaign_kind=kind,
            campaign_name=name, step_id=message.step_id, step_position=position,
            variant=message.variant, status=message.status, reason=message.reason,
            reason_detail=message.reason_detail,
            text=message.text, due_at=message.due_at, sent_at=message.sent_at,
            delivered_at=message.delivered_at, human_clicks=clicks or 0,
            first_clicked_at=first_clicked))
    rows = session.execute(
        select(Order, Attribution.message_id, Attribution.basis)
        .outerjoin(Attribution, (Attribution.order_id == Order.id)
                   & Attribution.removed_at.is_(None))
        .where(Order.contact_id == contact.id, Order.store_id == contact.store_id)
        .order_by(Order.id.desc()).limit(HISTORY))
    for order, message_id, basis in rows:
        found.orders.append(dict(
            id=order.id, wc_id=order.wc_id, number=order.number, status=order.status,
            purchased=order.purchased, total=order.total, currency=order.currency,
            created_gmt=order.created_gmt, attributed_message_id=message_id,
            attribution_basis=basis))
    replies = session.scalars(
        select(InboundSms).where(InboundSms.store_id == contact.store_id,
                                 InboundSms.sender.in_(_sender_forms(contact.phone)),
                                 InboundSms.action.in_(["opt_out", "opt_in"]))
        .order_by(InboundSms.id.desc()).limit(HISTORY))
    events = [dict(at=r.received_at, action=r.action, source="sms reply", text=r.text)
              for r in replies]
    # Only the latest opt-out is kept on the contact; a reply shows as a reply above.
    if contact.opted_out_at is not None and contact.opt_out_source != "sms reply":
        events.append(dict(at=contact.opted_out_at, action="opt_out",
                           source=contact.opt_out_source or "unknown", text=None))
    found.consent_events = sorted(events, key=lambda e: e["at"], reverse=True)
    return found


def set_contact_consent(session: Session, *, store: Store, contact_id: int, opted_in: bool,
                        now: datetime) -> Contact:
    """Opt a contact out (or back in) by hand. Messages skipped meanwhile stay skipped."""
    contact = get_contact(session, store=store, contact_id=contact_id)
    return set_consent(session, store_id=store.id, raw_phone=contact.phone, opted_in=opted_in,
                       source=MERCHANT, now=now)


def opt_out_phone(session: Session, *, store: Store, phone: str, now: datetime) -> Contact:
    """Opt a phone out, known or not: an unknown one gets a contact, so none of its later carts
    or orders is ever texted."""
    e164 = _phone(phone).e164
    return set_consent(session, store_id=store.id, raw_phone=e164, opted_in=False,
                       source=MERCHANT, now=now)


# -- blacklist import -------------------------------------------------------------------------

@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    already_opted_out: int = 0
    duplicates: int = 0
    invalid_count: int = 0
    invalid: list[dict] = field(default_factory=list)


def _text(data: bytes) -> str:
    if not data.strip():
        raise InvalidCsv("the file is empty: one phone per line (a CSV with a phone column)")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Excel's "Unicode text"
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise InvalidCsv("the file is not UTF-8 text: save it as «CSV UTF-8» (or plain text) "
                         "and upload it again") from None
    if "\x00" in text:
        raise InvalidCsv("the file has NUL bytes: it is not a CSV or text file")
    return text


def _phone_column(header: list[str]) -> int | None:
    for i, cell in enumerate(header):
        name = "".join(cell.split()).lower()
        if any(word in name for word in _PHONE_HEADERS):
            return i
    return None


def _rows(text: str) -> list[tuple[int, list[str]]]:
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows = []
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((reader.line_num, cells))
            if len(rows) > MAX_BLACKLIST_ROWS + 1:
                raise InvalidCsv(f"the file has more than {MAX_BLACKLIST_ROWS:,} rows: split it",
                                 code="too_many_rows", status_code=413)
    except csv.Error as exc:
        raise InvalidCsv(f"line {reader.line_num}: not readable as CSV ({exc})") from None
    return rows


def import_blacklist(session: Session, *, store: Store, data: bytes, now: datetime) -> ImportReport:
    """Opt out every phone of a CSV (or a plain list, one per line). The phone is the column a
    header names (phone, mobile, شماره, موبایل, …) or else the first. A first row without a
    digit is a header. Importing a file twice changes nothing the second time."""
    rows = _rows(_text(data))
    column = 0
    if rows and not any(ch.isdigit() for cell in rows[0][1] for ch in cell):
        column = _phone_column(rows[0][1]) or 0
        rows = rows[1:]
    report = ImportReport(rows=len(rows))
    seen: set[str] = set()
    phones: list[Phone] = []
    for line, cells in rows:
        raw = cells[column].strip() if column < len(cells) else ""
        try:
            phone = normalize_phone(raw)
        except InvalidPhone as exc:
            report.invalid_count += 1
            if len(report.invalid) < MAX_REPORTED_INVALID:
                report.invalid.append(dict(line=line, value=raw[:64], reason=exc.reason))
            continue
        if phone.e164 in seen:
            report.duplicates += 1
            continue
        seen.add(phone.e164)
        phones.append(phone)
    report.imported = opt_out_phones(session, store_id=store.id, phones=phones, source=BLACKLIST,
                                     now=now)
    report.already_opted_out = len(phones) - report.imported
    return report
