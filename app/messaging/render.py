"""Render SMS texts from merchant-editable Jinja templates, in a sandbox.

Templates see only the documented variables (README, "Template variables") and a few filters
for Persian readers: `fa` (Persian digits), `money` (rial → the store's unit), `jalali`.
"""

from functools import lru_cache
from pathlib import Path

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from app.digits import persian_digits
from app.messaging.persian import jalali_date, money

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

VARIABLES = frozenset({
    "first_name", "last_name", "store_name", "link", "coupon_code", "coupon_expires",
    "cart_items", "cart_total", "order_number", "order_total", "product_name", "product_names",
    "today",
})

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
