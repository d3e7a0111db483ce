"""Working days (工作日) as data: the `calendar` table (shared/RULES.md "Working days").

Built from `chinesecalendar` plus `data/reference/calendar_overrides.csv`. Each row is a day with
`is_workday` and `workday_no` (running count of workdays up to and including the day), so "24:00 of
the N-th working day after D" is a join: the workday whose number is workday_no(D) + N.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
from pathlib import Path

import duckdb

from pipelines.config import REFERENCE_DIR
from pipelines.errors import CalendarGapError, DataError

OVERRIDES = REFERENCE_DIR / "calendar_overrides.csv"
_TRUE = {"true", "1", "yes", "是", "上班", "workday"}
_FALSE = {"false", "0", "no", "否", "休息", "holiday"}


def _package_years() -> set[int]:
    import chinese_calendar

    days = list(chinese_calendar.constants.holidays) + list(chinese_calendar.constants.workdays)
    return {d.year for d in days}


def read_overrides(path: Path | None = None) -> dict[dt.date, bool]:
    """Read the overrides file; a bad line is an error naming the file and line."""
    path = path or OVERRIDES
    out: dict[dt.date, bool] = {}
    if not path.exists():
        return out
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            day_s = (row.get("day") or "").strip()
            flag = (row.get("is_workday") or "").strip().lower()
            if not day_s:
                continue
            try:
                day = dt.date.fromisoformat(day_s)
            except ValueError as exc:
                raise DataError(f"{path.name} 第 {line_no} 行：日期 {day_s!r} 无法识别") from exc
            if flag not in _TRUE | _FALSE:
                raise DataError(
                    f"{path.name} 第 {line_no} 行：is_workday 应为 true/false，实际为 {flag!r}"
                )
            out[day] = flag in _TRUE
    return out


def covered_years(overrides: dict[dt.date, bool] | None = None) -> list[int]:
    """The contiguous run of years the calendar knows, from the package's first year."""
    ov = read_overrides() if overrides is None else overrides
    years = _package_years() | {d.year for d in ov}
    first = min(years)
    last = first
    while last + 1 in years:
        last += 1
    return list(range(first, last + 1))


def build_days(overrides: dict[dt.date, bool] | None = None) -> list[tuple[dt.date, bool]]:
    """Every day of the covered years with its workday flag."""
    import chinese_calendar

    ov = read_overrides() if overrides is None else overrides
    years = covered_years(ov)
    pkg_years = _package_years()
    day = dt.date(years[0], 1, 1)
    end = dt.date(years[-1], 12, 31)
    out: list[tuple[dt.date, bool]] = []
    while day <= end:
        if day in ov:
            flag = ov[day]
        elif day.year in pkg_years:
            flag = chinese_calendar.is_workday(day)
        else:
            flag = day.weekday() < 5
        out.append((day, flag))
        day += dt.timedelta(days=1)
    return out


def _fingerprint() -> str:
    raw = OVERRIDES.read_bytes() if OVERRIDES.exists() else b""
    import chinese_calendar

    return hashlib.sha256(raw + chinese_calendar.__version__.encode()).hexdigest()


@functools.lru_cache(maxsize=4)
def _calendar_select(fingerprint: str) -> str:
    """A SELECT of the calendar days (day, is_workday) in order, built once per process per
    overrides version: every day of the covered years, a workday from Monday to Friday except
    the days listed (holidays, 调休 make-up workdays, overrides) as literals — no Arrow table
    from Python lists (pyarrow would import pandas for it) and no bound parameter (DuckDB
    would)."""
    from pipelines.rules.graph import sql_literal

    days = build_days()
    listed = [(d, w) for d, w in days if w != (d.weekday() < 5)]
    rows = ", ".join(f"({sql_literal(d)}, {sql_literal(w)})" for d, w in listed)
    exceptions = (
        f"(values {rows}) as x(day, is_workday)"
        if listed
        else ("(select null::date as day, null::boolean as is_workday where false) as x")
    )
    first, last = sql_literal(days[0][0]), sql_literal(days[-1][0])
    return f"""
        select d.day, coalesce(x.is_workday, isodow(d.day) <= 5) as is_workday
        from (select cast(unnest(range({first}, {last} + 1, interval 1 day)) as date) as day) as d
        left join {exceptions} on x.day = d.day
    """


def _calendar_current(con: duckdb.DuckDBPyConnection, fp: str) -> bool:
    tables = con.execute(
        "select count(*) from information_schema.tables "
        "where table_name in ('calendar', 'calendar_meta') and table_schema = 'main'"
    ).fetchone()[0]
    if tables < 2:
        return False
    row = con.execute("select fingerprint from calendar_meta").fetchone()
    return bool(row and row[0] == fp)


def _read_only(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "select readonly from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    return bool(row and row[0])


def ensure_calendar(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)build the `calendar` table when it is missing or the overrides file changed (a
    database opened read-only must already hold the current one)."""
    fp = _fingerprint()
    if _calendar_current(con, fp):
        return
    if _read_only(con):
        raise DataError(
            "数据库以只读方式打开，但其中的工作日日历不是最新的（或缺失）：请先对可写的数据库"
            "运行 python -m pipelines refresh。(read-only database: working-day calendar is stale)"
        )
    con.execute(
        "create table if not exists calendar_meta (fingerprint varchar, first_year integer, "
        "last_year integer, built_at timestamp)"
    )
    con.execute(
        f"""
        create or replace table calendar as
        select
            day,
            is_workday,
            cast(sum(case when is_workday then 1 else 0 end) over (order by day) as integer)
                as workday_no,
            cast(year(day) as integer) as year
        from ({_calendar_select(fp)})
        order by day
        """
    )
    years = covered_years()
    con.execute("delete from calendar_meta")
    from pipelines.rules.graph import sql_literal  # literals: no pandas (no bound parameter)

    values = ", ".join(map(sql_literal, [fp, years[0], years[-1]]))
    con.execute(f"insert into calendar_meta values ({values}, current_timestamp)")


def calendar_bounds(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """First and last covered year of the `calendar` table."""
    ensure_calendar(con)
    first, last = con.execute("select first_year, last_year from calendar_meta").fetchone()
    return int(first), int(last)


def check_years(con: duckdb.DuckDBPyConnection, years: set[int], what: str = "") -> None:
    """Raise CalendarGapError for the first year in `years` the calendar does not cover."""
    first, last = calendar_bounds(con)
    for y in sorted(years):
        if y < first or y > last:
            raise CalendarGapError(y, what)


def is_workday(con: duckdb.DuckDBPyConnection, day: dt.date) -> bool:
    check_years(con, {day.year})
    return bool(con.execute("select is_workday from calendar where day = ?", [day]).fetchone()[0])


def workday_deadline(con: duckdb.DuckDBPyConnection, day: dt.date, n: int) -> dt.datetime:
    """24:00 of the n-th working day after `day` (day itself not counted), as an instant."""
    check_years(con, {day.year})
    row = con.execute(
        """
        select c2.day
        from calendar c1
        join calendar c2 on c2.workday_no = c1.workday_no + ? and c2.is_workday
        where c1.day = ?
        """,
        [n, day],
    ).fetchone()
    if row is None:
        _, last = calendar_bounds(con)
        raise CalendarGapError(last + 1, f"({day} 之后第 {n} 个工作日)")
    return dt.datetime.combine(row[0] + dt.timedelta(days=1), dt.time())
