"""The panel's own static files (app/dashboard/static/): CSS, JavaScript and the Vazirmatn font,
served at /panel/static/ with no CDN (stores' admins may be where foreign CDNs are slow or
blocked). Each URL carries a version (a hash of the content), so browsers keep a file a year
and still see a new one. The customers' pages (app/pages.py) use the font too: this module
stands apart from the panel's package so that they need nothing else of it.

A stylesheet's references to other files here (`url("fonts/….woff2")`) are rewritten to their
versioned URLs: the font the CSS asks for is the very URL the page preloads, and kept a year.
"""

import hashlib
import re
from functools import lru_cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "dashboard" / "static"
PREFIX = "/panel/static/"
FONT = "fonts/Vazirmatn-Variable.woff2"  # the one font file: every weight, Persian and Latin

TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".svg": "image/svg+xml", ".woff2": "font/woff2"}

_REFERENCE = re.compile(r'url\("([a-z0-9][\w./-]*)"\)')


def _version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


@lru_cache(maxsize=1)
def assets() -> dict[str, tuple[bytes, str, str]]:
    """"fonts/x.woff2" → (content, media type, version): a handful of files, read once."""
    found: dict[str, tuple[bytes, str, str]] = {}
    paths = [p for p in sorted(STATIC.rglob("*")) if p.suffix in TYPES]
    for path in sorted(paths, key=lambda p: p.suffix == ".css"):  # stylesheets last
        data = path.read_bytes()
        if path.suffix == ".css":
            data = _REFERENCE.sub(lambda m: f'url("{_url(found, m[1])}")',
                                  data.decode()).encode()
        found[path.relative_to(STATIC).as_posix()] = (data, TYPES[path.suffix], _version(data))
    return found


def _url(found: dict, name: str) -> str:
    if name not in found:
        raise LookupError(f"a stylesheet refers to {name}, which is not in {STATIC}")
    return f"{PREFIX}{name}?v={found[name][2]}"


def asset_url(name: str) -> str:
    return _url(assets(), name)
