"""The Jinja sandbox merchants' SMS templates run in, with limits that hold for any input.

Jinja's SandboxedEnvironment stops a template from reaching Python's internals, not from
burning CPU or memory: a loop nested in a condition that is false for the sample values, a
`"a" * 10**9`, a megabyte of output. Every render here has a budget (a context variable, so a
template rendered in another thread has its own):
- at most MAX_STEPS loop iterations, calls, filters and intercepted operators together;
- no value (a string, a list, a number's digits) larger than MAX_VALUE, refused *before* an
  operator or a size argument (`center(10**9)`, `{:>999999}`) would build it;
- at most MAX_OUTPUT characters out: rendering stops as soon as they are exceeded.
A template over a limit raises TemplateLimit; nothing else about the render changes.
"""

import functools
import re
import string
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_SOURCE = 1_000      # characters of template source (campaign steps, variants, lookup tokens)
MAX_OUTPUT = 2_000      # characters an SMS text renders to: about 30 Persian SMS parts
MAX_VALUE = 10_000      # length of any value a template builds (string, list, digits)
MAX_STEPS = 10_000      # loop iterations, calls, filters and operators in one render
MAX_RANGE = 100         # items of range()
MAX_LOOP_DEPTH = 2      # loops inside loops

# What an SMS needs, and nothing that builds text of a size it is told: no center, indent,
# wordwrap, lipsum; no list building (list, batch, map, sum...), so no value nests lists (whose
# text could be exponentially long).
FILTERS = frozenset({"abs", "capitalize", "count", "d", "default", "first", "float", "format",
                     "int", "join", "last", "length", "lower", "replace", "reverse", "round",
                     "string", "title", "trim", "truncate", "upper", "wordcount"})
STR_METHODS = frozenset({"capitalize", "count", "endswith", "find", "format", "isalpha",
                         "isdigit", "isnumeric", "lower", "lstrip", "replace", "rstrip", "split",
                         "startswith", "strip", "title", "upper"})


class TemplateProblem(ValueError):
    """What keeps a template from being read. `kind` (syntax, unknown_variable, unknown_filter,
    nested) and `names` let the panel say it in Persian; the message is the API's."""

    def __init__(self, message: str, line: int | None = None, *, kind: str = "syntax",
                 names: tuple[str, ...] = ()):
        super().__init__(message if line is None else f"line {line}: {message}")
        self.line, self.kind, self.names = line, kind, names


class TemplateLimit(TemplateProblem):
    """A template that would take more than its budget (MAX_* above)."""


class _Budget:
    def __init__(self) -> None:
        self.steps = 0


_budget: ContextVar[_Budget | None] = ContextVar("bazgasht_template_budget", default=None)


def _step() -> None:
    budget = _budget.get()
    if budget is not None:
        budget.steps += 1
        if budget.steps > MAX_STEPS:
            raise TemplateLimit(f"the template takes more than {MAX_STEPS} steps (loops, "
                                "filters, calls); simplify it")


def _too_large(what: str) -> TemplateLimit:
    return TemplateLimit(f"{what} would be larger than {MAX_VALUE} characters")


