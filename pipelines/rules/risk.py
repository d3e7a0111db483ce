"""Tasks at risk now: open tasks about to miss ZZ-ACCEPT or ZZ-COMPLETE (`mart_at_risk.sql`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import duckdb

from pipelines.config import Profile
from pipelines.rules.engine import run

if TYPE_CHECKING:
    import pyarrow as pa

AT_RISK = "mart_at_risk"  # the model (the command writes it from DuckDB)


def at_risk(con: duckdb.DuckDBPyConnection, as_of: dt.datetime, profile: Profile) -> pa.Table:
    """Open tasks whose deadline is within the profile's [risk] horizon and not yet passed."""
    return run(con, AT_RISK, profile, as_of)
