"""ZZ-FEE: each expert's completed reviews and fee per month of completion (`mart_fees.sql`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import duckdb

from pipelines.config import Profile
from pipelines.rules.engine import run

if TYPE_CHECKING:
    import pyarrow as pa


def expert_fees(
    con: duckdb.DuckDBPyConnection,
    profile: Profile,
    month: str | None = None,
    as_of: dt.datetime | None = None,
) -> pa.Table:
    """month, expert, reviews, amount_yuan; only `month` ('YYYY-MM') when given; by as_of if given."""
    return run(con, "mart_fees", profile, as_of, where=None if month is None else {"month": month})
