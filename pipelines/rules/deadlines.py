"""ZZ-ACCEPT and ZZ-COMPLETE: each task's deadlines, status and lateness (`fct_tasks.sql`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import duckdb

from pipelines.config import Profile
from pipelines.rules.engine import run

if TYPE_CHECKING:
    import pyarrow as pa


def task_deadlines(
    con: duckdb.DuckDBPyConnection, as_of: dt.datetime, profile: Profile
) -> pa.Table:
    """Every task pushed by as_of with its accept/complete deadlines, statuses and strike kind."""
    return run(con, "fct_tasks", profile, as_of)
