"""The working-day calendar a model needs (see `pipelines.rules.engine`): settled before a
model runs, cheaply (`calendar_covers`) when the data lies well inside it."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import duckdb

from pipelines.errors import CalendarGapError
from pipelines.rules.graph import GAP_COLUMN, _ctes, checks_calendar, closure, execute, reaches
from pipelines.workcal import ensure_calendar

_REACH_SQL = """
with span as (select min({column}) as lo, max({column}) as hi from {table})
select
    s.lo is null
    or coalesce(
        a.workday_no + $n >= 1
        and b.workday_no + $n <= (select max(workday_no) from calendar),
        false
    )
from span as s
left join calendar as a on a.day = cast(s.lo as date)
left join calendar as b on b.day = cast(s.hi as date)
"""


def calendar_covers(con: duckdb.DuckDBPyConnection, models: Iterable[str], values: dict) -> bool:
    """True when no model can need an uncovered year: each `-- reach:` column lies inside the
    calendar with its working days to spare (min/max of one column per reach: milliseconds).

    For every date D between the column's least and greatest value, the N-th working day after D
    then exists in the calendar, so no lookup can miss. A model without `reach` lines is never
    known to be covered."""
    for model in models:
        found = reaches(model)
        if not found:
            return False
        for table, column, param in found:
            statement = _REACH_SQL.format(table=table, column=column)
            n = int(values.get(param) or 0)
            if not execute(con, statement, {"n": n}).fetchone()[0]:
                return False
    return True


def check_calendar(
    con: duckdb.DuckDBPyConnection,
    name: str,
    values: dict[str, Any],
    materialised: Collection[str] = (),
) -> None:
    """Raise CalendarGapError when a model the answer depends on needs an uncovered year.

    The full probe: computes every model of the closure that checks the calendar (those
    already materialised are not entered: they were built without a gap).
    """
    ensure_calendar(con)
    models = closure(name, materialised)
    gapped = [m for m in models if checks_calendar(m)]
    if not gapped:
        return
    probe = " union all ".join(f"select {GAP_COLUMN} from {m}" for m in gapped)
    statement = "with\n" + ",\n".join(_ctes(models)) + f"\nselect min({GAP_COLUMN}) from ({probe})"
    year = execute(con, statement, values).fetchone()[0]
    if year is not None:
        raise CalendarGapError(int(year))


def calendar_plan(
    con: duckdb.DuckDBPyConnection,
    name: str,
    values: dict[str, Any],
    materialised: Collection[str] = (),
) -> bool:
    """Settle the calendar before a model runs; True when its own result must then be checked.

    - no model of the closure checks the calendar: nothing to do;
    - only the model itself does: its result carries `calendar_gap_year`, checked afterwards
      (exact, and no second computation);
    - the data lies well inside the calendar (`calendar_covers`): no gap is possible;
    - otherwise the full probe runs first (`check_calendar`).
    """
    ensure_calendar(con)
    gapped = [m for m in closure(name, materialised) if checks_calendar(m)]
    if not gapped:
        return False
    if gapped == [name]:
        return True
    if calendar_covers(con, gapped, values):
        return False
    check_calendar(con, name, values, materialised)
    return False
