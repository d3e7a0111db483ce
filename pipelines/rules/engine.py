"""Run the rule models in `pipelines/sql/` (fct_*, audit_*, mart_*) as one DuckDB statement each.

A model is one `.sql` file holding one query that starts with `with` (dbt style) and ends with
`select * from final`, optionally followed by the `order by` of its user-facing result. Its header
says which other models it reads (`-- refs: fct_tasks, fct_cases`) and whether it carries the
column `calendar_gap_year` (`-- checks: calendar_gap_year`): a year the working-day calendar must
cover for the answer to be known. Running a model inlines the models it reads as CTEs (dbt's
"ephemeral" models), so the CLI, the marts and the tests all run the same SQL; `refresh_marts`
materialises them in order instead. Only the result a caller receives is sorted: inlined models
and materialised tables drop their `order by`. Values come from the rule profile, bound as
`$name` parameters — never formatted into SQL.

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
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.config import Profile
from pipelines.db import SQL_DIR, sql
from pipelines.errors import CalendarGapError
from pipelines.evaltime import facts_at
from pipelines.workcal import ensure_calendar

GAP_COLUMN = "calendar_gap_year"
_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")
_REFS = re.compile(r"^--\s*refs:(.*)$", re.MULTILINE)
_CHECKS = re.compile(r"^--\s*checks:\s*" + GAP_COLUMN + r"\s*$", re.MULTILINE)
_REACH = re.compile(
    r"^--\s*reach:\s*([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\s*\+\s*\$([a-z_][a-z0-9_]*)\s*$",
    re.MULTILINE,
)
_LATEST = re.compile(r"^--\s*latest:\s*([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
_FINAL = "\nselect * from final"
MODEL_PREFIXES = ("fct_", "audit_", "mart_")
# the extra values refresh_marts materialises the marts with
REFRESH_EXTRA: dict[str, Any] = {"year_from": None, "year_to": None}


def rule_params(profile: Profile) -> dict[str, Any]:
    """Every profile setting the rule models read, under the `$name` the SQL uses."""
    deadlines, strikes, penalty = (
        profile["deadlines"],
        profile["strikes"],
        profile["hospital_penalty"],
    )
    upload, qual, risk = profile["upload"], profile["expert_qualification"], profile["risk"]
    taiyuan = profile.data.get("taiyuan_rules", {})
    return {
        "profile_name": profile.name,
        "accept_hours": int(deadlines["accept_hours"]),
        "complete_workdays": int(deadlines["complete_workdays"]),
        "experts_per_case": int(profile["assign"]["experts_per_case"]),
        "strike_actions": list(strikes["actions"]),
        "strike_after_last": strikes["after_last"],
        "disqualify_at": int(strikes["disqualify_at"]),
        "penalty_num": int(penalty["rate_numerator"]),
        "penalty_den": int(penalty["rate_denominator"]),
        "penalty_min": int(penalty["min_disqualified"]),
        "fee_yuan": int(profile["fee"]["yuan_per_review"]),
        "upload_max_mb": upload["max_size_mb"],
        "pdf_from": dt.date.fromisoformat(upload["pdf_only_discharged_from"]),
        "pdf_format": upload["pdf_format"],
        "instant_workdays": int(profile["benefit"]["instant_within_workdays"]),
        "qual_titles": list(qual["titles"]),
        "qual_classes": list(qual["hospital_classes"]),
        "qual_ownership": list(qual["ownership"]),
        "risk_accept_hours": int(risk["accept_hours_ahead"]),
        "risk_complete_workdays": int(risk["complete_workdays_ahead"]),
        "reapply_max_failures": int(profile["reapply"]["max_failed_submissions"]),
        "ty_enabled": bool(taiyuan.get("enabled", False)),
        "ty_cycle_workdays": taiyuan.get("cycle_workdays"),
        "ty_publicity_workdays": taiyuan.get("publicity_workdays"),
        "ty_entry_workdays": taiyuan.get("entry_workdays"),
        "ty_recert_workdays": taiyuan.get("recert_workdays"),
        "ty_panel_min": taiyuan.get("panel_min_experts"),
    }


@cache
def _text(name: str) -> str:
    """A model's SQL without a trailing semicolon (files are read once per process)."""
    return sql(name).strip().rstrip(";").strip()


def refs(name: str) -> list[str]:
    """The models a model reads, from its `-- refs:` header line."""
    found = _REFS.search(_text(name))
    return [r.strip() for r in found.group(1).split(",") if r.strip()] if found else []


def checks_calendar(name: str) -> bool:
    """Whether the model carries `calendar_gap_year` (`-- checks: calendar_gap_year`)."""
    return bool(_CHECKS.search(_text(name)))


def reaches(name: str) -> list[tuple[str, str, str]]:
    """(table, column, parameter) of each `-- reach:` line: the calendar days the model needs."""
    return _REACH.findall(_text(name))


