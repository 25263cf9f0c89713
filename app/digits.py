"""Digits as people type and read them: Persian (۰–۹) and Arabic-Indic (٠–٩) digits are read
as Latin everywhere input arrives, and shown as Persian wherever a person reads a number."""

_LATIN = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "0123456789" * 2)
_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def latin_digits(text: str) -> str:
    """«۰۹۱۲» or «٠٩١٢» → "0912"; everything else is left as it is."""
    return text.translate(_LATIN)


# Thousands separators people type between digits: «۱۲۰٬۰۰۰», "120,000", "120 000".
_SEPARATORS = str.maketrans("", "", ",٬_ \u200c\u00a0")


def typed_number(value):
    """A number a person typed, for a validator to read: «۱۲۰٬۰۰۰», "١٢", "12", «۲٫۵» or 12
    (Persian, Arabic-Indic or Latin digits, thousands separators allowed, «٫» or "." before
    decimals); a boolean is no number (ValueError)."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, str):
        return latin_digits(value).translate(_SEPARATORS).replace("٫", ".")
    return value


def persian_digits(value) -> str:
    """12 → «۱۲» (any value, as its str)."""
    return str(value).translate(_PERSIAN)


def persian_number(value: float, decimals: int = 0) -> str:
    """12345.6 → «۱۲٬۳۴۵٫۶»: Persian digits, «٬» between thousands and «٫» before the decimals
    (never a Latin "," or "."). A whole number (or decimals=0) shows no decimals."""
    text = f"{value:,.{decimals}f}" if decimals else f"{round(value):,}"
    return persian_digits(text.replace(",", "٬").replace(".", "٫"))
