"""The peer: ZZ-STRIKE, ZZ-HOSPITAL5 and ZZ-SPOTCHECK in plain pandas, as an analyst would write them.

It reads the staging tables it needs from the warehouse into DataFrames (only the columns it uses),
computes each rule with ordinary pandas (boolean masks, `map`, `groupby`, `cumcount`) and a
working-day calendar DataFrame from `pipelines.workcal.build_days()`, and returns frames with the
columns of the contract (shared/CONTRACT.md). `same_rows` compares them with the product's answer:
the peer is only a fair yardstick if it gives exactly the same answer.

Simplification: a deadline the calendar cannot place raises `ValueError` at once, where the product
first checks whether the answer depends on it (it never does in the benchmark's period).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from pipelines.config import Profile
from pipelines.workcal import build_days

STRIKE_COLUMNS = ["expert_id", "strike_no", "task_id", "case_id", "kind", "deadline", "action"]
PENALTY_COLUMNS = [
    "hospital_id",
    "experts_total",
    "experts_disqualified",
    "ratio",
    "penalized",
    "one_more_penalized",
]
SPOT_CHECK_COLUMNS = ["hospital_id", "rank", "case_id", "key"]
ACCEPTED = "受理"
APPROVED = "符合"


@functools.cache
def calendar_frame() -> pd.DataFrame:
    """day, is_workday, workday_no (running count of workdays up to and including the day).

    Built once per process, as the product builds its `calendar` table once at ingest.
    """
    cal = pd.DataFrame(build_days(), columns=["day", "is_workday"])
    cal["day"] = pd.to_datetime(cal["day"])
    cal["workday_no"] = cal["is_workday"].cumsum()
    return cal


def workday_deadlines(days: pd.Series, n: int, cal: pd.DataFrame) -> pd.Series:
    """24:00 of the n-th working day after each day (the day itself not counted)."""
    number = days.map(cal.set_index("day")["workday_no"])
    workdays = cal.loc[cal["is_workday"]].set_index("workday_no")["day"]
    deadline = (number + n).map(workdays)
    if deadline.isna().any():
        missing = days[deadline.isna()].min()
        raise ValueError(
            f"the working-day calendar cannot place a deadline after {missing:%Y-%m-%d}"
        )
    return deadline + pd.Timedelta(days=1)


def load_tasks(con: duckdb.DuckDBPyConnection, as_of: dt.datetime) -> pd.DataFrame:
    """Tasks pushed by as_of; a response or completion recorded after as_of has not happened yet."""
    t = con.execute(
        "select task_id, case_id, expert_id, pushed_at, responded_at, response, completed_at "
        "from stg_tasks"
    ).df()
    t = t[t["pushed_at"] <= as_of].copy()
    responded = t["responded_at"] <= as_of
    t["responded_at"] = t["responded_at"].where(responded)
    t["response"] = t["response"].where(responded)
    t["completed_at"] = t["completed_at"].where(t["completed_at"] <= as_of)
    return t


def all_strikes(
    con: duckdb.DuckDBPyConnection, as_of: dt.datetime, profile: Profile
) -> pd.DataFrame:
    """Every strike as of as_of (ZZ-ACCEPT / ZZ-COMPLETE missed), numbered per expert per year."""
    hours = int(profile["deadlines"]["accept_hours"])
    workdays = int(profile["deadlines"]["complete_workdays"])
    t = load_tasks(con, as_of)

    t["accept_deadline"] = t["pushed_at"] + pd.Timedelta(hours=hours)
    no_response = t["responded_at"].isna()
    accept_missed = (no_response & (t["accept_deadline"] < as_of)) | (
        t["responded_at"] > t["accept_deadline"]
    )
    on_time = (t["response"] == ACCEPTED) & (t["responded_at"] <= t["accept_deadline"])

    accepted = t[on_time].copy()
    accepted["complete_deadline"] = workday_deadlines(
        accepted["responded_at"].dt.normalize(), workdays, calendar_frame()
    )
    complete_missed = (accepted["completed_at"] > accepted["complete_deadline"]) | (
        accepted["completed_at"].isna() & (accepted["complete_deadline"] < as_of)
    )

    ids = ["task_id", "case_id", "expert_id"]
    late_accept = t.loc[accept_missed, ids].assign(
        kind="accept_timeout", deadline=t.loc[accept_missed, "accept_deadline"]
    )
    late_complete = accepted.loc[complete_missed, ids].assign(
        kind="complete_timeout", deadline=accepted.loc[complete_missed, "complete_deadline"]
    )
    s = pd.concat([late_accept, late_complete], ignore_index=True)
    s["strike_year"] = s["deadline"].dt.year
    s = s.sort_values(["expert_id", "strike_year", "deadline", "task_id"], ignore_index=True)
    s["strike_no"] = s.groupby(["expert_id", "strike_year"]).cumcount() + 1

    actions = list(profile["strikes"]["actions"])
    labels = np.array([*actions, profile["strikes"]["after_last"]], dtype=object)
    s["action"] = labels[np.minimum(s["strike_no"].to_numpy(), len(actions) + 1) - 1]
    return s


def strikes(
    con: duckdb.DuckDBPyConnection, as_of: dt.datetime, profile: Profile, year: int
) -> pd.DataFrame:
    """The `strikes --year` answer: strikes whose deadline falls in year, by expert and number."""
    s = all_strikes(con, as_of, profile)
    return s.loc[s["strike_year"] == year, STRIKE_COLUMNS].reset_index(drop=True)


def disqualified_at(
    experts: pd.DataFrame, s: pd.DataFrame, as_of: dt.datetime, profile: Profile
) -> pd.Series:
    """Per expert: the earlier of the disqualifying strike and the register's date (once come)."""
    by_strike = s[s["strike_no"] == int(profile["strikes"]["disqualify_at"])]
    by_strike = by_strike.groupby("expert_id")["deadline"].min()
    register = experts.set_index("expert_id")["disqualified_on"].dropna()
    register = register[register <= as_of]
    both = pd.concat([by_strike, register])
    return both.groupby(level=0).min()


