"""Materialise the tables the dashboard reads, all as of one evaluation time, in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import cache
from typing import Any

import duckdb

from pipelines.config import Profile
from pipelines.db import begin, commit
from pipelines.errors import CalendarGapError
from pipelines.evaltime import resolve
from pipelines.rules.engine import (
    REFRESH_EXTRA,
    compose,
    execute,
    mart_state,
    materialise,
    parameters,
    refs,
)
from pipelines.rules.graph import insert_values
from pipelines.rules.incremental import (
    by_month,
    by_rule,
    by_rule_reads,
    delta_keyed,
    delta_values,
    drop_redone,
    month_witnesses,
    numbered,
    reads_changed,
    rebuild_diffed,
    refresh_by_month,
    refresh_by_rule,
    refresh_delta,
    refresh_numbered,
    witnessed,
)

MARTS = [
    "fct_tasks",
    "fct_strikes_raw",
    "fct_strikes",
    "fct_disqualifications",
    "fct_experts",
    "fct_cases",
    "fct_benefits",
    "mart_hospital_penalty",
    "mart_fees",
    "mart_archive_by_hospital",
    "mart_archive",
    "mart_at_risk",
    "mart_action_ledger",
    "mart_strike_evidence",
    "dim_hospitals",
    "dim_experts",
    "dim_cases",
    "mart_violation_events",
    "mart_violations",
    "mart_expert_timeliness",
    "mart_task_timeline",
    "mart_monthly_kpis",
    "mart_ty_cases",
    "mart_ty_recerts",
    "mart_ty_hospital",
    "mart_ty_monthly_kpis",
    "mart_meta",
]

# a mart stored as a view of the columns of its model in another mart that holds its rows with
# more columns, computed in the same pass (the 12 M breaches are not computed twice)
VIEWS = {"mart_violations": "mart_violation_events"}


def _previous_meta(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The mart_meta row of the marts as they stand before this refresh (None: none)."""
    try:
        cursor = con.execute("select * from mart_meta")
    except duckdb.CatalogException:
        return None
    rows = cursor.fetchall()
    names = [d[0] for d in cursor.description]
    return dict(zip(names, rows[0], strict=True)) if len(rows) == 1 else None


def _delta(name: str, delta: dict | None, previous: dict | None, redone: list[str]) -> bool:
    """Whether the keyed model's stored table can be brought forward in place (`incremental`):
    every model it reads was brought forward so in this run (`redone`)."""
    if delta is None or delta_keyed(name) is None or not set(refs(name)) <= set(redone):
        return False
    return name in (previous.get("marts") or []) and not reads_changed(name, delta)


def _by_rule(name: str, delta: dict | None, previous: dict | None, redone: list[str]) -> bool:
    """Whether a `-- by rule:` model's stored table can be brought forward audit by audit: the
    models it joins were brought forward by key in this run."""
    if delta is None or by_rule(name) is None or name not in (previous.get("marts") or []):
        return False
    joined = set(refs(name)) - {by_rule(name)}
    return joined <= set(redone) and not reads_changed(name, delta)


@cache
def _read_by_delta() -> set[str]:
    """The models a `-- delta:` model reads, or a `-- by rule:` model redoes keyed audits by."""
    return (
        {r for m in MARTS if delta_keyed(m) for r in refs(m)}
        | {r for m in MARTS for r in by_rule_reads(m)}
        | {numbered(m)[0] for m in MARTS if numbered(m)}
    )


@cache
def _redone_read() -> set[str]:
    """The models whose rows redone in a refresh after a load (`redone_table`) some model reads:
    `_read_by_delta`, the models a `-- by rule:` model joins and the witnesses of the months of
    a `-- by month:` mart. Another model's are not kept."""
    joined = {r for m in MARTS if by_rule(m) for r in refs(m) if r != by_rule(m)}
    return _read_by_delta() | joined | {w for m in MARTS for w in month_witnesses(m)}


def _by_month(name: str, delta: dict | None, previous: dict | None, redone: list[str]) -> bool:
    """Whether a `-- by month:` mart's stored table can be brought forward month by month: the
    models whose redone rows tell the months were brought forward so in this run."""
    if delta is None or by_month(name) is None or name not in (previous.get("marts") or []):
        return False
    return month_witnesses(name) <= set(redone) and not reads_changed(name, delta)


