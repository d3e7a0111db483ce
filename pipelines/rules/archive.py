"""ZZ-ARCHIVE: decided cases per month by disease and outcome (`mart_archive.sql`)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.config import Profile
from pipelines.rules.engine import run


def monthly_archive(
    con: duckdb.DuckDBPyConnection,
    profile: Profile,
    month: str | None = None,
    as_of: dt.datetime | None = None,
) -> pa.Table:
    """month, disease_name, specialty, settlement, outcome, cases; only `month` when given."""
    table = run(con, "mart_archive", profile, as_of)
    return table if month is None else table.filter(pc.equal(table["month"], month))
