"""The expert register at a time: pool membership and ZZ-EXPERT-QUAL flags (`fct_experts.sql`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import duckdb

from pipelines.config import Profile
from pipelines.rules.engine import run

if TYPE_CHECKING:
    import pyarrow as pa


def expert_register(
    con: duckdb.DuckDBPyConnection, as_of: dt.datetime, profile: Profile
) -> pa.Table:
    """Every expert with is_in_pool, has_required_title, is_at_qualified_hospital, is_qualified."""
    return run(con, "fct_experts", profile, as_of)
