"""Render SMS texts from merchant-editable Jinja templates, in a sandbox.

Templates see only the documented variables (README, "Template variables") and a few filters
for Persian readers: `fa` (Persian digits), `money` (rial → the store's unit), `jalali`.
"""

from functools import lru_cache
from pathlib import Path

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from app.digits import persian_digits
from app.messaging.persian import jalali_date, money

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

VARIABLES = frozenset({
    "first_name", "last_name", "store_name", "link", "coupon_code", "coupon_expires",
    "cart_items", "cart_total", "order_number", "order_total", "product_name", "product_names",
    "today",
})

# What rendering a merchant's template can raise (every variable is text; the sandbox refuses
# unsafe access with a TemplateError).
RENDER_ERRORS = (TemplateError, TypeError, ValueError, ArithmeticError, LookupError,
                 RecursionError)

_env = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)
_env.filters.update(fa=persian_digits, money=money, jalali=jalali_date)


class TemplateProblem(ValueError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message if line is None else f"line {line}: {message}")
        self.line = line


def default_template(name: str) -> str:
    return (TEMPLATES / "sms" / f"{name}.txt").read_text(encoding="utf-8").strip()


def validate(source: str) -> None:
    """Raise TemplateProblem for a syntax error or a variable templates cannot use."""
    try:
        parsed = _env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(exc.message or "syntax error", exc.lineno) from None
    except RecursionError:  # "{{{{{{…": the parser recurses per brace
        raise TemplateProblem("the template is nested too deeply") from None
    unknown = sorted(meta.find_undeclared_variables(parsed) - VARIABLES)
    if unknown:
        raise TemplateProblem(f"unknown variable(s): {', '.join(unknown)}; "
                              f"available: {', '.join(sorted(VARIABLES))}")


@lru_cache(maxsize=1024)
def _compiled(source: str):
    return _env.from_string(source)


def render(source: str, context: dict) -> str:
    """The SMS text: whitespace folded to single spaces, as one line."""
    return " ".join(_compiled(source).render({k: context.get(k, "") for k in VARIABLES}).split())


def template_problem(source: str) -> str | None:
    """What is wrong with a template's syntax or variables ("line 2: …"), or None."""
    try:
        validate(source)
    except TemplateProblem as exc:
        return str(exc)
    except RecursionError:  # e.g. "{{{{{{…": the parser recurses once per brace
        return "nested too deeply to read"
    return None


def sample_render_check(source: str) -> str | None:
    """Why a template that parses still cannot be rendered (e.g. `{{ cart_total + 1 }}`)."""
    # Every variable is text in a real context too (render_context formats numbers and dates).
    context = {name: "x" for name in VARIABLES}
    try:
        render(source, context)
    except RENDER_ERRORS as exc:
        return f"{type(exc).__name__}: {exc}"
    return None
