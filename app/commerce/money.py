"""Money from WooCommerce: decimal strings in the store's currency, kept as integers.

Iranian stores price in rial (IRR), toman (IRT = 10 rial), or the plugin-added thousand-rial
(IRHR) and thousand-toman (IRHT) units. Every amount is stored as an integer number of rial with
the original currency beside it; any other currency is stored in its minor unit (cents).
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CURRENCY_RIAL_FACTOR = {"IRR": 1, "IRT": 10, "IRHR": 1_000, "IRHT": 10_000}
_MINOR_UNIT_FACTOR = 100
# Far above any real order (10^15 rial), far below what a BIGINT column holds.
_LIMIT = 10**15


class InvalidAmount(ValueError):
    pass


def _factor(currency: str) -> int:
    return CURRENCY_RIAL_FACTOR.get(currency.upper(), _MINOR_UNIT_FACTOR)


def decimal_places(currency: str) -> int:
    """How many decimals an amount typed in this currency may have and still be a whole number
    of what is stored: IRR 0, IRT 1 (a rial is a tenth of a toman), IRHR 3, IRHT 4, a foreign
    currency 2 (cents)."""
    return len(str(_factor(currency))) - 1  # every factor is a power of ten


def to_minor(amount: str | int | float | Decimal | None, currency: str) -> int | None:
    """'2200000' IRT → 22000000 (rial); '29.35' USD → 2935 (cents); '' or None → None."""
    if amount is None or (isinstance(amount, str) and not amount.strip()):
        return None
    if isinstance(amount, bool):
        raise InvalidAmount(f"not an amount: {amount!r}")
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise InvalidAmount(f"not an amount: {amount!r}") from None
    if not value.is_finite():
        raise InvalidAmount(f"not an amount: {amount!r}")
    if value.copy_abs() >= _LIMIT:  # quiet: abs() would overflow the context for 1e999999999
        raise InvalidAmount(f"amount out of range: {amount!r}")
    return int((value * _factor(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
