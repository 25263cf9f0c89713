"""Lookup mode: a store's messages sent as Kavenegar-approved templates (verify/lookup).

A store whose promotional line cannot reach numbers on the operators' advertising blacklist
(*800#) sets `sms_template_mode = "lookup"`. Each step then carries
`lookup = {"template": "<name approved in the Kavenegar panel>", "tokens": {"token": "{{
first_name }}", "token2": …}}`: every token is a Jinja template rendered, sandboxed, with the same
variables as the step's text. The approved template is fixed text, so no opt-out line is added.

Config problems (no lookup on the step, an invalid one, a template Kavenegar does not know) hold
the message until the merchant fixes the step and resumes the campaign; problems of one message's
data (an empty `token`, an over-long link) fail that message with the reason.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from jinja2 import TemplateError
from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session, sessionmaker

from app.campaigns.content import render_context
from app.campaigns.models import FAILED, HELD, SENDING, Campaign, CampaignStep, Enrollment, Message
from app.contacts.models import Contact
from app.db import rowcount, unit_of_work
from app.errors import DomainError
from app.messaging.gateway import GatewayError, Lookup, SendResult
from app.messaging.kavenegar import LOOKUP_TOKENS, TokenProblem, fit_token
from app.messaging.render import TemplateProblem, render, validate
from app.stores.models import Store

LOOKUP_MODE = "lookup"
MAX_TEMPLATE_NAME = 100
# verify/lookup answers that mean the step's template is wrong, not this message: 424 template
# not found or not approved, 432 the template has no %token.
_TEMPLATE_REFUSED = frozenset({424, 432})


class LookupConfigError(DomainError):
    """A step's lookup config that cannot work; `field` names the culprit ("tokens.token2")."""

    status_code = 422
    code = "invalid_lookup"

    def __init__(self, field: str, problem: str):
        super().__init__(f"lookup.{field}: {problem}")
        self.field = field


def validate_lookup(config: object) -> dict:
    """Check a step's lookup config; returns it normalized ({"template", "tokens"} with tokens in
    Kavenegar's order) or raises LookupConfigError naming the field."""
    if not isinstance(config, dict):
        raise LookupConfigError("", 'must be an object: {"template": …, "tokens": {…}}')
    unknown = sorted(set(config) - {"template", "tokens"})
    if unknown:
        raise LookupConfigError(unknown[0], 'unknown field; expected "template" and "tokens"')
    template = config.get("template")
    if not isinstance(template, str) or not template.strip():
        raise LookupConfigError("template", "the name of a template approved in the Kavenegar "
                                            "panel is required")
    if len(template) > MAX_TEMPLATE_NAME or any(c.isspace() for c in template):
        raise LookupConfigError("template", f"a template name has no spaces and at most "
                                            f"{MAX_TEMPLATE_NAME} characters")
    tokens = config.get("tokens")
    if not isinstance(tokens, dict):
        raise LookupConfigError("tokens", 'must be an object such as {"token": "{{ first_name }}"}')
    for name in tokens:
        if name not in LOOKUP_TOKENS:
            raise LookupConfigError(f"tokens.{name}", f"unknown token; Kavenegar's are "
                                                      f"{', '.join(LOOKUP_TOKENS)}")
    if not isinstance(tokens.get("token"), str) or not tokens["token"].strip():
        raise LookupConfigError("tokens.token", "required (Kavenegar refuses a lookup without it)")
    for name, source in tokens.items():
        if not isinstance(source, str):
            raise LookupConfigError(f"tokens.{name}", "must be a template string")
        try:
            validate(source)
        except TemplateProblem as exc:
            raise LookupConfigError(f"tokens.{name}", str(exc)) from None
    return {"template": template,
            "tokens": {name: tokens[name] for name in LOOKUP_TOKENS if name in tokens}}


@dataclass(frozen=True)
class NotSendable:
    """Why a message cannot go out in lookup mode, and what becomes of it."""

    status: str  # HELD (the step's config) or FAILED (this message's data)
    reason: str


