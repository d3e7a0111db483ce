"""ZZ-ARCHIVE: decided cases per month by disease and outcome (`mart_archive.sql`)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa

from pipelines.config import Profile
from pipelines.rules.engine import run


def monthly_archive(
    con: duckdb.DuckDBPyConnection,
    profile: Profile,
    month: str | None = None,
    as_of: dt.datetime | None = None,
) -> pa.Table:
    """month, disease_name, specialty, settlement, outcome, cases; only `month` when given."""
    where = None if month is None else {"month": month}
    return run(con, "mart_archive", profile, as_of, where=where)
