"""Spot-check coverage and the district scope of the draw queries, computed in SQL
(pipelines.draws.spotcheck.coverage, retrieval_list, findings_summary, appraise, reference)."""

from __future__ import annotations

import datetime as dt

import pytest
from test_draw_support import spot_check_world

from pipelines.config import load_profile
from pipelines.db import sql
from pipelines.draws import draw as draw_frozen
from pipelines.draws import findings_summary, freeze_spot_check, reference, retrieval_list
from pipelines.draws.appraise import appraise
from pipelines.draws.spotcheck import coverage

ZZ = load_profile("zhengzhou")
D1, D2 = dt.date(2026, 5, 1), dt.date(2026, 5, 31)
DISTRICTS = {"H01": "金水区", "H02": "二七区", "H03": "金水区", "H04": "二七区"}


@pytest.fixture
def drawn(con):
    """spot_check_world (approved in May: H01 11, H02 31, H03 31, H04 1) in two districts,
    frozen at 10% (k = 2, 4, 4, 1) and drawn."""
    spot_check_world(con)
    for h, d in DISTRICTS.items():
        con.execute("update stg_hospitals set district = ? where hospital_id = ?", [d, h])
    frozen = freeze_spot_check(con, D1, D2, "10%", ZZ, supervisor="王纪检")
    res = draw_frozen(con, frozen, "00123", supervisor="王纪检")
    return frozen.draw_id, res.draw_id


def rows(table, *cols):
    return [tuple(r[c] for c in cols) for r in table.to_pylist()]


def test_coverage_per_hospital_of_a_draw(con, drawn):
    got = coverage(con, drawn[1])
    assert rows(got, "hospital_id", "frame_n", "k", "drawn_n", "meets") == [
        ("H01", 11, 2, 2, True),
        ("H02", 31, 4, 4, True),
        ("H03", 31, 4, 4, True),
        ("H04", 1, 1, 1, True),
    ]
    assert [round(float(s), 6) for s in got["share"].to_pylist()] == [
        round(2 / 11, 6),
        round(4 / 31, 6),
        round(4 / 31, 6),
        1.0,
    ]
    assert got["hospital_name"].to_pylist() == ["医院H01", "医院H02", "医院H03", "医院H04"]


def test_before_the_seed_nothing_is_drawn_and_nobody_meets_the_rate(con, drawn):
    got = coverage(con, drawn[0])
    assert rows(got, "hospital_id", "k", "drawn_n", "meets") == [
        ("H01", 2, 0, False),
        ("H02", 4, 0, False),
        ("H03", 4, 0, False),
        ("H04", 1, 0, False),
    ]


def test_the_rate_is_compared_exactly(con, drawn):
    """31 × 10% = 3.1: three picks fall short, four meet it (no float rounding either way)."""
    con.execute(
        "create temp table draw_frame as select * from (values ('H03', 31, 4)) t(hospital_id, frame_n, k)"
    )
    for n, meets in [(3, False), (4, True)]:
        con.execute(
            "create or replace temp table draw_picks as select 'H03' as hospital_id from range(?)",
            [n],
        )
        got = con.execute(sql("draw_coverage"), {"rate": "0.1", "district": None}).fetchall()
        assert [r[-1] for r in got] == [meets]


def test_a_district_reads_only_its_hospitals(con, drawn):
    draw_id = drawn[1]
    assert rows(coverage(con, draw_id, "金水区"), "hospital_id") == [("H01",), ("H03",)]
    listing = retrieval_list(con, draw_id, "金水区")
    assert listing.num_rows == 2 + 4
    assert set(listing["医院编码"].to_pylist()) == {"H01", "H03"}
    assert rows(findings_summary(con, draw_id, "二七区"), "hospital_id", "cases_drawn") == [
        ("H02", 4),
        ("H04", 1),
    ]
    a = appraise(con, draw_id, "0.90", "二七区")
    assert [s.hospital_id for s in a.strata] == ["H02", "H04"]
    assert a.total.frame_n == 0  # nothing checked yet: no estimate, and no other district in it
    ids = listing["申报编号"].to_pylist()
    others = retrieval_list(con, draw_id, "二七区")["申报编号"].to_pylist()
    people = reference.case_people(con, ids + others, "金水区")
    assert sorted(people["case_id"].to_pylist()) == sorted(ids)
    assert reference.district_hospitals(con, "二七区") == {"H02", "H04"}
    assert reference.district_hospitals(con, None) is None


def test_the_city_reads_every_hospital(con, drawn):
    assert retrieval_list(con, drawn[1]).num_rows == 2 + 4 + 4 + 1
    assert findings_summary(con, drawn[1]).num_rows == 4
