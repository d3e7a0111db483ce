"""Row builders shared by the rule tests (tests/test_rules_*.py); holds no tests itself.

Times are written as text ("2026-03-02 09:00:00", dates "2026-03-02") and typed here, so each
test reads like the hand-computed example it checks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pyarrow as pa
from conftest import put

from pipelines.config import load_profile

ZZ = load_profile("zhengzhou")
TY = load_profile("taiyuan")

# The exports these small worlds stand for were taken after every evaluation time the tests judge
# them at (DATA-CUTOFF): the cut-off never bounds them unless a test gives its own.
LATE_EXPORT = "2030-01-01 00:00:00"

DIABETES = "糖尿病（合并严重并发症）"  # 内分泌科, 集中办结
TUMOUR = "恶性肿瘤门诊治疗"  # 肿瘤科, 即时办结

_DATES = {"registered_on", "disqualified_on", "discharge_date", "benefit_start"}


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if isinstance(value, str) and key.endswith("_at"):
            value = ts(value)
        elif isinstance(value, str) and key in _DATES:
            value = dt.date.fromisoformat(value)
        out[key] = value
    return out


def hospital(hospital_id: str = "H1", **kw: Any) -> dict[str, Any]:
    base = {"hospital_name": f"医院{hospital_id}", "hospital_class": "三类", "ownership": "公立"}
    return {"hospital_id": hospital_id, **base, **kw}


def expert(expert_id: str = "E1", **kw: Any) -> dict[str, Any]:
    base = {
        "hospital_id": "H1",
        "specialty": "内分泌科",
        "title": "主任医师",
        "registered_on": "2020-01-01",
    }
    return {"expert_id": expert_id, **base, **kw}


def case(case_id: str = "C1", **kw: Any) -> dict[str, Any]:
    base = {
        "person_id": "P1",
        "disease_name": DIABETES,
        "hospital_id": "H1",
        "submitted_at": "2026-03-02 08:00:00",
    }
    return {"case_id": case_id, **base, **kw}


def task(task_id: str = "T1", **kw: Any) -> dict[str, Any]:
    base = {"case_id": "C1", "expert_id": "E1", "pushed_at": "2026-03-02 09:00:00"}
    return {"task_id": task_id, **base, **kw}


def load(
    con: duckdb.DuckDBPyConnection,
    hospitals: list[dict] | None = None,
    experts: list[dict] | None = None,
    cases: list[dict] | None = None,
    tasks: list[dict] | None = None,
    cutoff: str | None = LATE_EXPORT,
) -> None:
    """Insert rows; hospitals default to H1, experts to E1, cases to C1 (tasks none); the load's
    data cut-off is recorded in load_log (None: derived from the rows, as an old warehouse)."""
    put(con, "stg_hospitals", [_typed(r) for r in (hospitals or [hospital()])])
    put(con, "stg_experts", [_typed(r) for r in (experts or [expert()])])
    put(con, "stg_cases", [_typed(r) for r in (cases or [case()])])
    put(con, "stg_tasks", [_typed(r) for r in (tasks or [])])
    if cutoff is not None:
        record_cutoff(con, cutoff)


def record_cutoff(con: duckdb.DuckDBPyConnection, cutoff: str) -> None:
    """A load_log row whose data cut-off is `cutoff` (DATA-CUTOFF)."""
    con.execute(
        "insert into load_log (load_id, file_name, table_name, loaded_at, data_cutoff) "
        "values ((select coalesce(max(load_id), 0) + 1 from load_log), 'test', 'tasks', "
        "current_timestamp, cast(? as timestamp))",
        [cutoff],
    )


def by(table: pa.Table, key: str) -> dict[Any, dict[str, Any]]:
    """Rows of an Arrow table keyed by one column."""
    return {r[key]: r for r in table.to_pylist()}


def pick(table: pa.Table, *columns: str) -> list[tuple]:
    """Some columns of every row, as tuples in table order."""
    return [tuple(r[c] for c in columns) for r in table.to_pylist()]
