"""What a spot check tells (shared/RULES.md "What a spot check tells"): estimates with confidence.

From the latest findings of a random case draw (ZZ-SPOTCHECK `spot_check` or TY-REVIEW
`review_cases`), per hospital h (the draw's strata) and for the population: the improper rate
with its exact Clopper–Pearson interval, the projected improper approvals and the projected
amount to recover (估算风险金额) with their stratified intervals. The sums per hospital (N_h, n_h,
x_h, Σy, Σy²) come from SQL (draw_appraise_strata.sql); only the per-stratum formula is here.

Choices where RULES is silent: a hospital with no checked pick is reported (its row has no
estimate) and left out of the population row, whose frame_n is the frame the estimate speaks for
(the hospitals with at least one checked pick). z is `statistics.NormalDist().inv_cdf`, the same
the stand-alone verifier uses for planned sample sizes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from decimal import Decimal
from statistics import NormalDist
from typing import TYPE_CHECKING

import duckdb
from scipy import stats

from pipelines.draws import log
from pipelines.draws.findings import _query
from pipelines.draws.keys import parse_rate
from pipelines.draws.spotcheck import percent
from pipelines.errors import UsageError

if TYPE_CHECKING:
    pass

DEFAULT_CONFIDENCE = Decimal("0.90")
ALL = "ALL"
COLUMNS = [
    "hospital_id",
    "frame_n",
    "checked_n",
    "improper_n",
    "rate",
    "rate_low",
    "rate_high",
    "projected_improper",
    "projected_low",
    "projected_high",
    "found_yuan",
    "projected_yuan",
    "yuan_low",
    "yuan_high",
]
RATE_COLUMNS = ("rate", "rate_low", "rate_high")
FORMULAS = (
    "N_h：医院 h 期间内鉴定通过件数（冻结名单）；n_h：已录入抽查结论的随机抽中件数（未录入的不计入）；"
    "x_h：其中不合格件数；y_hi：抽中病例 i 的追回金额（合格为 0）；C：置信度（默认 90%）；"
    "z：标准正态分布 (1+C)/2 分位数（90% 时 z = 1.644854）。",
    "各医院不合格率 p_h = x_h / n_h，精确（Clopper–Pearson）区间：下限 = BetaInv((1−C)/2; x, n−x+1)"
    "（x = 0 时为 0），上限 = BetaInv((1+C)/2; x+1, n−x)（x = n 时为 1）。"
    "各医院估算不合格件数 = N_h × p_h，区间 = N_h × 上述上下限（下限不低于 x_h）。",
    "总体估算不合格件数 T = Σ N_h·x_h/n_h，方差 V = Σ N_h²·(1 − n_h/N_h)·p_h(1−p_h)/(n_h − 1)"
    "（仅 n_h ≥ 2 的医院），区间 T ± z·√V，下限不低于 Σ x_h；总体不合格率 = T / ΣN_h。",
    "估算风险金额 Y = Σ N_h·ybar_h（ybar_h = Σ_i y_hi / n_h，抽中病例追回金额的均值），方差 Σ N_h²·(1 − n_h/N_h)·s_h²/n_h（s_h² 为样本方差，除以 n_h − 1），"
    "区间 Y ± z·√V，下限不低于已发现金额 Σ y_hi。追回仍逐案进行，估算金额仅反映风险规模。",
    "尚无抽查结论的医院单列说明，不纳入总体估计；明察暗访等定向抽取的病例不参与估计。",
)


def parse_confidence(text: str | Decimal | None) -> Decimal:
    """0.90, "90%" or "0.95" → Decimal; must lie strictly between 0 and 1."""
    if text is None or str(text).strip() == "":
        return DEFAULT_CONFIDENCE
    try:
        value = parse_rate(str(text))
    except UsageError:
        value = None
    if value is None or value >= 1:
        raise UsageError(f"置信度 {text!r} 应在 0 与 1 之间（不含 1），如 0.90 或 90%")
    return value


def z_value(confidence: Decimal | float) -> float:
    """The standard normal quantile at (1 + C) / 2 (two-sided confidence C)."""
    return NormalDist().inv_cdf((1 + float(confidence)) / 2)


def clopper_pearson(x: int, n: int, confidence: Decimal | float) -> tuple[float, float]:
    """The exact interval of a rate x / n: BetaInv((1−C)/2; x, n−x+1) … BetaInv((1+C)/2; x+1, n−x)."""
    c = float(confidence)
    low = 0.0 if x == 0 else float(stats.beta.ppf((1 - c) / 2, x, n - x + 1))
    high = 1.0 if x == n else float(stats.beta.ppf((1 + c) / 2, x + 1, n - x))
    return low, high


@dataclasses.dataclass(frozen=True)
class Stratum:
    """The sums of one hospital: frame, picks drawn / checked, 不合格, Σy and Σy² in fen."""

    hospital_id: str
    hospital_name: str | None
    frame_n: int
    drawn_n: int
    checked_n: int
    improper_n: int
    sum_fen: int
    sum_fen2: int

    @property
    def unchecked_n(self) -> int:
        return self.drawn_n - self.checked_n

    @property
    def fpc(self) -> float:
        """N_h² (1 − n_h / N_h): the weight of a stratum's variance term."""
        return self.frame_n**2 * (1 - self.checked_n / self.frame_n)

    def rate_variance(self) -> float:
        """N_h² (1 − n_h/N_h) p_h (1 − p_h) / (n_h − 1); 0 under two checked picks."""
        n = self.checked_n
        if n < 2:
            return 0.0
        p = self.improper_n / n
        return self.fpc * p * (1 - p) / (n - 1)

    def yuan_variance(self) -> float:
        """N_h² (1 − n_h/N_h) s_h² / n_h, s_h² the sample variance (exact in fen², then yuan²)."""
        n = self.checked_n
        if n < 2:
            return 0.0
        s2_fen = (n * self.sum_fen2 - self.sum_fen**2) / (n * (n - 1))
        return self.fpc * s2_fen / 10_000 / n


