"""Rows in → rows out for the strike history of the ZZ-STRIKE action lists
(pipelines.rules.evidence.strike_histories): each strike with its expert's live strikes of the
same year up to it, hand-written rows of mart_strike_evidence in, the texts out.

The rows: E1 in 2026 has T1 (第1次, valid), T9 (第2次, voided by a decision: left out), T3
(第2次, 申诉维持), T4 (第3次); E1 in 2025 has T0; E2 in 2026 has T5.
"""

from __future__ import annotations

import duckdb

from pipelines.rules.evidence import strike_histories

ROWS = [
    ("E1", 2025, 1, "T0", "2025-12-01 17:00:00", "valid"),
    ("E1", 2026, 1, "T1", "2026-03-02 17:00:00", "valid"),
    ("E1", 2026, 2, "T9", "2026-03-10 17:00:00", "voided"),
    ("E1", 2026, 2, "T3", "2026-04-03 00:00:00", "upheld"),
    ("E1", 2026, 3, "T4", "2026-05-01 17:00:00", "valid"),
    ("E2", 2026, 1, "T5", "2026-03-03 17:00:00", "valid"),
]


def mart() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "create table mart_strike_evidence (expert_id varchar, strike_year integer,"
        " strike_no integer, task_id varchar, deadline timestamp, status varchar)"
    )
    con.executemany("insert into mart_strike_evidence values (?, ?, ?, ?, ?, ?)", ROWS)
    return con


def test_each_strike_lists_the_expert_s_live_strikes_of_the_year_up_to_it():
    got = strike_histories(mart(), ["T4", "T3", "T0", "T5", "T9", "T404"])
    t1 = "第1次 T1 时限 2026-03-02 17:00:00"
    t3 = "第2次 T3 时限 2026-04-03 00:00:00"
    assert got.to_dict("records") == [
        {"task_id": "T0", "history": "第1次 T0 时限 2025-12-01 17:00:00"},
        {"task_id": "T3", "history": f"{t1}；{t3}"},
        {"task_id": "T4", "history": f"{t1}；{t3}；第3次 T4 时限 2026-05-01 17:00:00"},
        {"task_id": "T5", "history": "第1次 T5 时限 2026-03-03 17:00:00"},
    ]


def test_no_task_asked_no_row():
    assert strike_histories(mart(), []).empty
