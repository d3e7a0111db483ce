"""The month's numbers (`mart_monthly_kpis.sql`): the same for 总览, `kpis` and the monthly report.

The mart holds integer counts per month × district × hospital × specialty × metric; everything
here sums those rows over a district (or the city) and derives rates from the summed numerator
and denominator, so no caller computes a number of its own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines.config import Profile
from pipelines.errors import DataError
from pipelines.rules.engine import run
from pipelines.rules.graph import execute

# counts every month has (0 when no row), in the order `kpis` writes them
COUNTS = [
    "cases_submitted",
    "cases_decided",
    "cases_approved",
    "tasks_pushed",
    "accept_due",
    "accept_on_time",
    "complete_due",
    "complete_on_time",
    "strikes_sms",
    "strikes_notify_hospital",
    "strikes_disqualify",
    "strikes_after_disqualified",
    "experts_disqualified",
    "fee_reviews",
    "fee_yuan",
]
# rate → (numerator, denominator)
RATES = {
    "approval_rate": ("cases_approved", "cases_decided"),
    "accept_on_time_rate": ("accept_on_time", "accept_due"),
    "complete_on_time_rate": ("complete_on_time", "complete_due"),
    # Taiyuan (mart_ty_monthly_kpis)
    "cycle_on_time_rate": ("cycle_on_time", "cycle_due"),
    "publicity_rate": ("publicity_ok", "quota_certified"),
    "entry_on_time_rate": ("entry_on_time", "entry_due"),
    "panel_rate": ("panel_ok", "quota_certified"),
    "recert_on_time_rate": ("recerts_on_time", "recerts_due"),
}
# Taiyuan's counts (mart_ty_monthly_kpis), in the order `kpis --profile taiyuan` writes them
TY_COUNTS = [
    "quota_certified",
    "cycle_due",
    "cycle_on_time",
    "publicity_ok",
    "entry_due",
    "entry_on_time",
    "panel_ok",
    "recerts",
    "recerts_due",
    "recerts_on_time",
    "sanctions_new",
    "sanctions_in_force",
    "sanctions_ending",
]
# CONTRACT `kpis`: "at least" these, under every profile (Taiyuan keeps Zhengzhou's expert
# deadlines and fee so the shared pipelines run: its experts' strikes and fees are real numbers)
CONTRACT_METRICS = [
    "strikes_sms",
    "strikes_notify_hospital",
    "strikes_disqualify",
    "strikes_after_disqualified",
    "fee_reviews",
    "fee_yuan",
]
VIOLATION_PREFIX = "violations:"
KPI_COLUMNS = ["metric", "value"]


@dataclasses.dataclass(frozen=True)
class Shape:
    """Which mart holds a profile's monthly numbers, its counts and its rates (in `kpis` order)."""

    mart: str
    counts: list[str]
    rates: list[str]


ZZ_SHAPE = Shape("mart_monthly_kpis", COUNTS, list(RATES)[:3])
TY_SHAPE = Shape("mart_ty_monthly_kpis", TY_COUNTS, list(RATES)[3:])


def shape(profile: Profile) -> Shape:
    """Taiyuan's numbers under a profile that enables the Taiyuan rules, else Zhengzhou's."""
    return TY_SHAPE if profile.data.get("taiyuan_rules", {}).get("enabled") else ZZ_SHAPE


def kpi_rows(
    con: duckdb.DuckDBPyConnection,
    profile: Profile,
    as_of: dt.datetime | None,
    *,
    month: str | None = None,
    district: str | None = None,
) -> pa.Table:
    """The mart's rows for one month and/or district (None: all)."""
    where = {k: v for k, v in {"month": month, "district": district}.items() if v is not None}
    return run(con, shape(profile).mart, profile, as_of, where=where)


def by_month(rows: pa.Table) -> dict[str, dict[str, int]]:
    """month → metric → summed value."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for month, metric, value in zip(
        rows["month"].to_pylist(),
        rows["metric"].to_pylist(),
        rows["value"].to_pylist(),
        strict=True,
    ):
        out[month][metric] += value
    return out


def rate(sums: dict[str, int], name: str) -> float | None:
    """A rate from summed counts (exact; `kpis` writes 4 decimals); None when its denominator is 0."""
    num, den = RATES[name]
    return sums.get(num, 0) / sums[den] if sums.get(den) else None


def with_rates(frame: pd.DataFrame, labels: dict[str, str], after: str) -> pd.DataFrame:
    """A frame of summed counts (columns named as in RATES) with each rate of `labels` (rate name →
    column label) as a percentage to one decimal inserted after column `after`, its counts dropped:
    the pages' rates come from the same definition as `rate` (None/NaN when nothing is due)."""
    out = frame.copy()
    at = out.columns.get_loc(after) + 1
    for i, (name, label) in enumerate(labels.items()):
        num, den = (out[c].astype("float64") for c in RATES[name])
        out.insert(at + i, label, (100 * num / den.where(den > 0)).round(1))
    return out.drop(columns=list(dict.fromkeys(c for n in labels for c in RATES[n])))