def _numbered(name: str, delta: dict | None, previous: dict | None, redone: list[str]) -> bool:
    """Whether a `-- numbered:` model's stored table can be brought forward group by group: the
    model it numbers the rows of was brought forward so in this run."""
    if delta is None or numbered(name) is None or name not in (previous.get("marts") or []):
        return False
    return numbered(name)[0] in redone and not reads_changed(name, delta)


def drop_mart(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a mart's table or view, whichever it is (none: nothing)."""
    kind = "view" if name in VIEWS else "table"
    other = {"view": "table", "table": "view"}[kind]
    try:
        con.execute(f"drop {kind} if exists {name}")
    except duckdb.CatalogException:  # stored as the other kind by an earlier version
        con.execute(f"drop {other} if exists {name}")


def _view(con: duckdb.DuckDBPyConnection, name: str, values: dict, done: list[str]) -> None:
    """(Re)create the view `name` over its mart of `VIEWS`: the model's columns (from the
    model's own query), every row of that mart."""
    statement = compose(name, done, ordered=False)
    columns = [r[0] for r in execute(con, f"describe {statement}", values).fetchall()]
    drop_mart(con, name)
    con.execute(f"create view {name} as select {', '.join(columns)} from {VIEWS[name]}")


def _refresh(con, name, values, done, delta, previous, redone) -> None:
    """Bring one model's table to `values` (in place by key, or whole, keeping what changed
    when a `-- delta:` model reads it), noting in `redone` the ones whose changes are kept."""
    if name in VIEWS:
        _view(con, name, values, done)
        return
    if _by_rule(name, delta, previous, redone):
        keep = witnessed(con, name, MARTS)
        refresh_by_rule(con, name, values | delta, redone, done, keep)
        if keep:
            redone.append(name)
        return
    if _by_month(name, delta, previous, redone):
        refresh_by_month(con, name, values | delta, name in _redone_read())
    elif _numbered(name, delta, previous, redone):
        refresh_numbered(con, name, values | delta)
    elif _delta(name, delta, previous, redone):
        refresh_delta(con, name, values | delta, name in _redone_read())
    elif delta and name in _read_by_delta() and name in (previous.get("marts") or []):
        rebuild_diffed(con, name, lambda: materialise(con, name, values, done))
    else:
        materialise(con, name, values, done)
        return
    redone.append(name)


def refresh_marts(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.datetime | None,
    profile: Profile,
    *,
    own_transaction: bool = True,
    commit_guard: Callable[[], AbstractContextManager] = nullcontext,
) -> dict[str, int]:
    """Rebuild every fct_/mart_ table as of as_of in one transaction; returns rows per table.

    `as_of` is the evaluation time asked for (None: the data cut-off, DATA-CUTOFF); facts are
    judged at it bounded by the cut-off.

    A table whose answer needs a year the working-day calendar does not cover (and every table
    built on it) is dropped rather than left stale, and listed in `mart_gaps` (mart, year) so
    the pages that need it can say so plainly while the others keep working. With
    `own_transaction=False` it runs inside the caller's transaction (an ingest's).

    `mart_meta` records what the tables were computed from (evaluation time, profile and rule
    SQL, last load, staging row counts, calendar) and which tables were built, so the rule
    functions can read them instead of recomputing while all of that is unchanged
    (`pipelines.rules.engine.fresh_marts`).
    """
    done: list[str] = []
    redone: list[str] = []
    gaps: list[tuple[str, int]] = []
    if own_transaction:
        begin(con)
    try:
        when = resolve(con, as_of)
        values = parameters(profile, when.facts_at, dict(REFRESH_EXTRA), eval_at=when.eval_at)
        values["data_cutoff"] = when.cutoff
        previous = _previous_meta(con)
        values.update(mart_state(con, profile))
        delta = delta_values(previous, values, when.facts_at)
        for name in MARTS:
            values["marts"] = list(done)
            if name in VIEWS and VIEWS[name] not in done:  # its mart has a gap
                gaps.append((name, dict(gaps)[VIEWS[name]]))
                drop_mart(con, name)
                continue
            try:
                _refresh(con, name, values, done, delta, previous, redone)
            except CalendarGapError as exc:
                gaps.append((name, exc.year))
                drop_mart(con, name)
                continue
            done.append(name)
        drop_redone(con, MARTS)
        con.execute("create or replace table mart_gaps (mart varchar, year integer)")
        insert_values(con, "mart_gaps", gaps)
        counts = {n: con.execute(f"select count(*) from {n}").fetchone()[0] for n in done}
        if own_transaction:
            with commit_guard():
                commit(con)
    except BaseException:
        if own_transaction:
            con.rollback()
        raise
    return counts
