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

from sqlalchemy.orm import Session, sessionmaker

from app.campaigns import lifecycle
from app.campaigns.lifecycle import Move
from app.campaigns.models import FAILED, HELD, Message
from app.campaigns.reasons import Reason, detail
from app.db import unit_of_work
from app.errors import DomainError
from app.messaging.gateway import GatewayError
from app.messaging.kavenegar import LOOKUP_TOKENS
from app.messaging.render import TemplateProblem, validate

LOOKUP_MODE = "lookup"
MAX_TEMPLATE_NAME = 100
# verify/lookup answers that mean the step's template is wrong, not this message: 424 template
# not found or not approved, 432 the template has no %token.
_TEMPLATE_REFUSED = frozenset({424, 432})


class LookupConfigError(DomainError, status=422, code="invalid_lookup"):
    """A step's lookup config that cannot work; `field` names the culprit ("tokens.token2")."""

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
    if exc.ambiguous:
        to = Move(FAILED, Reason.LOOKUP_UNKNOWN, detail(f"the answer was lost ({exc}); it may "
                                                        f"have been sent, and verify/lookup has "
                                                        f"no localid to ask"))
    elif exc.code in _TEMPLATE_REFUSED:
        to = Move(HELD, Reason.LOOKUP_REFUSED, detail(exc))
    else:
        return None
    with unit_of_work(factory) as session:
        if not lifecycle.settle_sending(session, message_id, to, keep_sent_at=exc.ambiguous):
            # resolved meanwhile by someone else: report what it is now
            return session.get_one(Message, message_id).status
    return to.status