@dataclasses.dataclass(frozen=True)
class Estimate:
    """One output row (CONTRACT `appraise`); None where a value cannot be estimated."""

    hospital_id: str
    hospital_name: str | None
    frame_n: int
    checked_n: int
    improper_n: int
    rate: float | None
    rate_low: float | None
    rate_high: float | None
    projected_improper: float | None
    projected_low: float | None
    projected_high: float | None
    found_yuan: Decimal
    projected_yuan: float | None
    yuan_low: float | None
    yuan_high: float | None

    def row(self) -> list[str]:
        """The CSV row: rates 6 decimals, projected counts and yuan 2 decimals, blanks for None."""
        out = []
        for c in COLUMNS:
            v = getattr(self, c)
            if v is None or isinstance(v, str | int):
                out.append("" if v is None else str(v))
            else:
                out.append(f"{v:.6f}" if c in RATE_COLUMNS else f"{v:.2f}")
        return out


@dataclasses.dataclass(frozen=True)
class Appraisal:
    """The estimates of one draw at one confidence: per hospital, then the population."""

    draw_id: str
    kind: str
    confidence: Decimal
    strata: list[Stratum]
    hospitals: list[Estimate]
    total: Estimate

    @property
    def rows(self) -> list[Estimate]:
        return [*self.hospitals, self.total]

    @property
    def unchecked_n(self) -> int:
        return sum(s.unchecked_n for s in self.strata)

    @property
    def empty(self) -> list[Stratum]:
        """Hospitals with no checked pick: reported, left out of the population row."""
        return [s for s in self.strata if s.checked_n == 0]


def _interval(point: float, variance: float, z: float, floor: float) -> tuple[float, float]:
    half = z * math.sqrt(variance)
    return max(floor, point - half), point + half


def _yuan(strata: Sequence[Stratum], z: float) -> tuple[Decimal, float, float, float]:
    """Found Σy, and Y = Σ N_h ȳ_h with its interval (lower end never below Σy)."""
    found = Decimal(sum(s.sum_fen for s in strata)) / 100
    point = sum(s.frame_n * s.sum_fen / 100 / s.checked_n for s in strata)
    low, high = _interval(point, sum(s.yuan_variance() for s in strata), z, float(found))
    return found, point, low, high


def _blank(s: Stratum) -> Estimate:
    return Estimate(s.hospital_id, s.hospital_name, s.frame_n, 0, 0, *[None] * 6, Decimal("0.00"),
                    None, None, None)  # fmt: skip


def hospital_estimate(s: Stratum, confidence: Decimal, z: float) -> Estimate:
    """A hospital's row: the rate with Clopper–Pearson, N_h × those bounds, the amount on the stratum."""
    if s.checked_n == 0:
        return _blank(s)
    low, high = clopper_pearson(s.improper_n, s.checked_n, confidence)
    rate = s.improper_n / s.checked_n
    found, y, y_low, y_high = _yuan([s], z)
    return Estimate(
        s.hospital_id,
        s.hospital_name,
        s.frame_n,
        s.checked_n,
        s.improper_n,
        rate,
        low,
        high,
        s.frame_n * rate,
        max(float(s.improper_n), s.frame_n * low),
        s.frame_n * high,
        found,
        y,
        y_low,
        y_high,
    )


