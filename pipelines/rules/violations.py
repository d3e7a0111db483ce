"""Every rule breach the data can show, one audit query per rule (`audit_*.sql`, `mart_violations.sql`).

ZZ-ACCEPT, ZZ-COMPLETE, ZZ-STRIKE-AFTER, ZZ-ASSIGN, ZZ-VERDICT, ZZ-REAPPLY, ZZ-UPLOAD,
ZZ-EXPERT-QUAL, ZZ-BENEFIT and, when the profile enables the Taiyuan rules, TY-CYCLE,
TY-PUBLICITY, TY-ENTRY, TY-BENEFIT, TY-RECERT and TY-PANEL (`audit_ty_<rule>.sql`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import duckdb

from pipelines.config import Profile
from pipelines.rules.engine import run

if TYPE_CHECKING:
    import pyarrow as pa


def violations(con: duckdb.DuckDBPyConnection, as_of: dt.datetime, profile: Profile) -> pa.Table:
    """rule_id, case_id, task_id, expert_id, hospital_id, detail — sorted, nulls first."""
    return run(con, "mart_violations", profile, as_of)
