"""ZZ-HOSPITAL5: hospitals that lose points for disqualified experts (`mart_hospital_penalty.sql`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import duckdb

from pipelines.config import Profile
from pipelines.rules.engine import run

if TYPE_CHECKING:
    import pyarrow as pa

PENALTIES = "mart_hospital_penalty"  # the model (the command writes it from DuckDB)


def hospital_penalties(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.datetime,
    profile: Profile,
    year: int | None = None,
) -> pa.Table:
    """Per year and hospital: pool size, disqualified, ratio, penalized, one_more_penalized.

    Without `year`: every year from the first expert registration to the year of as_of.
    """
    return run(con, PENALTIES, profile, as_of, year_from=year, year_to=year)
