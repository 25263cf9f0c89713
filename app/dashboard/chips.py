"""A step's text as the chip editor shows it: words, and variables as named chips.

The stored text stays the template the API takes (`{{ first_name or "مشتری" }} عزیز، …`). This
reads a template into segments — `{"text": …}` or `{"var": name}` / `{"var": name, "fallback":
word}` — and writes segments back (app/dashboard/static/editor.js writes them the same way in
the browser). A template the chips cannot say exactly (an `{% if %}`, a filter, an unknown
variable, a syntax error) reads as None: the editor leaves it in the plain text box.
"""

import re

from jinja2 import nodes

from app.messaging.render import VARIABLES, TemplateProblem, syntax_tree

Segment = dict[str, str]

# A "{" that would open a tag, a comment or an expression is written as an expression of its
# own, so what the merchant typed stays text.
_OPENS = re.compile(r"\{(?=[{%#])")
_BRACE = '{{ "{" }}'
# A fallback word is written between double quotes: none of these inside.
_NOT_IN_FALLBACK = re.compile(r'["\\{}]')


def _text(value: object) -> Segment | None:
    return {"text": value} if isinstance(value, str) else None


def _segment(node: nodes.Node) -> Segment | None:
    if isinstance(node, nodes.TemplateData):
        return _text(node.data)
    if isinstance(node, nodes.Const):  # a literal, such as an escaped brace
        return _text(node.value)
    if isinstance(node, nodes.Name) and node.name in VARIABLES:
        return {"var": node.name}
    if (isinstance(node, nodes.Or) and isinstance(node.left, nodes.Name)
            and node.left.name in VARIABLES and isinstance(node.right, nodes.Const)
            and isinstance(node.right.value, str)
            and not _NOT_IN_FALLBACK.search(node.right.value)):
        if not node.right.value:  # `or ""` says what the variable alone says
            return {"var": node.left.name}
        return {"var": node.left.name, "fallback": node.right.value}
    return None


def _read(source: str) -> list[Segment] | None:
    try:
        tree = syntax_tree(source)
    except (TemplateProblem, RecursionError):
        return None
    segments: list[Segment] = []
    for output in tree.body:
        if not isinstance(output, nodes.Output):
            return None
        for node in output.nodes:
            segment = _segment(node)
            if segment is None:
                return None
            if "text" in segment and segments and "text" in segments[-1]:
                segments[-1] = {"text": segments[-1]["text"] + segment["text"]}
            else:
                segments.append(segment)
    return [s for s in segments if s.get("text") != ""]


def segments_of(source: str) -> list[Segment] | None:
    """The template as words and chips, or None when chips cannot say it exactly."""
    if "{#" in source:  # a comment: chips would drop it, so the text box keeps it
        return None
    segments = _read(source)
    # Written back, it must read the same (a safeguard: the editor saves what it writes).
    if segments is None or _read(template_of(segments)) != segments:
        return None
    return segments


def _escaped(text: str, *, before_tag: bool) -> str:
    text = _OPENS.sub(_BRACE, text)
    if before_tag and text.endswith("{"):
        text = text[:-1] + _BRACE
    return text


def template_of(segments: list[Segment]) -> str:
    """The template the segments say, as the API stores it."""
    out = []
    for i, segment in enumerate(segments):
        if "text" in segment:
            before_tag = i + 1 < len(segments)
            out.append(_escaped(segment["text"], before_tag=before_tag))
        elif segment.get("fallback"):
            out.append(f'{{{{ {segment["var"]} or "{segment["fallback"]}" }}}}')
        else:
            out.append(f'{{{{ {segment["var"]} }}}}')
    return "".join(out)
