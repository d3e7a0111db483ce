"""Working days (shared/RULES.md "Working days"): deadlines, 调休 make-up days, uncovered years."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines import workcal
from pipelines.errors import CalendarGapError
from pipelines.workcal import is_workday, workday_deadline

D = dt.date


@pytest.mark.parametrize(
    ("accepted", "deadline"),
    [
        # RULES.md worked examples, N = 2
        (D(2026, 9, 30), dt.datetime(2026, 10, 10)),  # 1–7 Oct holidays → Thu 8 (1), Fri 9 (2)
        (D(2026, 2, 13), dt.datetime(2026, 2, 25)),  # Sat 14 Feb make-up (1), Tue 24 Feb (2)
        (D(2026, 9, 18), dt.datetime(2026, 9, 22)),  # Sun 20 Sep make-up (1), Mon 21 Sep (2)
        # an ordinary week: Mon → Wed 24:00
        (D(2026, 3, 2), dt.datetime(2026, 3, 5)),
        # accepted on a Saturday (not a workday): Mon (1), Tue (2)
        (D(2026, 3, 7), dt.datetime(2026, 3, 11)),
    ],
)
def test_two_working_day_deadline(con, accepted, deadline):
    assert workday_deadline(con, accepted, 2) == deadline


@pytest.mark.parametrize(
    "day", ["2026-01-04", "2026-02-14", "2026-02-28", "2026-09-20", "2026-10-10"]
)
def test_2026_make_up_workdays_are_workdays(con, day):
    d = D.fromisoformat(day)
    assert d.weekday() >= 5  # a weekend day …
    assert is_workday(con, d)  # … that is worked (调休上班)


@pytest.mark.parametrize(
    "day", ["2026-01-01", "2026-02-17", "2026-10-01", "2026-10-07", "2026-03-07"]
)
def test_holidays_and_weekends_are_off(con, day):
    assert not is_workday(con, D.fromisoformat(day))


def test_calendar_table_running_count(con):
    rows = con.execute(
        "select day, is_workday, workday_no from calendar "
        "where day between '2026-09-30' and '2026-10-12' order by day"
    ).fetchall()
    nos = {r[0]: r[2] for r in rows}
    # 1–7 Oct holidays, 8 and 9 workdays, 10 Oct (Sat) make-up workday, 11 Oct Sunday off
    assert nos[D(2026, 10, 7)] == nos[D(2026, 9, 30)]
    assert nos[D(2026, 10, 8)] == nos[D(2026, 9, 30)] + 1
    assert nos[D(2026, 10, 10)] == nos[D(2026, 9, 30)] + 3
    assert nos[D(2026, 10, 11)] == nos[D(2026, 10, 10)]


def test_uncovered_year_is_an_error_naming_the_year(con):
    with pytest.raises(CalendarGapError) as exc:
        workday_deadline(con, D(2027, 1, 4), 2)
    assert "2027" in str(exc.value)
    assert exc.value.year == 2027


def test_deadline_running_past_the_calendar_names_the_next_year(con):
    with pytest.raises(CalendarGapError) as exc:
        workday_deadline(con, D(2026, 12, 30), 2)  # 31 Dec (1), then 2027
    assert exc.value.year == 2027


def test_year_before_the_package_is_an_error(con):
    with pytest.raises(CalendarGapError) as exc:
        is_workday(con, D(2003, 6, 2))
    assert exc.value.year == 2003


def test_overrides_file_extends_the_calendar(con, tmp_path, monkeypatch):
    f = tmp_path / "calendar_overrides.csv"
    f.write_text(
        "day,is_workday,note\n2027-01-01,false,元旦\n2027-01-04,false,test holiday\n"
        "2027-01-09,true,调休上班\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(workcal, "OVERRIDES", f)
    workcal.ensure_calendar(con)
    assert workcal.calendar_bounds(con) == (2004, 2027)
    assert not is_workday(con, D(2027, 1, 4))  # a Monday made a holiday
    assert is_workday(con, D(2027, 1, 9))  # a Saturday made a workday
    assert is_workday(con, D(2027, 1, 5))  # unlisted weekday: worked
    # Thu 31 Dec 2026 (1) … Fri 1 Jan off, Mon 4 off, Tue 5 Jan (2)
    assert workday_deadline(con, D(2026, 12, 30), 2) == dt.datetime(2027, 1, 6)
    # changing the file back rebuilds the table
    monkeypatch.setattr(workcal, "OVERRIDES", tmp_path / "missing.csv")
    workcal.ensure_calendar(con)
    assert workcal.calendar_bounds(con) == (2004, 2026)


def test_bad_overrides_line_names_file_and_line(tmp_path):
    f = tmp_path / "calendar_overrides.csv"
    f.write_text(
        "day,is_workday,note\n2027-01-01,false,元旦\n2027-13-01,false,bad\n", encoding="utf-8"
    )
    with pytest.raises(Exception) as exc:
        workcal.read_overrides(f)
    assert "第 3 行" in str(exc.value)
