"""A year missing from the working-day calendar: affected pages say so, the others work."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipelines.config import load_profile
from pipelines.db import connect
from pipelines.ingest import ingest
from pipelines.rules import refresh_marts

from apptest_util import open_page
from test_ingest import CASES, TASKS, write_all


@pytest.fixture(scope="module")
def gap_db(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("gap")
    cases = [*CASES, ["C3", *CASES[1][1:6], "2027-01-04 09:00:00", *CASES[1][7:11], "", "", ""]]
    tasks = [
        *TASKS,
        ["T9", "C3", "E1", "2027-01-04 10:00:00", "2027-01-04 11:00:00", "受理", "", ""],
    ]
    c = connect(d / "w.duckdb")
    ingest(c, [write_all(d / "in", cases=cases, tasks=tasks)], log=lambda _m: None)
    refresh_marts(c, dt.datetime(2027, 2, 1), load_profile("zhengzhou"))
    assert c.execute("select count(*) from mart_gaps where year = 2027").fetchone()[0] > 0
    c.close()
    return d / "w.duckdb"


@pytest.mark.parametrize("page", ["experts", "hospitals", "violations"])
def test_pages_needing_the_year_say_so_and_point_to_the_overrides_file(gap_db, page):
    at = open_page(gap_db, page)
    assert not at.exception
    text = " ".join(e.value for e in at.error)
    assert "2027" in text and "calendar_overrides.csv" in text


@pytest.mark.parametrize("page", ["home", "data"])
def test_other_pages_keep_working(gap_db, page):
    at = open_page(gap_db, page)
    assert not at.exception
