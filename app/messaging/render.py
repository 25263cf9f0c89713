"""Render SMS texts from merchant-editable Jinja templates, in a sandbox with limits
(app/messaging/sandbox.py).

Templates see only the documented variables (README, "Template variables") and a few filters
for Persian readers: `fa` (Persian digits), `money` (rial → the store's unit), `jalali`.
"""

import re
from functools import lru_cache
from pathlib import Path

from jinja2 import TemplateError, TemplateSyntaxError, meta, nodes

from app.digits import persian_digits
from app.messaging.persian import jalali_date, money
from app.messaging.sandbox import (
    MAX_SOURCE,
    TemplateLimit,
    TemplateProblem,
    check_shape,
    instrument,
    make_environment,
    rendering,
)

__all__ = ["TEMPLATES", "VARIABLES", "TemplateLimit", "TemplateProblem", "default_template",
           "over_limit", "render", "syntax_tree", "validate"]

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

VARIABLES = frozenset({
    "first_name", "last_name", "store_name", "link", "coupon_code", "coupon_expires",
    "cart_items", "cart_total", "order_number", "order_total", "product_name", "product_names",
    "today",
})

_env = make_environment(dict(fa=persian_digits, money=money, jalali=jalali_date))


def default_template(name: str) -> str:
    return (TEMPLATES / "sms" / f"{name}.txt").read_text(encoding="utf-8").strip()


def syntax_tree(source: str) -> nodes.Template:
    """The template as Jinja reads it, at any length (TemplateProblem when it cannot be read)."""
    try:
        return _env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(exc.message or "syntax error", exc.lineno) from None
    except RecursionError:  # "{{{{{{…": the parser recurses per brace
        raise TemplateProblem("the template is nested too deeply", kind="nested") from None


def _parse(source: str) -> nodes.Template:
    if len(source) > MAX_SOURCE:
        raise TemplateLimit(f"the template is longer than {MAX_SOURCE} characters")
    return syntax_tree(source)


@lru_cache(maxsize=1024)  # a send checks its lookup tokens: a good template once per process
def validate(source: str) -> None:
    """Raise TemplateProblem for a syntax error or a variable templates cannot use, and
    TemplateLimit for a template over a limit on any branch (not only the ones its sample
    values take)."""
    parsed = _parse(source)
    check_shape(parsed)
    try:
        unknown = sorted(meta.find_undeclared_variables(parsed) - VARIABLES)
    except TemplateSyntaxError as exc:  # an unknown filter ("No filter named 'center'.")
        filters = ", ".join(sorted(f for f in _env.filters if not f.startswith("_")))
        named = re.search(r"named '([^']*)'", exc.message or "")
        raise TemplateProblem(f"{exc.message} Filters: {filters}", exc.lineno,
                              kind="unknown_filter",
                              names=(named[1],) if named else ()) from None
    if unknown:
        raise TemplateProblem(f"unknown variable(s): {', '.join(unknown)}; "
                              f"available: {', '.join(sorted(VARIABLES))}",
                              kind="unknown_variable", names=tuple(unknown))
    sample = {name: "x" for name in VARIABLES}
    for template in (_compiled(source), _env.from_string(instrument(_every_branch(parsed)))):
        try:
            rendering(template, sample)
        except TemplateLimit:
            raise
        except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError,
                RecursionError):
            pass  # its own problem (campaigns.checks.text_problem), or a branch forced open


def over_limit(source: str) -> TemplateLimit | None:
    """The limit the template goes over on some branch, if any (its other problems: None)."""
    try:
        validate(source)
    except TemplateLimit as exc:
        return exc
    except TemplateProblem:
        pass
    return None


def _every_branch(tree: nodes.Template) -> nodes.Template:
    """Every `if` taken, and its `elif`s and `else` too: a limit hidden behind a condition the
    sample values do not meet is found when the template is saved."""
    for branch in list(tree.find_all(nodes.If)):
        branch.test = nodes.Const(True)
        branch.body = [*branch.body, *branch.elif_, *branch.else_]
        branch.elif_, branch.else_ = [], []
    return tree


@lru_cache(maxsize=1024)
def _compiled(source: str):
    return _env.from_string(instrument(_parse(source)))


def render(source: str, context: dict) -> str:
    """The SMS text: whitespace folded to single spaces, as one line. TemplateLimit when the
    template goes over a limit for these values."""
    text = rendering(_compiled(source), {k: context.get(k, "") for k in VARIABLES})
    return " ".join(text.split())
