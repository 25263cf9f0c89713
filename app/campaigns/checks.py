"""What a step's texts (its template and its A/B variants') are checked for, by the admin API,
the panel and the preview alike.

Refused (the text is not saved; the API answers 422 with the code, the panel says it in Persian
next to the text):
- longer than MAX_TEXT characters (`template_too_long`): never cut, always refused;
- over a sandbox limit (`template_too_heavy`), a syntax error or an unknown variable or filter,
  or a text that cannot be rendered (`invalid_template`);
- the coupon code or its expiry in a step without a coupon (`coupon_missing`): the SMS would
  say «with the code » and nothing after it.

Warned (saved; the preview says it, the panel shows it beside the text):
- `no_link`: the text has no link, so nothing it brings can be clicked, counted or credited;
- `many_parts`: it renders to more than WARN_PARTS SMS parts for the sample customer (each
  part is paid for);
- `expiry_empty`: the coupon's expiry with a fixed code, which has none (it renders empty).

The Persian words for every code are in templates/dashboard/_labels.html.
"""

from dataclasses import dataclass, field
from typing import Any

from jinja2 import meta

from app.campaigns.compose import RENDER_ERRORS
from app.errors import DomainError
from app.messaging.render import (
    VARIABLES,
    TemplateLimit,
    TemplateProblem,
    render,
    syntax_tree,
    validate,
)

# Ten parts of a Persian SMS (67 characters each once it is longer than one part): the longest
# text a step may have. The sandbox's own limit (app/messaging/sandbox.py MAX_SOURCE) is higher.
PERSIAN_PART = 67
MAX_TEXT = 10 * PERSIAN_PART
# More parts than this and the merchant is told what the text costs before they save it.
WARN_PARTS = 3
COUPON_VARIABLES = ("coupon_code", "coupon_expires")


@dataclass(frozen=True)
class TextProblem:
    """Why a text is refused: `code` for the API, `kind` and `params` for the panel's words."""

    code: str
    kind: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)


class TextRefused(DomainError, status=422, code="invalid_template"):
    """A step's text that cannot be saved; `where` names it ("template",
    "variants[1].template")."""

    def __init__(self, problem: TextProblem, where: str):
        super().__init__(f"{where}: {problem.message}", code=problem.code)
        self.problem, self.where = problem, where


@dataclass(frozen=True)
class TextWarning:
    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)


def text_problem(source: str) -> TextProblem | None:
    """What keeps this text from being saved as a step's, whatever the step's coupon."""
    if len(source) > MAX_TEXT:
        return TextProblem("template_too_long", "template_too_long",
                           f"{len(source)} characters, more than the {MAX_TEXT} a step's text "
                           f"may have ({MAX_TEXT // PERSIAN_PART} Persian SMS parts); shorten it",
                           {"length": len(source), "max": MAX_TEXT})
    try:
        validate(source)
    except TemplateLimit as exc:
        return TextProblem("template_too_heavy", "template_too_heavy", str(exc))
    except TemplateProblem as exc:
        return TextProblem("invalid_template", f"template_{exc.kind}", str(exc),
                           {"line": exc.line or 0, "names": "، ".join(exc.names)})
    except RecursionError:  # "{{{{{{…": the parser recurses once per brace
        return TextProblem("invalid_template", "template_nested", "nested too deeply to read")
    try:
        # Every variable is text in a real context too (render_context formats numbers, dates).
        render(source, {name: "x" for name in VARIABLES})
    except RENDER_ERRORS as exc:
        return TextProblem("invalid_template", "template_unrenderable",
                           f"cannot be rendered: {type(exc).__name__}: {exc}")
    return None


def variables_of(source: str) -> frozenset[str]:
    """The variables a (valid) text uses."""
    return frozenset(meta.find_undeclared_variables(syntax_tree(source)))


def coupon_problem(source: str, coupon: dict | None) -> TextProblem | None:
    """A (valid) text that quotes the coupon of a step that has none."""
    if coupon:
        return None
    used = [name for name in COUPON_VARIABLES if name in variables_of(source)]
    if not used:
        return None
    return TextProblem("coupon_missing", "coupon_missing",
                       f"uses {', '.join(used)} but the step has no coupon: choose one "
                       "(coupon) or take the variable out", {"variable": used[0]})


def text_warnings(source: str, *, coupon: dict | None, parts: int) -> list[TextWarning]:
    """What the merchant should know about a (valid) text that renders to `parts` parts for the
    sample customer, opt-out line included."""
    used = variables_of(source)
    found = []
    if "link" not in used:
        found.append(TextWarning("no_link", "the text has no {{ link }}: its clicks and the "
                                 "orders it brings cannot be counted"))
    if parts > WARN_PARTS:
        found.append(TextWarning("many_parts", f"{parts} SMS parts for the sample customer "
                                 f"(more than {WARN_PARTS}): each part is paid for",
                                 {"parts": parts}))
    if "coupon_expires" in used and isinstance(coupon, dict) and coupon.get("mode") != "personal":
        found.append(TextWarning("expiry_empty", "coupon_expires is empty for a fixed code "
                                 "(only personal codes expire)"))
    return found
