"""What the draw pages look up about hospitals, experts and cases, so that no page names a
staging table: names of hospitals, the experts of a draw, the insured persons of drawn cases
(personal data, for the internal retrieval list), the specialties and the span of approved cases.
A district is applied in the SQL (a parameter), never after fetching every row.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import pyarrow as pa

IN_DISTRICT = "($district is null or district = $district)"


def hospital_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """hospital_id → hospital_name of every hospital (names are public, as on the records)."""
    rows = con.execute(
        "select hospital_id, hospital_name from stg_hospitals order by hospital_id"
    ).fetchall()
    return dict(rows)


def district_hospitals(con: duckdb.DuckDBPyConnection, district: str | None) -> set[str] | None:
    """The hospital ids of a district, or None (every hospital) when no district is given."""
    if district is None:
        return None
    rows = con.execute(
        f"select hospital_id from stg_hospitals where {IN_DISTRICT}", {"district": district}
    ).fetchall()
    return {r[0] for r in rows}


def expert_table(con: duckdb.DuckDBPyConnection, ids: list[str]) -> pa.Table:
    """expert_id, expert_name, hospital_id, specialty, title of the given experts."""
    return con.execute(
        "select expert_id, expert_name, hospital_id, specialty, title from stg_experts "
        "where list_contains($ids, expert_id) order by expert_id",
        {"ids": list(ids)},
    ).to_arrow_table()


def specialties(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The experts' specialties, in code-point order."""
    rows = con.execute(
        "select distinct specialty from stg_experts where specialty is not null order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def case_people(
    con: duckdb.DuckDBPyConnection, case_ids: list[str], district: str | None = None
) -> pa.Table:
    """case_id, person_name, person_id of the given cases (of the district's hospitals only)."""
    return con.execute(
        "select c.case_id, c.person_name, c.person_id from stg_cases c "
        "join stg_hospitals h on c.hospital_id = h.hospital_id "
        "where list_contains($ids, c.case_id) and ($district is null or h.district = $district) "
        "order by c.case_id",
        {"ids": list(case_ids), "district": district},
    ).to_arrow_table()


def approved_span(con: duckdb.DuckDBPyConnection) -> tuple[dt.date | None, dt.date | None]:
    """The first and last dates on which a case was approved (鉴定通过), or (None, None)."""
    first, last = con.execute(
        "select cast(min(decided_at) as date), cast(max(decided_at) as date) "
        "from stg_cases where outcome = '符合'"
    ).fetchone()
    return first, last
