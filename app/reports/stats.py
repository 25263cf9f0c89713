"""Is one A/B variant really better, or is it luck? A two-proportion z-test.

Each variant is a number of messages sent and how many of them succeeded (were clicked, or
brought an order). The leader is the variant with the highest rate; it is compared with every
other variant, and the lead counts as significant when the weakest of those comparisons has a
two-sided p-value below ALPHA / (variants − 1) (Bonferroni: more variants, more chances of a
lucky lead). The normal approximation behind the test needs enough messages and enough
successes and failures: below that the answer is "not enough data", without a p-value.
"""

import math
from dataclasses import dataclass

ALPHA = 0.05
MIN_SENT = 100       # messages per variant
MIN_EXPECTED = 5     # expected successes and failures per variant under "no difference"

NOT_ENOUGH_DATA = "not_enough_data"
NOT_SIGNIFICANT = "not_significant"
SIGNIFICANT = "significant"


@dataclass(frozen=True)
class Arm:
    name: str | None
    sent: int
    successes: int

    @property
    def rate(self) -> float:
        return self.successes / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class Verdict:
    leader: str | None     # None: no variant leads (a tie, or nothing sent)
    verdict: str
    p_value: float | None
    z: float | None
    alpha: float            # the threshold the p-value was held to

    def out(self) -> dict:
        return {"leader": self.leader, "verdict": self.verdict,
                "significant": self.verdict == SIGNIFICANT,
                "p_value": None if self.p_value is None else round(self.p_value, 6),
                "z": None if self.z is None else round(self.z, 3), "alpha": round(self.alpha, 6)}


def two_proportion_z(a: Arm, b: Arm) -> tuple[float, float]:
    """(z, two-sided p-value) for a's rate against b's, with the pooled standard error."""
    pooled = (a.successes + b.successes) / (a.sent + b.sent)
    se = math.sqrt(pooled * (1 - pooled) * (1 / a.sent + 1 / b.sent))
    if se == 0:  # both 0% or both 100%: no difference to see
        return 0.0, 1.0
    z = (a.rate - b.rate) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def _enough(arms: list[Arm]) -> bool:
    sent = sum(a.sent for a in arms)
    if sent == 0:
        return False
    pooled = sum(a.successes for a in arms) / sent
    return all(a.sent >= MIN_SENT and a.sent * pooled >= MIN_EXPECTED
               and a.sent * (1 - pooled) >= MIN_EXPECTED for a in arms)


def compare(arms: list[Arm]) -> Verdict:
    """Which variant leads, and whether the lead is significant yet."""
    alpha = ALPHA / max(len(arms) - 1, 1)
    ranked = sorted(arms, key=lambda a: a.rate, reverse=True)
    tied = len(ranked) < 2 or ranked[0].rate == ranked[1].rate or ranked[0].sent == 0
    leader = None if tied else ranked[0]
    if len(arms) < 2 or not _enough(arms):
        return Verdict(leader and leader.name, NOT_ENOUGH_DATA, None, None, alpha)
    if leader is None:
        return Verdict(None, NOT_SIGNIFICANT, 1.0, 0.0, alpha)
    # The weakest comparison decides: the leader must beat every other variant.
    z, p = min((two_proportion_z(leader, other) for other in ranked[1:]), key=lambda zp: zp[0])
    return Verdict(leader.name, SIGNIFICANT if p < alpha else NOT_SIGNIFICANT, p, z, alpha)
