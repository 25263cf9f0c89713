"""Lookup mode: a store's messages sent as templates approved in its provider's panel
(Kavenegar verify/lookup, SMS.ir send/verify, IPPanel patterns, Ghasedak OTP templates,
MeliPayamak shared-line bodies).

A store whose promotional line cannot reach numbers on the operators' advertising blacklist
(*800#) sets `sms_template_mode = "lookup"`. Each step then carries
`lookup = {"template": "<name approved in the Kavenegar panel>", "tokens": {"token": "{{
first_name }}", "token2": …}}`: every token is a Jinja template rendered, sandboxed, with the same
variables as the step's text. The approved template is fixed text, so no opt-out line is added.

With Kavenegar the tokens are its own (token, token2, token3, token10, token20; `token`
required). The other providers name their parameters themselves: any name of letters, digits
and underscores (SMS.ir #NAME#, IPPanel %name%, Ghasedak's Param; MeliPayamak's are positions:
"0", "1", …), and SMS.ir's and MeliPayamak's templates are numeric ids.

Config problems (no lookup on the step, an invalid one, a template Kavenegar does not know) hold
the message until the merchant fixes the step and resumes the campaign; problems of one message's
data (an empty `token`, an over-long link) fail that message with the reason.
"""

import re

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
# Providers whose lookups take Kavenegar's tokens ("platform": the platform's Kavenegar account;
# the console records lookups as Kavenegar would take them).
KAVENEGAR_TOKENS = frozenset({"kavenegar", "platform", "console"})
NUMERIC_TEMPLATES = frozenset({"smsir", "melipayamak"})
_PARAMETER = re.compile(r"^[A-Za-z0-9_]{1,40}$")
# verify/lookup answers that mean the step's template is wrong, not this message: 424 template
# not found or not approved, 432 the template has no %token.
_TEMPLATE_REFUSED = frozenset({424, 432})


class LookupConfigError(DomainError, status=422, code="invalid_lookup"):
    """A step's lookup config that cannot work; `field` names the culprit ("tokens.token2")."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"lookup.{field}: {problem}")
        self.field = field


def validate_lookup(config: object, provider: str | None = "kavenegar") -> dict:
    """Check a step's lookup config for a store on `provider` (None: any provider, as a draft
    is checked); returns it normalized ({"template", "tokens"}, Kavenegar's tokens in their
    order) or raises LookupConfigError naming the field."""
    if not isinstance(config, dict):
        raise LookupConfigError("", 'must be an object: {"template": …, "tokens": {…}}')
    unknown = sorted(set(config) - {"template", "tokens"})
    if unknown:
        raise LookupConfigError(unknown[0], 'unknown field; expected "template" and "tokens"')
    template = config.get("template")
    if not isinstance(template, str) or not template.strip():
        panel = "the Kavenegar panel" if provider in KAVENEGAR_TOKENS else "the provider's panel"
        raise LookupConfigError("template", f"the name or id of a template approved in {panel} "
                                            f"is required")
    if len(template) > MAX_TEMPLATE_NAME or any(c.isspace() for c in template):
        raise LookupConfigError("template", f"a template name has no spaces and at most "
                                            f"{MAX_TEMPLATE_NAME} characters")
    if provider in NUMERIC_TEMPLATES and not (template.isascii() and template.isdigit()):
        raise LookupConfigError("template", f"{provider}'s templates are numeric ids, as its "
                                            f"panel shows them")
    tokens = config.get("tokens")
    if not isinstance(tokens, dict):
        raise LookupConfigError("tokens", 'must be an object such as {"token": "{{ first_name }}"}')
    if provider not in KAVENEGAR_TOKENS:
        return {"template": template, "tokens": _parameters(tokens)}
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


def _parameters(tokens: dict) -> dict:
    """Another provider's parameters: names of its own, each a template string; at least one."""
    if not tokens:
        raise LookupConfigError("tokens", 'at least one parameter, e.g. {"name": "{{ first_name '
                                          '}}"}')
    for name, source in tokens.items():
        if not _PARAMETER.match(name):
            raise LookupConfigError(f"tokens.{name}", "a parameter name is letters, digits and "
                                                      "_ (up to 40), as in the provider's panel")
        if not isinstance(source, str):
            raise LookupConfigError(f"tokens.{name}", "must be a template string")
        try:
            validate(source)
        except TemplateProblem as exc:
            raise LookupConfigError(f"tokens.{name}", str(exc)) from None
    return dict(tokens)


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