def lookup_for(session: Session, *, message: Message, campaign: Campaign, store: Store,
               contact: Contact, enrollment: Enrollment, now: datetime) -> Lookup | NotSendable:
    """The template and rendered tokens of a message of a lookup-mode store."""
    step = session.get_one(CampaignStep, message.step_id)
    if not step.lookup:
        # Never fall back to a plain SMS: the store chose lookup because plain SMS from its line
        # do not reach everyone, and it pays for what is sent.
        return NotSendable(HELD, f"lookup mode: step {step.position} has no lookup template; set "
                                 f"the step's lookup config, then resume the campaign")
    try:
        config = validate_lookup(step.lookup)
    except LookupConfigError as exc:
        return NotSendable(HELD, f"lookup mode: step {step.position}: {exc.message}"[:300])
    # With the message, as for its text, so the tokens carry the same short link (mint()
    # remembers the session's links: the second render reuses the first one's).
    context = render_context(session, campaign=campaign, step=step, store=store, contact=contact,
                             enrollment=enrollment, now=now, message=message)
    if context is None:
        return NotSendable(FAILED, "nothing to send")  # the guard skipped such messages already
    tokens = {}
    for name, source in config["tokens"].items():
        try:
            value = fit_token(name, render(source, context))
        except (TemplateError, TypeError, ValueError) as exc:  # TokenProblem is a ValueError
            status = FAILED if isinstance(exc, TokenProblem) else HELD
            return NotSendable(status, f"lookup {name}: {exc}"[:300])
        if value:  # an empty optional token is left out, not sent empty
            tokens[name] = value
    if "token" not in tokens:
        return NotSendable(FAILED, "lookup token renders empty for this message (Kavenegar "
                                   "requires it): give it a fallback, e.g. "
                                   "{{ first_name or '…' }}")
    return Lookup(template=config["template"], tokens=tokens)




def settle_lookup_error(factory: sessionmaker[Session], message_id: int,
                        exc: GatewayError) -> str | None:
    """The status a failed verify/lookup leaves its message in, where it differs from a failed
    plain send; None: the usual handling applies (pause the store, retry later, fail).

    An ambiguous failure (timeout, reset: the request may have been processed) is final here.
    verify/lookup takes no localid, so unlike sms/send nothing can tell us afterwards whether it
    went out, and the gateway would not recognise a second call as a repeat: resending could
    send the customer the same SMS twice, at the merchant's cost. So the message is marked failed
    with the reason, and keeps its sent_at (it may well have reached the customer, so it still
    counts against the frequency cap). A template Kavenegar refuses (424, 432) is the step's
    problem, not the message's: held, so it goes out once the merchant fixes the step.
    """
    values: dict[str, Any]
    if exc.ambiguous:
        values = {"status": FAILED,
                  "reason": f"lookup outcome unknown: the answer was lost ({exc}); it may have "
                            f"been sent, and verify/lookup has no localid to ask, so it is not "
                            f"sent again"}
    elif exc.code in _TEMPLATE_REFUSED:
        # Not sent: sent_at goes, as for any held message (a send needs it empty).
        values = {"status": HELD, "reason": f"lookup template refused by the gateway: {exc}",
                  "sent_at": None, "claimed_at": None}
    else:
        return None
    values["reason"] = values["reason"][:300]
    with unit_of_work(factory) as session:
        changed = rowcount(session.execute(
            update(Message).where(Message.id == message_id, Message.status == SENDING)
            .values(**values).execution_options(synchronize_session=False)))
        if not changed:  # resolved meanwhile by someone else: report what it is now
            return session.get_one(Message, message_id).status
    return values["status"]


def record_lookup_parts(factory: sessionmaker[Session],
                        sent: list[tuple[int, SendResult]]) -> None:
    """Parts as the gateway's answer shows them (it fills the template; we never see the text)."""
    rows = [dict(message_id=mid, new_parts=r.parts) for mid, r in sent if r.parts is not None]
    if not rows:
        return
    with unit_of_work(factory) as session:
        session.connection().execute(
            cast(Table, Message.__table__).update()
            .where(Message.__table__.c.id == bindparam("message_id"))
            .values(parts=bindparam("new_parts")), rows)
