"""How many SMS parts a text costs: GSM-7 160/153 per part, UCS-2 (any Persian letter) 70/67."""

import math
from dataclasses import dataclass

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

GSM_SINGLE, GSM_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


@dataclass(frozen=True)
class Segments:
    encoding: str  # "gsm7" or "ucs2"
    units: int     # septets for GSM-7 (extension characters count two), UTF-16 units for UCS-2
    parts: int

    @property
    def per_part(self) -> int:
        single, multi = (GSM_SINGLE, GSM_MULTI) if self.encoding == "gsm7" else (UCS2_SINGLE, UCS2_MULTI)
        return single if self.parts <= 1 else multi


# The gsm03.38 codec takes time quadratic in the length it is given: fed in slices, linear.
_SLICE = 256


def _gsm_septets(text: str) -> int:
    return sum(len(text[i:i + _SLICE].encode("gsm03.38")) for i in range(0, len(text), _SLICE))


def count_segments(text: str) -> Segments:
    try:
        units, encoding, single, multi = _gsm_septets(text), "gsm7", GSM_SINGLE, GSM_MULTI
    except UnicodeEncodeError:
        units = len(text.encode("utf-16-le")) // 2
        encoding, single, multi = "ucs2", UCS2_SINGLE, UCS2_MULTI
    parts = 1 if units <= single else math.ceil(units / multi)
    return Segments(encoding, units, parts)
