"""What shoppers type, made safe to put in an SMS sent from a store's (or the platform's) line.

A checkout's name field is free text: a 200-character "name" carrying a link, sent back to a
phone the same person typed, is a phishing SMS from a trusted sender. So a name that carries a
link, an e-mail address or a long run of digits is dropped (the template's fallback is used:
`{{ first_name or "مشتری" }}`), and so is one too long to be a name. Other free text (a survey
comment echoed to the merchant, item names) keeps its words and loses its links. Control and
bidi override characters go everywhere: they can make a text read differently than it is.
"""

import re
import unicodedata

MAX_NAME = 30

# Explicit direction marks, embeddings, overrides and isolates (U+200E, U+200F, U+061C,
# U+202A–U+202E, U+2066–U+2069), zero-width spaces and the BOM. The zero-width non-joiner
# (U+200C) stays: Persian words need it («می‌خواهم»).
_INVISIBLE = dict.fromkeys([0x061C, 0x200B, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF,
                            *range(0x202A, 0x202F), *range(0x2066, 0x206A)])

_LINK = re.compile(
    r"[a-z][a-z0-9+.\-]*://\S*"              # any scheme: https://…, tg://…
    r"|www\.\S*"                              # www.example
    r"|(?:[^\s./@:]+[.。٫])+"                  # label.label.
    r"(?:[a-z]{2,24}|xn--[a-z0-9\-]+)\b(?:[/?#:]\S*)?",  # … tld, and a path
    re.IGNORECASE)
_EMAIL = re.compile(r"\S+@\S+")
# Five digits or more, in any script, with spaces, dashes or dots between them: phone
# numbers, card numbers, codes.
_DIGITS = re.compile(r"\d(?:[\s\-.]*\d){4,}")


def _visible(text: str) -> str:
    """Without controls (line breaks become spaces) and direction overrides, spaces collapsed."""
    text = "".join(" " if unicodedata.category(c) == "Cc" else c
                   for c in text.translate(_INVISIBLE))
    return " ".join(text.split())


def carries_contact(text: str) -> bool:
    """Whether the text has a link, an e-mail address or a phone-like run of digits."""
    return bool(_LINK.search(text) or _EMAIL.search(text) or _DIGITS.search(text))


def clean_name(raw: str | None, *, limit: int = MAX_NAME) -> str:
    """A shopper's name fit for an SMS, or "" (the template's fallback) when it is not a name."""
    name = _visible(raw or "")
    if len(name) > limit or carries_contact(name):
        return ""
    return name


def clean_text(raw: str | None, *, limit: int | None = None) -> str:
    """Free text with its links, e-mail addresses and phone-like digits taken out, capped at
    `limit` characters (an ellipsis marks the cut)."""
    text = _visible(raw or "")
    for pattern in (_EMAIL, _LINK, _DIGITS):
        text = pattern.sub(" ", text)
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[:limit - 1].rstrip() + "…"
    return text


def strip_invisible(raw: str | None) -> str:
    """Without control and bidi override characters, as a name is stored at ingest."""
    return _visible(raw or "")
