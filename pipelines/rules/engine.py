"""Run the rule models in `pipelines/sql/` (fct_*, audit_*, mart_*) as one DuckDB statement each.

A model is one `.sql` file holding one query that starts with `with` (dbt style) and ends with
`select * from final`, optionally followed by the `order by` of its user-facing result. Its header
says which other models it reads (`-- refs: fct_tasks, fct_cases`) and whether it carries the
column `calendar_gap_year` (`-- checks: calendar_gap_year`): a year the working-day calendar must
cover for the answer to be known. Running a model inlines the models it reads as CTEs (dbt's
"ephemeral" models), so the CLI, the marts and the tests all run the same SQL; `refresh_marts`
materialises them in order instead. Only the result a caller receives is sorted: inlined models
and materialised tables drop their `order by`. Values come from the rule profile, named as
`$name` parameters in the SQL and written in as typed, quoted literals (`graph.sql_literal`,
`graph.execute`) — never formatted in as raw text; binding them instead would make DuckDB import
pandas (a fifth of a second) in every command.

Two more header lines make the engine cheaper without changing any answer:

- `-- reach: stg_tasks.responded_at + $complete_workdays` (on a model that checks the calendar):
  the only calendar days the model looks up are the dates of that column and the
  `$complete_workdays`-th working day after them. When every value of the column lies inside the
  calendar with that many working days to spare, no gap is possible and the full probe (a second
  computation of the model) is skipped; near the calendar's end it still runs.
- `-- latest: stg_tasks.completed_at`: the model uses `$as_of` only to drop rows whose column is
  after it (`$as_of is null or column <= $as_of`, itself or through the models it reads), so with
  `$as_of` null it equals its value at any evaluation time at or after the column's latest value.

When `refresh_marts` has materialised the marts for the same evaluation time, rule profile, data
and calendar (`mart_meta`, see `fresh_marts`), `run` reads those tables instead of recomputing
them; otherwise it computes from the staging tables as before.

The engine is split by job: `graph` (headers, closure, composition), `params` (profile values,
evaluation time), `calendar_check` (the working-day calendar a model needs), `state` (mart_meta
and fresh marts); this module runs and materialises models and re-exports the others' names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.config import Profile
from pipelines.errors import CalendarGapError
from pipelines.evaltime import facts_at
from pipelines.rules.calendar_check import calendar_covers, calendar_plan, check_calendar
from pipelines.rules.graph import (
    GAP_COLUMN,
    MODEL_PREFIXES,
    bind,
    checks_calendar,
    closure,
    compose,
    execute,
    inline,
    latest,
    order_by,
    reaches,
    refs,
    sql_literal,
    uses_eval_at,
)
from pipelines.rules.incremental import earlier, reuse_bodies
from pipelines.rules.params import REFRESH_EXTRA, parameters, rule_params
from pipelines.rules.state import (
    fresh_marts,
    mart_state,
    reusable_marts,
    rules_version,
    snapshot,
    usable_marts,
)
from pipelines.workcal import ensure_calendar

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "GAP_COLUMN",
    "MODEL_PREFIXES",
    "REFRESH_EXTRA",
    "bind",
    "calendar_covers",
    "calendar_plan",
    "check_calendar",
    "checks_calendar",
    "closure",
    "compose",
    "compute",
    "execute",
    "inline",
    "fresh_marts",
    "latest",
    "mart_state",
    "materialise",
    "order_by",
    "parameters",
    "reaches",
    "refs",
    "reusable_marts",
    "rule_params",
    "rules_version",
    "run",
    "run_from_scratch",
    "run_into",
    "snapshot",
    "uses_eval_at",
]


_SELECT_FINAL = "select * from final"


def _gap_in_result(table: pa.Table) -> None:
    import pyarrow.compute as pc  # only here: a rule command importing no Arrow starts faster

    year = pc.min(table[GAP_COLUMN]).as_py() if table.num_rows else None
    if year is not None:
        raise CalendarGapError(int(year))


def _matching(where: dict[str, Any]) -> str:
    """The SQL condition keeping the rows whose columns equal the given values ('' for none)."""
    return " and ".join(f"{column} = {sql_literal(value)}" for column, value in where.items())


def _statement(
    con: duckdb.DuckDBPyConnection,
    name: str,
    values: dict[str, Any],
    materialised: Collection[str] = (),
    reused: Collection[str] = (),
    where: dict[str, Any] | None = None,
    columns: Sequence[str] = (),
) -> tuple[str, bool]:
    """`compute`'s statement, its values written in, and whether its rows must then be checked
    for a calendar gap (`calendar_plan`); only `columns` (and the gap's) when given."""
    # a reused model with an `-- earlier:` query reads only its own table (built without a gap)
    leaves = {m for m in reused if earlier(m) is not None}
    check_own = calendar_plan(con, name, values, {*materialised, *leaves})
    bodies = reuse_bodies(reused)
    if not where and not columns:
        statement = compose(name, materialised, replaced=bodies, leaves=leaves)
        return inline(statement, values), check_own
    statement = compose(name, materialised, ordered=False, replaced=bodies, leaves=leaves)
    statement = statement.removesuffix(_SELECT_FINAL)
    gap = f" or {GAP_COLUMN} is not null" if check_own else ""
    cond = f"\nwhere ({_matching(where)}){gap}" if where else ""
    statement += f"select {_projection(columns, check_own)} from final{cond}\n{order_by(name)}"
    return inline(statement, values), check_own


def _projection(columns: Sequence[str], check_own: bool) -> str:
    """The select list of `columns` (all when none), with the calendar gap's when it is checked."""
    if not columns:
        return "*"
    return ", ".join([*columns, GAP_COLUMN] if check_own else columns)


def compute(
    con: duckdb.DuckDBPyConnection,
    name: str,
    values: dict[str, Any],
    materialised: Collection[str] = (),
    reused: Collection[str] = (),
    where: dict[str, Any] | None = None,
) -> pa.Table:
    """Compute a model (reading `materialised` models as tables, and the settled rows of the
    `reused` ones, `pipelines.rules.incremental`) as a sorted Arrow table; only the rows matching
    `where` (see `run`), filtered in SQL (a row needing an uncovered year is kept: it raises)."""
    statement, check_own = _statement(con, name, values, materialised, reused, where)
    table = con.execute(statement).to_arrow_table()
    if check_own:
        _gap_in_result(table)
    return table


def _plan(
    con: duckdb.DuckDBPyConnection,
    name: str,
    profile: Profile,
    as_of: dt.datetime | None,
    where: dict[str, Any],
    extra: dict[str, Any],
    columns: Sequence[str] = (),
) -> tuple[str, bool]:
    """`run`'s one statement (only `columns` when given) and whether its rows must be checked for
    a calendar gap; call inside `snapshot(con)` and run the statement in the same transaction."""
    facts = facts_at(con, as_of)
    values = parameters(profile, facts, extra, eval_at=as_of)
    fresh, reusable = usable_marts(con, profile, as_of, facts)
    same_extra = all(k in REFRESH_EXTRA and REFRESH_EXTRA[k] == v for k, v in extra.items())
    if name in fresh and same_extra:
        cond = _matching(where)
        statement = f"select {_projection(columns, False)} from {name}"
        statement += f" where {cond}" if cond else ""
        return f"{statement}\n{order_by(name)}", False
    upstream = set(closure(name, fresh))
    reused = reusable & upstream - {name}
    materialised = fresh & set(closure(name))
    return _statement(con, name, values, materialised, reused, where, columns)


def run(
    con: duckdb.DuckDBPyConnection,
    name: str,
    profile: Profile,
    as_of: dt.datetime | None = None,
    *,
    where: dict[str, Any] | None = None,
    **extra: Any,
) -> pa.Table:
    """Run a model (with everything it reads) and return its rows as an Arrow table.

    Fresh marts (`fresh_marts`) are read instead of recomputed: the model itself when it is one
    and was materialised with the same extra values, else the marts it reads. `where` keeps only
    the rows whose columns equal the given (non-null) values, in the model's order, filtered in
    SQL.
    """
    ensure_calendar(con)
    with snapshot(con):
        statement, check_own = _plan(con, name, profile, as_of, where or {}, extra)
        table = con.execute(statement).to_arrow_table()
    if check_own:
        _gap_in_result(table)
    return table


def run_into(
    con: duckdb.DuckDBPyConnection,
    target: str,
    name: str,
    profile: Profile,
    as_of: dt.datetime | None = None,
    *,
    columns: Sequence[str] = (),
    where: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    """`run`, its rows (only `columns` when given: DuckDB then computes no other) kept in the
    temporary table `target` in the model's order instead of returned (a command writes them to
    a file and counts them in SQL: no Arrow, no pandas). Call inside `snapshot(con)` and read
    `target` in the same transaction (the calendar is settled on the way: `calendar_plan`,
    `mart_state`)."""
    statement, check_own = _plan(con, name, profile, as_of, where or {}, extra, columns)
    con.execute(f"create or replace temp table {target} as\n{statement}")
    if check_own:
        _gap_in_table(con, target)


def _gap_in_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop table `name` and raise CalendarGapError when a row of it needs an uncovered year."""
    year = con.execute(f"select min({GAP_COLUMN}) from {name}").fetchone()[0]
    if year is not None:
        con.execute(f"drop table {name}")
        raise CalendarGapError(int(year))


def run_from_scratch(
    con: duckdb.DuckDBPyConnection,
    name: str,
    profile: Profile,
    as_of: dt.datetime | None = None,
    **extra: Any,
) -> pa.Table:
    """Run a model from the staging tables only, whatever marts exist (tests, benchmark);
    extra values default to the ones the marts are built with."""
    values = parameters(profile, facts_at(con, as_of), {**REFRESH_EXTRA, **extra}, eval_at=as_of)
    return compute(con, name, values)


def materialise(
    con: duckdb.DuckDBPyConnection,
    name: str,
    values: dict[str, Any],
    materialised: Collection[str],
) -> None:
    """(Re)create table `name` from its model, reading already materialised models as tables.

    Unsorted (readers sort). Raises CalendarGapError, leaving no table `name`, when the model
    needs a year the calendar does not cover.
    """
    check_own = calendar_plan(con, name, values, materialised)
    statement = compose(name, materialised, ordered=False)
    execute(con, f"create or replace table {name} as\n{statement}", values)
    if check_own:
        _gap_in_table(con, name)
