"""Sample size for a precision (RULES "What a spot check tells", planning).

For an expected rate p0 and a half-width d at confidence C, per hospital
`n0 = z²·p0(1−p0)/d²`, `n = ceil(n0 / (1 + (n0 − 1)/N_h))`, never below the ZZ-SPOTCHECK minimum
`ceil(min_rate × N_h)` nor above N_h. z = `statistics.NormalDist().inv_cdf((1 + C) / 2)` in
binary floating point, computed in exactly this order by tools/verify_draw.py too, so anyone
re-derives the same k per hospital from the parameters a draw records.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from decimal import Decimal
from statistics import NormalDist
from typing import Any

import duckdb

from pipelines.config import Profile
from pipelines.draws.engine import table_strata_sizes
from pipelines.draws.keys import parse_rate, quota
from pipelines.errors import UsageError


def _share(text: str | Decimal, what: str) -> Decimal:
    """A share strictly between 0 and 1 ("0.05" or "5%"), named in the message when wrong."""
    try:
        value = parse_rate(str(text))
    except UsageError:
        value = None
    if value is None or value >= 1:
        raise UsageError(f"{what} {text!r} 应在 0 与 1 之间（不含 0 和 1），如 0.05 或 5%")
    return value


@dataclasses.dataclass(frozen=True)
class Precision:
    """The planning parameters: expected rate p0, half-width d, confidence C, floor rate."""

    expected_rate: Decimal
    half_width: Decimal
    confidence: Decimal
    min_rate: Decimal

    @classmethod
    def parse(
        cls, expected_rate: str, half_width: str, confidence: str | None, profile: Profile
    ) -> Precision:
        return cls(
            _share(expected_rate, "预期不合格率"),
            _share(half_width, "允许误差（区间半宽）"),
            _share(confidence or "0.90", "置信度"),
            parse_rate(str(profile["spot_check"]["min_rate"])),
        )

    def params(self) -> dict[str, str]:
        """As the draw record keeps it (text, so the verifier reads the same numbers)."""
        return {k: str(v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Precision:
        return cls(**{k: Decimal(params[k]) for k in ("expected_rate", "half_width",
                                                      "confidence", "min_rate")})  # fmt: skip

    def n(self, frame_n: int) -> int:
        """The sample size of a hospital with frame_n approved cases."""
        z = NormalDist().inv_cdf((1 + float(self.confidence)) / 2)
        p, d = float(self.expected_rate), float(self.half_width)
        n0 = z * z * p * (1 - p) / (d * d)
        n = math.ceil(n0 / (1 + (n0 - 1) / frame_n))
        return min(frame_n, max(quota(self.min_rate, frame_n), n))

    def describe(self) -> str:
        from pipelines.draws.spotcheck import percent

        return (
            f"按精度确定样本量：预期不合格率 {percent(self.expected_rate)}，允许误差 ±"
            f"{percent(self.half_width)}，置信度 {percent(self.confidence)}；每院 n = ceil(n0 / "
            f"(1 + (n0 − 1)/N))，n0 = z²·p(1−p)/d²，不低于 ceil({percent(self.min_rate)} × N)"
        )


def plan_sample(
    con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date, precision: Precision
) -> list[tuple[str, int, int]]:
    """(hospital_id, frame_n, n) per hospital of the period's approved cases."""
    from pipelines.draws.spotcheck import approved_case_table, case_members

    sizes = table_strata_sizes(case_members(approved_case_table(con, date_from, date_to)))
    return [(h, n, precision.n(n)) for h, n in sizes.items()]
