"""ZZ-ACCEPT and ZZ-COMPLETE: each task's deadlines, status and lateness (`fct_tasks.sql`)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa

from pipelines.config import Profile
from pipelines.rules.engine import run


def task_deadlines(
    con: duckdb.DuckDBPyConnection, as_of: dt.datetime, profile: Profile
) -> pa.Table:
    """Every task pushed by as_of with its accept/complete deadlines, statuses and strike kind."""
    return run(con, "fct_tasks", profile, as_of)