def latest(name: str) -> tuple[str, str] | None:
    """(table, column) of the model's `-- latest:` line, if it has one."""
    found = _LATEST.search(_text(name))
    return (found.group(1), found.group(2)) if found else None


def closure(name: str, materialised: Collection[str] = ()) -> list[str]:
    """The model and everything it reads, upstream first; materialised models are not entered."""
    order: list[str] = []

    def visit(model: str) -> None:
        if model in order or model in materialised:
            return
        for upstream in refs(model):
            visit(upstream)
        order.append(model)

    visit(name)
    return order


@cache
def _parts(name: str) -> tuple[str, str]:
    """The model's query from `with` to `select * from final`, and its trailing `order by`."""
    lines = _text(name).splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    body = "\n".join(lines)
    if not body.lower().startswith("with"):
        raise ValueError(f"model {name} must start with a `with` clause")
    head, final, tail = body.rpartition(_FINAL)
    tail = tail.strip()
    if not final or (tail and not tail.lower().startswith("order by")):
        raise ValueError(f"model {name} must end with `select * from final` [order by …]")
    return head + final, tail


def order_by(name: str) -> str:
    """The `order by …` of the model's user-facing result ('' when it has none)."""
    return _parts(name)[1]


def _ctes(models: Iterable[str]) -> list[str]:
    return [f"{m} as (\n{_parts(m)[0]}\n)" for m in models]


def compose(name: str, materialised: Collection[str] = (), ordered: bool = True) -> str:
    """One statement: the models `name` reads as CTEs, then the model's own CTEs and select.

    Upstream models are inlined without their `order by`; the model's own is kept when
    `ordered` (a result handed to a caller), dropped otherwise (a table to materialise).
    """
    upstream = _ctes(closure(name, materialised)[:-1])
    query, order = _parts(name)
    own = f"{query}\n{order}" if ordered and order else query
    if not upstream:
        return own
    return "with\n" + ",\n".join(upstream) + ",\n" + own[len("with") :].lstrip()


def bind(statement: str, values: dict[str, Any]) -> dict[str, Any]:
    """The parameters a statement uses (DuckDB rejects unused ones); a missing one is a bug."""
    return {p: values[p] for p in sorted(set(_PARAM.findall(statement)))}


def parameters(
    profile: Profile,
    as_of: dt.datetime | None,
    extra: dict[str, Any],
    eval_at: dt.datetime | None = None,
) -> dict:
    """The profile's settings, the instant facts are judged at `$as_of` (never after the data
    cut-off, DATA-CUTOFF), the evaluation time asked for `$eval_at` (default: `$as_of`) and a
    model's own extra values."""
    return {
        **rule_params(profile),
        "as_of": as_of,
        "eval_at": eval_at if eval_at is not None else as_of,
        **extra,
    }


@cache
def uses_eval_at(name: str) -> bool:
    """Whether the model (or one it reads) depends on `$eval_at` besides `$as_of`."""
    return "eval_at" in _PARAM.findall(compose(name))


# ---- the working-day calendar ------------------------------------------------------------------

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
            if not con.execute(statement, {"n": n}).fetchone()[0]:
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
    year = con.execute(statement, bind(statement, values)).fetchone()[0]
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


# ---- fresh marts -------------------------------------------------------------------------------


@cache
def _models_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(SQL_DIR.rglob("*.sql"), key=lambda p: p.name):
        if path.name.startswith(MODEL_PREFIXES):
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def rules_version(profile: Profile) -> str:
    """What the marts' answers depend on besides the data: the profile's settings and the SQL."""
    settings = json.dumps(rule_params(profile), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256((settings + "\0" + _models_digest()).encode()).hexdigest()


# big tables: row count and load ids (every load through the ingest is a new load_id in
# load_log and stamps the rows it adds or changes); small ones: a hash of every row
_STATE_SQL = """
select
    (select coalesce(max(load_id), 0) from load_log) as last_load_id,
    (select max(fingerprint) from calendar_meta) as calendar_fingerprint,
    concat_ws(
        '|',
        (select count(*) || ':' || count(load_id) || ':' || coalesce(sum(load_id), 0)
            || ':' || coalesce(max(load_id), 0) from stg_tasks),
        (select count(*) || ':' || count(load_id) || ':' || coalesce(sum(load_id), 0)
            || ':' || coalesce(max(load_id), 0) from stg_cases),
        (select count(*) || ':' || coalesce(sum(hash(e)), 0) from stg_experts as e),
        (select count(*) || ':' || coalesce(sum(hash(h)), 0) from stg_hospitals as h),
        (select count(*) || ':' || coalesce(sum(hash(d)), 0) from ref_diseases as d),
        (select count(*) || ':' || coalesce(sum(hash(o)), 0) from stg_panel_opinions as o),
        (select count(*) || ':' || coalesce(sum(hash(r)), 0) from stg_recerts as r),
        (select count(*) || ':' || coalesce(max(record_no), 0) from draw_log
            where kind in ('strike_decision', 'outage', 'action_done', 'sanction'))
    ) as source_state
"""


def mart_state(con: duckdb.DuckDBPyConnection, profile: Profile) -> dict[str, Any]:
    """What `mart_meta` records besides as_of so a later run can tell the marts are current:
    the rule profile and SQL (`rules_version`), the last load (`last_load_id`), the calendar
    (`calendar_fingerprint`) and the staging tables' row counts and load ids (`source_state`)."""
    ensure_calendar(con)
    last_load_id, fingerprint, source_state = con.execute(_STATE_SQL).fetchone()
    return {
        "rules_version": rules_version(profile),
        "last_load_id": int(last_load_id),
        "calendar_fingerprint": fingerprint,
        "source_state": source_state,
    }


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name = current_schema()"
        ).fetchall()
    }


