"""Materialise the tables the dashboard reads, all as of one evaluation time, in one transaction."""

from __future__ import annotations

import datetime as dt

import duckdb

from pipelines.config import Profile
from pipelines.rules.engine import materialise, parameters

MARTS = [
    "fct_tasks",
    "fct_strikes",
    "fct_disqualifications",
    "fct_experts",
    "fct_cases",
    "fct_benefits",
    "mart_hospital_penalty",
    "mart_violations",
    "mart_fees",
    "mart_archive",
    "mart_at_risk",
    "mart_meta",
]


def refresh_marts(
    con: duckdb.DuckDBPyConnection, as_of: dt.datetime, profile: Profile
) -> dict[str, int]:
    """Rebuild every fct_/mart_ table as of as_of; all or nothing. Returns rows per table."""
    values = parameters(profile, as_of, {"year_from": None, "year_to": None})
    done: list[str] = []
    con.begin()
    try:
        for name in MARTS:
            materialise(con, name, values, done)
            done.append(name)
        counts = {n: con.execute(f"select count(*) from {n}").fetchone()[0] for n in MARTS}
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return counts
