"""ZZ-ARCHIVE: decided cases per month by disease and outcome (`mart_archive.sql`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import duckdb

from pipelines.config import Profile
from pipelines.rules.engine import run

if TYPE_CHECKING:
    import pyarrow as pa


def monthly_archive(
    con: duckdb.DuckDBPyConnection,
    profile: Profile,
    month: str | None = None,
    as_of: dt.datetime | None = None,
) -> pa.Table:
    """month, disease_name, specialty, settlement, outcome, cases; only `month` when given."""
    where = None if month is None else {"month": month}
    return run(con, "mart_archive", profile, as_of, where=where)