@contextmanager
def snapshot(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Read in one transaction (the caller's, if one is open), so a refresh committing between
    two statements cannot mix old and new tables."""
    try:
        con.begin()
    except duckdb.TransactionException:  # already inside the caller's transaction
        yield
        return
    try:
        yield
    finally:
        con.rollback()


def fresh_marts(
    con: duckdb.DuckDBPyConnection, profile: Profile, as_of: dt.datetime | None
) -> set[str]:
    """The materialised marts that hold exactly what their models compute now for this profile
    and evaluation time (as asked: facts are judged at it bounded by the data cut-off); empty
    when `mart_meta` is missing or differs in anything it records.

    Call inside `snapshot(con)` and read the tables in the same transaction.
    """
    tables = _tables(con)
    if "mart_meta" not in tables:
        return set()
    cursor = con.execute("select * from mart_meta")
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    if len(rows) != 1:
        return set()
    meta = dict(zip(names, rows[0], strict=True))
    if meta.get("profile") != profile.name:
        return set()
    state = mart_state(con, profile)
    if any(meta.get(k) != v for k, v in state.items()):
        return set()
    built = {m for m in meta.get("marts") or [] if m in tables}
    if as_of is not None and meta["as_of"] == facts_at(con, as_of):
        if meta.get("eval_at") == as_of:
            return built
        return {m for m in built if not uses_eval_at(m)}
    if as_of is not None:
        return set()
    # as_of null: only models that use it to drop later rows, when none is later
    fresh = set()
    for model in built:
        column = latest(model)
        if column is None:
            continue
        top = con.execute(f"select max({column[1]}) from {column[0]}").fetchone()[0]
        if top is None or top <= meta["as_of"]:
            fresh.add(model)
    return fresh


# ---- running models ----------------------------------------------------------------------------


def _gap_in_result(table: pa.Table) -> None:
    year = pc.min(table[GAP_COLUMN]).as_py() if table.num_rows else None
    if year is not None:
        raise CalendarGapError(int(year))


def compute(
    con: duckdb.DuckDBPyConnection,
    name: str,
    values: dict[str, Any],
    materialised: Collection[str] = (),
) -> pa.Table:
    """Compute a model (reading `materialised` models as tables) as a sorted Arrow table."""
    check_own = calendar_plan(con, name, values, materialised)
    statement = compose(name, materialised)
    table = con.execute(statement, bind(statement, values)).to_arrow_table()
    if check_own:
        _gap_in_result(table)
    return table


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
    the rows whose columns equal the given (non-null) values, in the model's order: filtered in
    SQL when the model is read from its mart, otherwise after computing it.
    """
    ensure_calendar(con)
    facts = facts_at(con, as_of)
    values = parameters(profile, facts, extra, eval_at=as_of)
    where = where or {}
    with snapshot(con):
        fresh = fresh_marts(con, profile, as_of)
        same_extra = all(k in REFRESH_EXTRA and REFRESH_EXTRA[k] == v for k, v in extra.items())
        if name in fresh and same_extra:
            cond = " and ".join(f"{column} = ?" for column in where)
            statement = f"select * from {name}" + (f" where {cond}" if cond else "")
            statement += f"\n{order_by(name)}"
            return con.execute(statement, list(where.values())).to_arrow_table()
        table = compute(con, name, values, fresh & set(closure(name)))
    for column, value in where.items():
        table = table.filter(pc.equal(table[column], value))
    return table


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
    con.execute(f"create or replace table {name} as\n{statement}", bind(statement, values))
    if check_own:
        year = con.execute(f"select min({GAP_COLUMN}) from {name}").fetchone()[0]
        if year is not None:
            con.execute(f"drop table {name}")
            raise CalendarGapError(int(year))
