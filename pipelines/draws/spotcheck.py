"""ZZ-SPOTCHECK: draw at least 10% of the approved cases of a period, per submitting hospital.

Population: cases with outcome 符合 whose decided_at falls on a date from `date_from` to `date_to`
inclusive. Strata: the submitting hospital. Per hospital k = ceil(rate × n) with exact decimals,
so every hospital and the whole city are at or above the rate. The rate may not be below the
profile's `spot_check.min_rate`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

import duckdb

from pipelines.config import Profile
from pipelines.db import sql
from pipelines.draws import log
from pipelines.draws.engine import (
    DrawResult,
    FrozenPopulation,
    StagedPopulation,
    current_state,
    draw,
    freeze_population,
    stage_population,
)
from pipelines.draws.keys import normalize_seed, parse_rate, quota
from pipelines.draws.plan import Precision
from pipelines.errors import UsageError
from pipelines.rules.graph import inline

if TYPE_CHECKING:
    import pyarrow as pa


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
    query = f"select * from ({case_population_sql(date_from, date_to)}) order by case_id"
    return con.execute(query).to_arrow_table()


def case_population_sql(date_from: dt.date, date_to: dt.date) -> str:
    """The SELECT of `approved_cases` (unsorted), its dates written in as literals."""
    if date_from > date_to:
        raise UsageError(f"起始日期 {date_from} 晚于截止日期 {date_to}")
    return inline(sql("draw_case_population"), {"date_from": date_from, "date_to": date_to})


def stage_cases(
    con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date
) -> StagedPopulation:
    """The period's approved cases as a population staged on `con` (id = case_id, stratum =
    hospital_id, as `case_members`), never leaving DuckDB."""
    cases = case_population_sql(date_from, date_to)
    query = f"select case_id as id, hospital_id as stratum, hospital_id from ({cases})"
    return stage_population(con, query)


def case_members(cases: pa.Table) -> pa.Table:
    """A case population for freeze_population: id = case_id, stratum = hospital_id."""
    import pyarrow as pa

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
    members = stage_cases(con, date_from, date_to)
    sizes = members.strata_sizes
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


def floor_rate(params: dict) -> str:
    """The share every hospital must reach: the flat rate, or the floor of a precision plan."""
    return params["rate"] if "rate" in params else params["precision"]["min_rate"]


def coverage(con: duckdb.DuckDBPyConnection, draw_id: str, district: str | None = None) -> pa.Table:
    """Per hospital of a spot check (or of its frozen list, before the seed): hospital_id,
    hospital_name, frame_n (approved cases), k (fixed at freezing), drawn_n, share = drawn_n /
    frame_n and meets (drawn_n ≥ rate × frame_n, exact) — draw_coverage.sql. With `district`
    only that district's hospitals are read (in SQL), as a district user may see.
    """
    import pyarrow as pa

    rec = log.get_record(con, draw_id)
    params = rec.params()
    if params.get("for_kind", rec.kind) != "spot_check":
        raise UsageError(f"记录 {draw_id} 不是抽查记录（类型 {rec.kind}）")
    sizes, k = params["strata_sizes"], params["k"]
    frame = pa.table(
        {
            "hospital_id": pa.array(list(sizes), pa.string()),
            "frame_n": pa.array(list(sizes.values()), pa.int64()),
            "k": pa.array([k.get(h, 0) for h in sizes], pa.int64()),
        }
    )
    drawn = [] if rec.kind == "population_frozen" else current_state(con, draw_id).picks
    picks = pa.table({"hospital_id": pa.array([p.hospital_id for p in drawn], pa.string())})
    cur = con.cursor()
    try:
        cur.register("draw_frame", frame)
        cur.register("draw_picks", picks)
        query = sql("draw_coverage")
        return cur.execute(
            query, {"rate": floor_rate(params), "district": district}
        ).to_arrow_table()
    finally:
        cur.close()