def hospital_penalties(
    con: duckdb.DuckDBPyConnection, as_of: dt.datetime, profile: Profile, year: int
) -> pd.DataFrame:
    """The `penalties --year` answer: each hospital with experts in the pool in year."""
    rule = profile["hospital_penalty"]
    num, den = int(rule["rate_numerator"]), int(rule["rate_denominator"])
    least = int(rule["min_disqualified"])
    experts = con.execute(
        "select expert_id, hospital_id, registered_on, disqualified_on from stg_experts"
    ).df()
    dq = disqualified_at(experts, all_strikes(con, as_of, profile), as_of, profile)
    experts["disqualified_at"] = experts["expert_id"].map(dq)

    first, after = pd.Timestamp(year, 1, 1), pd.Timestamp(year + 1, 1, 1)
    in_pool = (experts["registered_on"] <= pd.Timestamp(year, 12, 31)) & (
        experts["disqualified_at"].isna() | (experts["disqualified_at"] >= first)
    )
    pool = experts[in_pool].copy()
    pool["disqualified_in_year"] = pool["disqualified_at"] < after
    p = (
        pool.groupby("hospital_id")
        .agg(
            experts_total=("expert_id", "size"),
            experts_disqualified=("disqualified_in_year", "sum"),
        )
        .reset_index()
        .sort_values("hospital_id", ignore_index=True)
    )
    total, dis = p["experts_total"], p["experts_disqualified"]
    p["penalized"] = (dis >= least) & (dis * den >= total * num)
    more = dis + 1
    p["one_more_penalized"] = (
        ~p["penalized"] & (more >= least) & (more <= total) & (more * den >= total * num)
    )
    p["ratio"] = [
        (Decimal(int(d)) / Decimal(int(n))).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        for d, n in zip(dis, total, strict=True)
    ]
    return p[PENALTY_COLUMNS]


def spot_check(
    con: duckdb.DuckDBPyConnection,
    date_from: dt.date,
    date_to: dt.date,
    rate: str,
    seed: str,
) -> pd.DataFrame:
    """ZZ-SPOTCHECK picks: per hospital, the first ceil(rate × n) approved cases by draw key."""
    c = con.execute("select case_id, hospital_id, outcome, decided_at from stg_cases").df()
    day = c["decided_at"].dt.normalize()
    in_period = (day >= pd.Timestamp(date_from)) & (day <= pd.Timestamp(date_to))
    pop = c[(c["outcome"] == APPROVED) & in_period].copy()
    pop["key"] = [hashlib.sha256(f"{seed}|{i}".encode()).hexdigest() for i in pop["case_id"]]
    pop = pop.sort_values(["hospital_id", "key", "case_id"], ignore_index=True)
    pop["rank"] = pop.groupby("hospital_id").cumcount() + 1
    share = Fraction(Decimal(rate))
    size = pop.groupby("hospital_id")["case_id"].transform("size")
    quota = size.map(lambda n: math.ceil(share * n))
    return pop.loc[pop["rank"] <= quota, SPOT_CHECK_COLUMNS].reset_index(drop=True)


# ---- comparison with the product ------------------------------------------------------------


def _plain(v: Any) -> Any:
    """One comparable Python value: datetimes, ints, bools, 4-decimal text for decimals."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, Decimal):
        return f"{v:.4f}"
    return v


def frame_rows(df: pd.DataFrame, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    return [tuple(_plain(v) for v in row) for row in df[list(columns)].itertuples(index=False)]


def table_rows(table: Any, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Rows of a pyarrow Table (the product's answer)."""
    cols = [table.column(c).to_pylist() for c in columns]
    return [tuple(_plain(v) for v in row) for row in zip(*cols, strict=True)]


def same_rows(
    what: str, product: Iterable[tuple[Any, ...]], peer: Iterable[tuple[Any, ...]]
) -> str | None:
    """None when equal as sorted row lists; else a message naming the first difference."""
    a, b = sorted(product, key=repr), sorted(peer, key=repr)
    if a == b:
        return None
    if len(a) != len(b):
        return f"{what}: product has {len(a)} rows, peer {len(b)}"
    first = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
    return f"{what}: row {first} differs — product {a[first]!r}, peer {b[first]!r}"