def _size(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value.bit_length() // 3  # about its decimal digits
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return len(value)
    return 0


def _bounded(value: Any) -> Any:
    if _size(value) > MAX_VALUE:
        raise _too_large("a value")
    return value


def _check_arguments(args: Iterable[Any], kwargs: dict[str, Any]) -> None:
    """Size arguments (`center(n)`, `lipsum(n)`, `indent(n)`) are numbers: none above
    MAX_VALUE."""
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_VALUE:
            raise TemplateLimit(f"the number {arg} is too large here (at most {MAX_VALUE})")
        _bounded(arg)


# A width or precision of 4+ digits, or one taken from the arguments (`*`), in %-formatting.
_PERCENT_WIDTH = re.compile(r"%[-#0 +]*(?:\*|\d{4,}|\d*\.(?:\*|\d{4,}))")
_SPEC_WIDTH = re.compile(r"\d{4,}|[{*]")


def _check_format(fmt: str, *, percent: bool) -> None:
    if percent:
        wide = _PERCENT_WIDTH.search(fmt) is not None
    else:
        try:
            wide = any(spec and _SPEC_WIDTH.search(spec)
                       for _, _, spec, _ in string.Formatter().parse(fmt))
        except ValueError:
            return  # a malformed format string fails by itself, building nothing
    if wide:
        raise TemplateLimit("a format width or precision of 1000 or more is not allowed")


def _power(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
        if right * left.bit_length() > MAX_VALUE * 3:
            raise _too_large("a power")


def _repeat(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        if isinstance(times, int) and _size(seq) * max(times, 0) > MAX_VALUE:
            raise _too_large("a repetition")
    if isinstance(left, int) and isinstance(right, int):
        if (left.bit_length() + right.bit_length()) // 3 > MAX_VALUE:
            raise _too_large("a product")


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple | dict | set | frozenset)


def _check_growth(name: str, value: Any, args: tuple, kwargs: dict) -> None:
    """Filters and methods whose output can be far larger than their input: estimated first."""
    if name == "replace" and isinstance(value, str) and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        times = value.count(old) if old else len(value) + 1
        if len(value) + times * (len(new) - len(old)) > MAX_VALUE:
            raise _too_large("a replace")
    elif name == "join" and isinstance(value, list | tuple | str | range):
        separator = str(args[0] if args else kwargs.get("d", ""))
        if any(_is_list(item) for item in value):
            raise TemplateLimit("join takes text and numbers, not lists")
        size = len(separator) * len(value) + sum(len(str(item)) for item in value)
        if size > MAX_VALUE:
            raise _too_large("a join")


def _safe_range(*args: int) -> range:
    items = range(*args)
    if len(items) > MAX_RANGE:
        raise TemplateLimit(f"range() of {len(items)} items; at most {MAX_RANGE}")
    return items


class _LimitedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr not in STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        _step()
        if operator in ("*", "+") and (_is_list(left) or _is_list(right)):
            raise TemplateLimit("lists cannot be repeated or added in a template")
        if operator == "**":
            _power(left, right)
        elif operator == "*":
            _repeat(left, right)
        elif operator == "%" and isinstance(left, str):
            _check_format(left, percent=True)
        return _bounded(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's signature)
        _step()
        method = getattr(__obj, "__wrapped__", __obj)  # Jinja wraps str.format
        if getattr(method, "__name__", None) in ("format", "format_map") \
                and isinstance(getattr(method, "__self__", None), str):
            _check_format(method.__self__, percent=False)  # the arguments are values to show
            for arg in (*args, *kwargs.values()):
                _bounded(arg)
        else:
            _check_arguments(args, kwargs)
            if isinstance(getattr(method, "__self__", None), str):
                _check_growth(getattr(method, "__name__", ""), method.__self__, args, kwargs)
        return _bounded(super().call(__context, __obj, *args, **kwargs))


def _guard_filter(name: str, func):
    value_at = 1 if getattr(func, "jinja_pass_arg", None) else 0

    @functools.wraps(func)  # keeps jinja_pass_arg: Jinja still hands over the context
    def guarded(*args, **kwargs):
        _step()
        if name == "format" and isinstance(args[value_at], str):
            _check_format(args[value_at], percent=True)
            _bounded(args[value_at + 1:])
        else:
            _check_arguments(args[value_at + 1:], kwargs)
            _check_growth(name, args[value_at], args[value_at + 1:], kwargs)
        return _bounded(func(*args, **kwargs))

    return guarded


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """What every `for` loops over: each iteration is a step."""
    for item in iterable:
        _step()
        yield item


def _concat(value: Any) -> Any:
    """What every `~` builds: no larger than MAX_VALUE (doubling a namespace value in a loop)."""
    _step()
    return _bounded(value)


def make_environment(filters: dict) -> ImmutableSandboxedEnvironment:
    from jinja2 import StrictUndefined

    env = _LimitedSandbox(autoescape=False, undefined=StrictUndefined)
    allowed = {name: f for name, f in env.filters.items() if name in FILTERS} | filters
    env.filters = {name: _guard_filter(name, f) for name, f in allowed.items()}
    env.filters.update(_counted=_counted, _concat=_concat)
    env.globals = {"range": _safe_range, "namespace": env.globals["namespace"]}
    return env


def instrument(tree: nodes.Template) -> nodes.Template:
    """Count every loop iteration and bound every `~` (the sandbox has no hook for either)."""
    for loop in list(tree.find_all(nodes.For)):
        loop.iter = nodes.Filter(loop.iter, "_counted", [], [], None, None, lineno=loop.lineno)
    for parent in list(tree.find_all(nodes.Node)):
        for field, value in parent.iter_fields():
            if isinstance(value, nodes.Concat):
                setattr(parent, field, nodes.Filter(value, "_concat", [], [], None, None,
                                                    lineno=value.lineno))
            elif isinstance(value, list):
                value[:] = [nodes.Filter(v, "_concat", [], [], None, None, lineno=v.lineno)
                            if isinstance(v, nodes.Concat) else v for v in value]
    return tree


def check_shape(tree: nodes.Template) -> None:
    """Limits a template's text shows, whatever its values: refused when it is saved."""
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            raise TemplateLimit("recursive loops are not allowed", loop.lineno)
        depth = _loop_depth(loop)
        if depth > MAX_LOOP_DEPTH:
            raise TemplateLimit(f"loops are nested {depth} deep; at most {MAX_LOOP_DEPTH}",
                                loop.lineno)
    for literal in tree.find_all((nodes.List, nodes.Tuple, nodes.Dict)):
        if isinstance(literal, nodes.Tuple) and literal.ctx == "store":
            continue  # `{% for a, b in … %}`: names, not a value
        if not all(isinstance(n, nodes.Const | nodes.List | nodes.Tuple | nodes.Dict | nodes.Pair)
                   for n in literal.find_all(nodes.Node)):
            raise TemplateLimit("lists in a template hold constants only, e.g. "
                                "{% if first_name in ['', 'مشتری'] %}", literal.lineno)
    for node in tree.find_all((nodes.Mul, nodes.Pow, nodes.Mod, nodes.Call, nodes.Filter)):
        _check_constants(node)


def _loop_depth(loop: nodes.For) -> int:
    inner = [_loop_depth(child) for child in _loops_directly_inside(loop)]
    return 1 + max(inner, default=0)


def _loops_directly_inside(node: nodes.Node) -> Iterator[nodes.For]:
    for child in node.iter_child_nodes():
        if isinstance(child, nodes.For):
            yield child
        else:
            yield from _loops_directly_inside(child)


def _constant(node: nodes.Node) -> Any:
    """The value of a constant expression (`"a" * 10 ** 9`), checked step by step; None when
    it depends on the variables."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.Neg):
        inner = _constant(node.node)
        return -inner if isinstance(inner, int) else None
    if isinstance(node, nodes.Mul | nodes.Pow | nodes.Mod | nodes.Add):
        left, right = _constant(node.left), _constant(node.right)
        if left is None or right is None:
            return None
        operator = {nodes.Mul: "*", nodes.Pow: "**", nodes.Mod: "%", nodes.Add: "+"}[type(node)]
        try:
            return _LimitedSandbox().call_binop(None, operator, left, right)
        except TemplateLimit:
            raise
        except Exception:  # e.g. "a" ** 2: fails when rendered, with Jinja's own message
            return None
    return None


def _formats(node: nodes.Call | nodes.Filter) -> bool:
    """Formatting: its arguments are values to show, not sizes."""
    if isinstance(node, nodes.Filter):
        return node.name == "format"
    return isinstance(node.node, nodes.Getattr) and node.node.attr in ("format", "format_map")


def _check_constants(node: nodes.Node) -> None:
    try:
        if isinstance(node, nodes.Call | nodes.Filter):
            args = [_constant(arg) for arg in node.args]
            kwargs = {str(kw.key): _constant(kw.value) for kw in node.kwargs}
            if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) \
                    and node.node.name == "range" and all(isinstance(a, int) for a in args):
                _safe_range(*args)
            elif not _formats(node):
                _check_arguments([a for a in args if a is not None],
                                 {k: v for k, v in kwargs.items() if v is not None})
        else:
            _constant(node)
    except TemplateLimit as exc:
        raise TemplateLimit(str(exc), node.lineno) from None
    except (TypeError, ValueError):
        return


def rendering(source_template, context: dict) -> str:
    """Render with a fresh budget; stops as soon as the output passes MAX_OUTPUT."""
    token = _budget.set(_Budget())
    try:
        out: list[str] = []
        length = 0
        for chunk in source_template.generate(context):
            length += len(chunk)
            if length > MAX_OUTPUT:
                raise TemplateLimit(f"the text would be longer than {MAX_OUTPUT} characters")
            out.append(chunk)
        return "".join(out)
    finally:
        _budget.reset(token)