def metrics(sums: dict[str, int], kind: Shape = ZZ_SHAPE) -> list[tuple[str, Any]]:
    """(metric, value) of one month in `kpis` order: the profile's counts, its rates, the
    violations in all and per rule (`violations:ZZ-ACCEPT`, rules with none left out)."""
    out: list[tuple[str, Any]] = [(m, sums.get(m, 0)) for m in kind.counts]
    out += [(name, rate(sums, name)) for name in kind.rates]
    rules = sorted(m for m in sums if m.startswith(VIOLATION_PREFIX))
    out.append(("violations", sum(sums[m] for m in rules)))
    out += [(m, sums[m]) for m in rules]
    return out


def month_kpis(
    con: duckdb.DuckDBPyConnection,
    profile: Profile,
    as_of: dt.datetime | None,
    month: str,
    district: str | None = None,
) -> list[tuple[str, Any]]:
    """The month's numbers for the district (None: the city), as `kpis` writes them."""
    sums = by_month(kpi_rows(con, profile, as_of, month=month, district=district)).get(month, {})
    out = metrics(sums, shape(profile))
    if shape(profile) is not ZZ_SHAPE:  # the contract's strikes and fees follow the profile's own
        where = {"month": month} | ({"district": district} if district else {})
        zz = by_month(run(con, ZZ_SHAPE.mart, profile, as_of, where=where)).get(month, {})
        out += [(m, zz.get(m, 0)) for m in CONTRACT_METRICS]
    return out


def month_table(pairs: list[tuple[str, Any]]) -> pa.Table:
    """(metric, value) pairs as the `kpis` table (values as the contract writes them)."""
    return pa.table(
        {
            "metric": [m for m, _ in pairs],
            "value": [
                None if v is None else str(round(v, 4) if isinstance(v, float) else v)
                for _, v in pairs
            ],
        }
    )


def rule_names(profile: Profile) -> dict[str, str]:
    """Rule ids of shared/RULES.md with a short Chinese name (pages and the monthly report)."""
    d = profile["deadlines"]
    return {
        "ZZ-ACCEPT": f"推送后{d['accept_hours']}小时内响应",
        "ZZ-COMPLETE": f"受理后{d['complete_workdays']}个工作日内办结",
        "ZZ-STRIKE-AFTER": "取消资格后仍被推送任务",
        "ZZ-ASSIGN": f"每件由{profile['assign']['experts_per_case']}名专家鉴定",
        "ZZ-VERDICT": "鉴定结果与专家意见不一致",
        "ZZ-REAPPLY": "病历重复申报同一病种",
        "ZZ-UPLOAD": "病历上传不符合要求",
        "ZZ-EXPERT-QUAL": "在库专家不符合资格要求",
        "ZZ-BENEFIT": "待遇开始时间不符",
        "TY-CYCLE": "申报至享受待遇超过时限",
        "TY-PUBLICITY": "定额病种公示不足或未公示",
        "TY-ENTRY": "公示期满后未按时录入",
        "TY-BENEFIT": "待遇未自录入次月1日起",
        "TY-RECERT": "重新认定超过时限",
        "TY-PANEL": "认定专家组不符合要求",
        "TY-PENALTY": "暂停或取消期间仍认定、签署意见",
    }


def loaded_cases(con: duckdb.DuckDBPyConnection) -> int:
    """How many cases are loaded (0: nothing to show yet)."""
    return con.execute("select count(*) from stg_cases").fetchone()[0]


def loaded_totals(con: duckdb.DuckDBPyConnection, district: str | None) -> dict[str, Any]:
    """What is loaded for the district (None: the city), as 总览's header shows it: hospitals,
    experts, cases, tasks, decided and approved cases, the first and last submission, and the
    quarantined rows (city only: a raw line has no trustworthy district; None for a district)."""
    row = con.execute(
        """
        with h as (select * from stg_hospitals where ? is null or district = ?),
        e as (select e.* from stg_experts as e inner join h using (hospital_id)),
        c as (select c.* from stg_cases as c inner join h using (hospital_id))
        select
            (select count(*) from h) as hospitals,
            (select count(*) from e) as experts,
            (select count(*) from c) as cases,
            (select count(*) from stg_tasks as t inner join e using (expert_id)) as tasks,
            (select count(*) from c where outcome = '符合') as approved,
            (select count(*) from c where outcome is not null) as decided,
            (select count(*) from quarantine where ? is null) as quarantined,
            (select min(submitted_at) from c) as first_at,
            (select max(submitted_at) from c) as last_at
        """,
        [district, district, district],
    )
    out = dict(zip([d[0] for d in row.description], row.fetchone(), strict=True))
    if district is not None:
        out["quarantined"] = None
    return out


def check_district(con: duckdb.DuckDBPyConnection, district: str | None) -> None:
    """DataError naming the district when no loaded hospital belongs to it."""
    if district is None:
        return
    query = "select count(*) from stg_hospitals where district = $district"
    found = execute(con, query, {"district": district})
    if not found.fetchone()[0]:
        known = [r[0] for r in con.execute(
            "select distinct district from stg_hospitals where district is not null order by 1"
        ).fetchall()]  # fmt: skip
        raise DataError(f"区县「{district}」没有已导入的医院；已有区县：{'、'.join(known) or '无'}")
