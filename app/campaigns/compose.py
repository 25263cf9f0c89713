"""The SMS a step sends: one composer for the send and for the preview, so they cannot differ.

Both build the subject's template variables with `render_context` (with the message: its real
short link; without: a sample of the same length) and hand them here. What comes out is the
text as the customer reads it (the opt-out line included), its parts, and in lookup mode the
approved template with its rendered tokens.
"""

import random
from dataclasses import dataclass

from jinja2 import TemplateError

from app.campaigns.lookup import KAVENEGAR_TOKENS, LOOKUP_MODE, LookupConfigError, validate_lookup
from app.campaigns.models import Campaign, CampaignStep
from app.campaigns.reasons import Reason
from app.contacts.names import clean_name, clean_text
from app.messaging.gateway import Lookup
from app.messaging.kavenegar import TokenProblem, fit_token
from app.messaging.render import render
from app.messaging.segments import Segments, count_segments
from app.stores.models import Store

# What rendering a merchant's template can raise (every variable is text; the sandbox refuses
# unsafe access with a TemplateError).
RENDER_ERRORS = (TemplateError, TypeError, ValueError, ArithmeticError, LookupError,
                 RecursionError)


class Uncomposable(Exception):
    """The step cannot make this message's SMS: `reason` says whose problem it is (the step's
    config: held until fixed; this message's data: failed), `where` the field at fault."""

    def __init__(self, reason: Reason, where: str, problem: str):
        super().__init__(f"{where}: {problem}")
        self.reason, self.where, self.problem = reason, where, problem


@dataclass(frozen=True)
class Composed:
    text: str  # as the customer reads it, opt-out line included
    segments: Segments
    variant: str | None
    opt_out_line: bool
    lookup: Lookup | None  # lookup mode: what goes to the gateway instead of `text`


def choose_variant(step: CampaignStep, *, seed: int | None = None,
                   name: str | None = None) -> tuple[str | None, str]:
    """The (variant name, template) a message says. `name`: that variant (KeyError if the step
    has none such). `seed` (the message id): a weighted draw, the same for every retry of that
    message. Neither (a preview of the step): the first variant with a weight. A step without
    weighted variants says its own template."""
    variants = step.variants or []
    if name is not None:
        for variant in variants:
            if variant.get("name") == name:
                return name, variant["template"]
        raise KeyError(name)
    weighted = [v for v in variants if v.get("weight", 0) > 0]
    if not weighted:
        return None, step.template
    chosen = (random.Random(seed).choices(weighted, weights=[v["weight"] for v in weighted])[0]
              if seed is not None else weighted[0])
    return chosen.get("name"), chosen["template"]


# Variables whose text a shopper typed (names) or that come from orders and carts: cleaned
# before any template sees them (app/contacts/names.py). A name that is not a name is dropped,
# so the template's fallback shows: {{ first_name or "مشتری" }}.
SHOPPER_NAMES = ("first_name", "last_name")
ORDER_TEXTS = ("cart_items", "product_names", "product_name")


def shopper_safe(context: dict) -> dict:
    """The variables with what came from shoppers, orders and carts made safe to send."""
    safe = dict(context)
    for name in SHOPPER_NAMES:
        if name in safe:
            safe[name] = clean_name(safe[name])
    for name in ORDER_TEXTS:
        if name in safe:
            safe[name] = clean_text(safe[name])
    return safe


def compose(*, store: Store, campaign: Campaign, step: CampaignStep, source: str,
            variant: str | None, context: dict) -> Composed:
    """The SMS of `source` (the step's or its variant's template) for these variables."""
    context = shopper_safe(context)
    try:
        text = render(source, context)
    except RENDER_ERRORS as exc:
        raise Uncomposable(Reason.TEMPLATE_BROKEN, "template",
                           f"cannot be rendered: {type(exc).__name__}: {exc}") from None
    opt_out = bool(campaign.promotional and store.opt_out_text)
    if opt_out:
        text = f"{text}\n{store.opt_out_text}"
    lookup = None
    if store.sms_template_mode == LOOKUP_MODE:
        lookup = lookup_of(step, context, store.sms_provider)
    return Composed(text=text, segments=count_segments(text), variant=variant,
                    opt_out_line=opt_out, lookup=lookup)


def checked_lookup(config: object, provider: str | None = "kavenegar") -> dict:
    """validate_lookup, with a template nested too deeply to parse reported like any problem."""
    try:
        return validate_lookup(config, provider)
    except RecursionError:
        raise LookupConfigError("tokens", "a token is nested too deeply to read") from None


def lookup_of(step: CampaignStep, context: dict, provider: str) -> Lookup | None:
    """A lookup-mode step's approved template with its tokens rendered; None when the step has
    no lookup config (such a message is never sent as plain text: the store chose lookup
    because plain SMS from its line do not reach everyone)."""
    if not step.lookup:
        return None
    try:
        config = checked_lookup(step.lookup, provider)
    except LookupConfigError as exc:
        raise Uncomposable(Reason.LOOKUP_CONFIG, f"lookup.{exc.field}",
                           exc.message.removeprefix(f"lookup.{exc.field}: ")) from None
    tokens = {}
    for name, source in config["tokens"].items():
        try:
            value = (fit_token(name, render(source, context)) if provider in KAVENEGAR_TOKENS
                     else " ".join(render(source, context).split()))
        except TokenProblem as exc:  # this message's data: too long a name, say
            raise Uncomposable(Reason.LOOKUP_DATA, f"lookup.tokens.{name}", str(exc)) from None
        except RENDER_ERRORS as exc:
            raise Uncomposable(Reason.LOOKUP_CONFIG, f"lookup.tokens.{name}",
                               f"cannot be rendered: {exc}") from None
        if value:  # an empty optional token is left out, not sent empty
            tokens[name] = value
    if provider not in KAVENEGAR_TOKENS:
        if not tokens:
            raise Uncomposable(Reason.LOOKUP_DATA, "lookup.tokens",
                               "every parameter renders empty for this subject")
        return Lookup(template=config["template"], tokens=tokens)
    if "token" not in tokens:
        raise Uncomposable(Reason.LOOKUP_DATA, "lookup.tokens.token",
                           "renders empty for this subject (Kavenegar requires it): give it a "
                           "fallback, e.g. {{ first_name or '…' }}")
    return Lookup(template=config["template"], tokens=tokens)
