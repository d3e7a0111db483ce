"""ZZ-SPOTCHECK: draw at least 10% of the approved cases of a period, per submitting hospital.

Population: cases with outcome 符合 whose decided_at falls on a date from `date_from` to `date_to`
inclusive. Strata: the submitting hospital. Per hospital k = ceil(rate × n) with exact decimals,
so every hospital and the whole city are at or above the rate. The rate may not be below the
profile's `spot_check.min_rate`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pyarrow as pa

from pipelines.config import Profile
from pipelines.db import sql
from pipelines.draws.engine import (
    DrawResult,
    FrozenPopulation,
    draw,
    freeze_population,
    table_strata_sizes,
)
from pipelines.draws.keys import normalize_seed, parse_rate, quota
from pipelines.draws.plan import Precision
from pipelines.errors import UsageError


def percent(rate: Decimal) -> str:
    """0.1 → "10%", 0.125 → "12.5%"."""
    text = format((rate * 100).normalize(), "f")
    return f"{text}%"


def rule_text(params: dict) -> str:
    """How k per hospital was fixed, in words: the flat rate or the precision plan."""
    if "precision" in params:
        return Precision.from_params(params["precision"]).describe()
    return f"抽查比例 {percent(Decimal(params['rate']))}"


def check_rate(rate: str | Decimal, profile: Profile) -> Decimal:
    """The rate as an exact Decimal; below the profile's minimum is refused (ZZ-SPOTCHECK)."""
    value = parse_rate(rate)
    minimum = Decimal(str(profile["spot_check"]["min_rate"]))
    if value < minimum:
        raise UsageError(
            f"抽查比例 {percent(value)} 低于{profile.label}规则要求的最低比例 {percent(minimum)}"
            f"（ZZ-SPOTCHECK：对鉴定通过的病例抽查不低于 {percent(minimum)}），请提高比例"
        )
    return value


def approved_cases(
    con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date
) -> list[dict[str, str | None]]:
    """Approved cases decided on dates date_from..date_to: case_id, hospital_id, disease, specialty."""
    return approved_case_table(con, date_from, date_to).to_pylist()


def approved_case_table(
    con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date
) -> pa.Table:
    """`approved_cases` as an Arrow table (case_id, hospital_id, disease_name, specialty)."""
    if date_from > date_to:
        raise UsageError(f"起始日期 {date_from} 晚于截止日期 {date_to}")
    params = {"date_from": date_from, "date_to": date_to}
    return con.execute(sql("draw_case_population"), params).to_arrow_table()


def case_members(cases: pa.Table) -> pa.Table:
    """A case population for freeze_population: id = case_id, stratum = hospital_id."""
    return pa.table(
        {
            "id": cases["case_id"],
            "stratum": cases["hospital_id"],
            "hospital_id": cases["hospital_id"],
        }
    )


def freeze_spot_check(
    con: duckdb.DuckDBPyConnection,
    date_from: dt.date,
    date_to: dt.date,
    rate: str | Decimal,
    profile: Profile,
    *,
    operator: str | None = None,
    supervisor: str | None = None,
    at: dt.datetime | None = None,
    precision: Precision | None = None,
) -> FrozenPopulation:
    """Freeze the period's approved cases and fix k per hospital, before the seed.

    k = ceil(rate × N) per hospital, or with `precision` the sample size for that precision
    (never below the profile's minimum rate); the record keeps whichever rule fixed k.
    """
    members = case_members(approved_case_table(con, date_from, date_to))
    sizes = table_strata_sizes(members)
    if precision is not None:
        rule: dict = {"precision": precision.params()}
        k = {s: precision.n(n) for s, n in sizes.items()}
    else:
        value = check_rate(rate, profile)
        rule, k = {"rate": str(value)}, {s: quota(value, n) for s, n in sizes.items()}
    params = {
        "rule": "ZZ-SPOTCHECK",
        "filter": f"鉴定结果 = 符合，办结日期 {date_from} 至 {date_to}（含）",
        "date_from": str(date_from),
        "date_to": str(date_to),
        "strata": "hospital_id",
        "id_column": "case_id",
        "stratum_column": "hospital_id",
        **rule,
        "k": k,
        "exclusions": [],
    }
    return freeze_population(
        con,
        "spot_check",
        members,
        params,
        operator=operator,
        supervisor=supervisor,
        profile=profile.name,
        at=at,
    )


def spot_check(
    con: duckdb.DuckDBPyConnection,
    date_from: dt.date,
    date_to: dt.date,
    rate: str | Decimal,
    seed: str,
    profile: Profile,
    *,
    operator: str | None = None,
    supervisor: str | None = None,
    at: dt.datetime | None = None,
    precision: Precision | None = None,
) -> DrawResult:
    """Freeze the population, then draw k cases per hospital with the seed (see freeze_spot_check)."""
    normalize_seed(seed)
    frozen = freeze_spot_check(
        con,
        date_from,
        date_to,
        rate,
        profile,
        operator=operator,
        supervisor=supervisor,
        at=at,
        precision=precision,
    )
    return draw(con, frozen, seed, operator=operator, supervisor=supervisor, at=at)
