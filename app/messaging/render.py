"""Render SMS texts from merchant-editable Jinja templates, in a sandbox."""

from functools import lru_cache
from pathlib import Path

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

_env = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False)


def default_template(name: str) -> str:
    return (TEMPLATES / "sms" / f"{name}.txt").read_text(encoding="utf-8").strip()


@lru_cache(maxsize=1024)
def _compiled(source: str):
    return _env.from_string(source)


def render(source: str, context: dict) -> str:
    return " ".join(_compiled(source).render(context).split())