def population_estimate(strata: Sequence[Stratum], z: float) -> Estimate:
    """The ALL row: stratified T = Σ N_h p_h and Y = Σ N_h ȳ_h over hospitals with a checked pick."""
    used = [s for s in strata if s.checked_n > 0]
    frame = sum(s.frame_n for s in used)
    if not used:
        return _blank(Stratum(ALL, None, 0, 0, 0, 0, 0, 0))
    improper = sum(s.improper_n for s in used)
    t = sum(s.frame_n * s.improper_n / s.checked_n for s in used)
    t_low, t_high = _interval(t, sum(s.rate_variance() for s in used), z, float(improper))
    found, y, y_low, y_high = _yuan(used, z)
    return Estimate(ALL, "全部", frame, sum(s.checked_n for s in used), improper,
                    t / frame, t_low / frame, t_high / frame, t, t_low, t_high,
                    found, y, y_low, y_high)  # fmt: skip


def strata_sums(
    con: duckdb.DuckDBPyConnection, draw_id: str, district: str | None = None
) -> tuple[log.DrawRecord, list[Stratum]]:
    """The draw record and its per-hospital sums (frame from the frozen sizes, latest findings);
    with `district`, only that district's hospitals (filtered in SQL)."""
    import pyarrow as pa

    rec = log.get_record(con, draw_id)
    if rec.kind not in ("spot_check", "review_cases"):
        raise UsageError(
            f"记录 {draw_id} 是{log.KIND_LABEL.get(rec.kind, rec.kind)}，不是随机病例抽查，不能据此估计"
        )
    sizes = rec.params()["strata_sizes"]
    frame = pa.table(
        {
            "hospital_id": pa.array(list(sizes), pa.string()),
            "frame_n": pa.array(list(sizes.values()), pa.int64()),
        }
    )
    table = _query(
        con,
        draw_id,
        "draw_appraise_strata",
        {"draw_id": draw_id, "district": district},
        {"draw_frame": frame},
    )
    ints = ("sum_fen", "sum_fen2")  # HUGEINT arrives as Decimal(38, 0)
    rows = [{k: int(v) if k in ints else v for k, v in r.items()} for r in table.to_pylist()]
    return rec, [Stratum(**r) for r in rows]


def appraise(
    con: duckdb.DuckDBPyConnection,
    draw_id: str,
    confidence: str | Decimal | None = None,
    district: str | None = None,
) -> Appraisal:
    """The estimates of a draw from its latest findings (RULES "What a spot check tells"); with
    `district`, over that district's hospitals only, the district being the population."""
    c = parse_confidence(confidence)
    rec, strata = strata_sums(con, draw_id, district)
    z = z_value(c)
    return Appraisal(
        draw_id=draw_id,
        kind=rec.kind,
        confidence=c,
        strata=strata,
        hospitals=[hospital_estimate(s, c, z) for s in strata],
        total=population_estimate(strata, z),
    )


def _count(v: float) -> str:
    return f"{round(v):,}"


def headline(a: Appraisal) -> str:
    """The population figures in words a leader understands (one paragraph, Chinese)."""
    t = a.total
    said = f"抽查记录 {a.draw_id}"
    if a.unchecked_n:
        said += f"尚有 {a.unchecked_n:,} 件抽中病例未录入抽查结论（不计入估计）；"
    else:
        said += "的抽中病例均已录入抽查结论；"
    if t.checked_n == 0 or t.projected_improper is None:
        return said + "尚无可用于估计的抽查结论。"
    where = "鉴定通过的"
    if a.empty:
        names = "、".join(s.hospital_name or s.hospital_id for s in a.empty)
        where = f"已有抽查结论的 {len(a.strata) - len(a.empty)} 家医院鉴定通过的"
        said += f"{names} 尚无抽查结论，未纳入估计；"
    return said + (
        f"以 {percent(a.confidence)} 的把握，{where} {t.frame_n:,} 件中不合格约 "
        f"{_count(t.projected_improper)} 件（{_count(t.projected_low)} 至 {_count(t.projected_high)} 件），"
        f"不合格率约 {t.rate:.1%}（{t.rate_low:.1%} 至 {t.rate_high:.1%}）；"
        f"估算风险金额约 {t.projected_yuan:,.0f} 元（{t.yuan_low:,.0f} 至 {t.yuan_high:,.0f} 元），"
        f"抽查已发现应追回 {t.found_yuan:,.2f} 元。"
    )
