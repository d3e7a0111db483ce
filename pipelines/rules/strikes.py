"""ZZ-STRIKE: strikes with their actions (`fct_strikes.sql`) and the permanent disqualifications
they and the expert register cause (`fct_disqualifications.sql`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import duckdb

from pipelines.config import Profile
from pipelines.rules.engine import run

if TYPE_CHECKING:
    import pyarrow as pa

DISQUALIFICATION_COLUMNS = ["expert_id", "disqualified_at", "source"]

STRIKES = "fct_strikes"  # the model (the command writes it from DuckDB)


def strikes(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.datetime,
    profile: Profile,
    year: int | None = None,
) -> pa.Table:
    """Strikes as of as_of, ordered by expert, year and number; only year's when given."""
    return run(con, STRIKES, profile, as_of, where=None if year is None else {"strike_year": year})


def expert_disqualifications(
    con: duckdb.DuckDBPyConnection, as_of: dt.datetime, profile: Profile
) -> pa.Table:
    """Experts disqualified as of as_of: expert_id, disqualified_at, source ('strike'/'register').

    One row per expert, the earlier of the first strike numbered `disqualify_at` in a year and the
    register's disqualified_on (00:00 of that day, once that instant is at or before as_of).
    """
    return run(con, "fct_disqualifications", profile, as_of).select(DISQUALIFICATION_COLUMNS)
