"""Shared fixtures: a fresh warehouse with schema, catalogue and calendar, plus row builders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines.db import connect

TABLE_COLUMNS = {
    "stg_hospitals": ["hospital_id", "hospital_name", "hospital_class", "ownership", "district"],
    "stg_experts": [
        "expert_id",
        "expert_name",
        "hospital_id",
        "specialty",
        "title",
        "registered_on",
        "disqualified_on",
    ],
    "stg_cases": [
        "case_id",
        "person_id",
        "person_name",
        "insurance_type",
        "disease_name",
        "hospital_id",
        "submitted_at",
        "record_id",
        "record_format",
        "record_size_mb",
        "discharge_date",
        "outcome",
        "decided_at",
        "benefit_start",
    ],
    "stg_tasks": [
        "task_id",
        "case_id",
        "expert_id",
        "pushed_at",
        "responded_at",
        "response",
        "completed_at",
        "verdict",
    ],
}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def con(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A real DuckDB file with the schema, catalogue and working-day calendar."""
    c = connect(db_path)
    yield c
    c.close()


def put(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    """Insert hand-written rows into a staging table (missing columns are null)."""
    cols = TABLE_COLUMNS[table]
    for r in rows:
        unknown = set(r) - set(cols)
        assert not unknown, f"unknown columns for {table}: {unknown}"
        con.execute(
            f"insert into {table} ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
            [r.get(c) for c in cols],
        )
