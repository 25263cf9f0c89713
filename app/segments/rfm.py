"""RFM scores: recency, frequency and monetary, each 1 to 5, by quintiles within the store's
buyers.

The buyers are every contact of the store with at least one paid order (opted-out ones too, so
that a customer's score does not move when someone else opts out). For each dimension a buyer's
value is: recency, the time of their last paid order (later is better); frequency, their paid
orders; monetary, what those came to net of refunds. With n buyers, and `below` the number of
buyers whose value is strictly lower than theirs:

    score = 1 + floor(5 * below / n)

so the lowest fifth scores 1 and the highest fifth 5, and buyers with equal values always share
a score (the one of the lowest of them)."""

from bisect import bisect_left
from dataclasses import dataclass

from app.segments.facts import Purchases


@dataclass(frozen=True)
class Scores:
    recency: int
    frequency: int
    monetary: int


def quintiles(values: dict[int, float]) -> dict[int, int]:
    """Each key's score, 1 to 5, among all the values (see the module's doc)."""
    ordered = sorted(values.values())
    n = len(ordered)
    return {key: 1 + 5 * bisect_left(ordered, value) // n for key, value in values.items()}


def scores(buyers: dict[int, Purchases]) -> dict[int, Scores]:
    recency = quintiles({c: p.last_at.timestamp() for c, p in buyers.items()})
    frequency = quintiles({c: p.orders for c, p in buyers.items()})
    monetary = quintiles({c: p.spent for c, p in buyers.items()})
    return {c: Scores(recency[c], frequency[c], monetary[c]) for c in buyers}
