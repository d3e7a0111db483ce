"""Reuse a materialised model's settled rows at another evaluation time (issue 13).

A model with one row per row of a staging table can say so in three header lines:

    -- keyed: stg_tasks(task_id, case_id, expert_id, pushed_at, responded_at, response, ...)
    -- present: pushed_at <= $as_of
    -- settled: responded_at <= $as_of
    --     and (completed_at <= $as_of or completed_at is null and not is_accepted_on_time)

`keyed`: each row of the model belongs to one row of that table (by the first column, its key);
the model reads the table row by row and only the columns listed, and passes them through as they
were at `$as_of` (later events nulled) — so computing it over some of the table's rows gives
exactly those rows' answers, and a stored row is as good a source as the staging row for any
earlier evaluation time. `present`: which rows exist at `$as_of`. `settled`: a present row whose
every event lies at or before `$as_of`, so that the row is the same at every later evaluation
time (over the model's own output columns; null counts as not settled).

When the table was materialised at a time Y (`mart_meta`, same data, rules and calendar) and a
command asks for X <= Y, the rows present and settled at X are read from the table; only the
others (present at X, not settled: tasks still open, a few percent) are computed from the
staging table — dbt's incremental model with a `unique_key`, turned around to answer an earlier
time from a later materialisation.

After a load, `refresh_delta` brings such a table forward in place by its key. A model that reads
other models can be refreshed so too, but not reused at an earlier time, with `-- delta:
table(key)` in place of `keyed:` (and the same `present`/`settled` lines, judged on its stored
rows): its rows of a key are computed from the rows of its table and of the models it reads that
carry that key, so it redoes the keys carried by the rows those models redid (`redone_table`; a
model rebuilt whole for such a reader keeps the rows that changed, `rebuild_diffed`) and computes
them over those keys' rows alone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection
from functools import cache
from typing import Any

import duckdb

from pipelines.errors import CalendarGapError
from pipelines.rules.graph import (
    GAP_COLUMN,
    _parts,
    _text,
    checks_calendar,
    compose,
    execute,
    refs,
    sql_literal,
)

_KEYED = re.compile(r"^--\s*keyed:\s*([a-z_][a-z0-9_]*)\(([a-z0-9_,\s]+)\)\s*$", re.MULTILINE)
_DELTA = re.compile(r"^--\s*delta:\s*([a-z_][a-z0-9_]*)\(([a-z0-9_]+)\)\s*$", re.MULTILINE)
_PRESENT = re.compile(r"^--\s*present:\s*(.+?)\s*$", re.MULTILINE)
_SETTLED = re.compile(r"^--\s*settled:\s*(.+?)\s*$", re.MULTILINE)
_GO_ON = re.compile(r"\s*\n--\s{4,}")  # a header line goes on over lines indented `--     …`


@cache
def keyed(name: str, header: re.Pattern = _KEYED) -> tuple[str, list[str], str, str] | None:
    """(table, columns read (key first), present, settled) of a model with all three header
    lines, else None."""
    text = _GO_ON.sub(" ", _text(name))
    found = header.search(text), _PRESENT.search(text), _SETTLED.search(text)
    if not all(found):
        return None
    table, columns = found[0].group(1), [c.strip() for c in found[0].group(2).split(",")]
    present = found[1].group(1)
    settled = found[2].group(1)
    return table, columns, present, settled


def delta_keyed(name: str) -> tuple[str, list[str], str, str] | None:
    """`keyed`, or the same from a `-- delta: table(key)` line: a model refreshed in place by
    key (`refresh_delta`) that reads models besides its table (each refreshed so in the same
    run), so it cannot answer an earlier time from its stored rows (`reuse_body`)."""
    return keyed(name) or keyed(name, _DELTA)


_EARLIER = re.compile(r"^--\s*earlier:\s*(.+?)\s*$", re.MULTILINE)


@cache
def earlier(name: str) -> str | None:
    """The model's `-- earlier:` query (its answer at an earlier `$as_of` read from its own table
    materialised later, reading nothing else), else None."""
    found = _EARLIER.search(_GO_ON.sub(" ", _text(name)))
    return found.group(1) if found else None


def reuse_body(name: str) -> str:
    """The model's CTE body answering at `$as_of` from its table materialised at a later time:
    its `-- earlier:` query, else the settled rows as stored and the other present rows computed
    again from what they carry."""
    if earlier(name) is not None:
        return earlier(name)
    table, columns, present, settled = keyed(name)
    query = _parts(name)[0]
    stored = f"main.{name}"
    is_settled = f"coalesce({settled}, false)"
    return (
        f"select * from {stored} where ({present}) and {is_settled}\n"
        f"union all\n(\nwith {table} as (\n"
        f"    select {', '.join(columns)} from {stored}\n"
        f"    where ({present}) and not {is_settled}\n"
        f"),\n{query[len('with') :].lstrip()}\n)"
    )


def reuse_bodies(models: Collection[str]) -> dict[str, str]:
    """Each model's CTE body reading its settled rows (see `reuse_body`)."""
    return {m: reuse_body(m) for m in models}


# ---- a refresh after a load: only the changed and the open rows ------------------------------

_AS_OF = re.compile(r"\$as_of\b")
# parts of mart_state's source_state (tasks|cases|experts|hospitals|diseases|draw_log) a keyed
# model may read besides its table and stg_cases: they must be unchanged for a delta refresh
_SAME_PARTS = (2, 4)
# parts a model may read only unchanged (else it is rebuilt whole): (part, table)
_SAME_IF_READ = (
    (3, "stg_hospitals"),
    (7, "strike_decisions_latest"),  # draw_log's decisions and outages
    (7, "outages"),
)


def _at_previous(predicate: str) -> str:
    return _AS_OF.sub("$prev_as_of", predicate)


# the column of a `redone_table` telling the rows inserted (true) from those deleted (false)
NEW = "redone_new"


def redone_table(name: str) -> str:
    """The temp table `refresh_delta` leaves behind: the model's rows it deleted and inserted
    (column `NEW` false / true), so a model reading this one redoes the keys they carry."""
    return f"_redone_{name}"


def _changed_cases() -> str:
    return f"select case_id from main.stg_cases where {_changed()}"


def _changed() -> str:
    """The staging rows loaded since load `$prev_load_id` (or with none): a range on load_id
    pushed into the scan, where the zone maps skip every row group loaded before (a load
    appends its rows)."""
    return "(load_id > $prev_load_id or load_id is null)"


_AT_MOST = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*<=\s*\$as_of\s*$")


def _absent(present: str) -> str:
    """The rows not present at `$prev_as_of`: for `column <= $as_of` a range on that column
    (the zone maps skip the row groups of earlier times), for `true` none, else the predicate
    negated as written."""
    if present.strip() == "true":
        return "false"
    if found := _AT_MOST.match(present):
        return f"({found.group(1)} > $prev_as_of or {found.group(1)} is null)"
    return f"not coalesce({_at_previous(present)}, false)"


def _events(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """The time columns a model over a staging table passes through (as they were at `$as_of`:
    a later event nulled, with what it carries)."""
    table, columns = delta_keyed(name)[:2]
    if not table.startswith("stg_") or len(columns) == 1:
        return []
    kinds = dict(
        con.execute(
            "select column_name, data_type from duckdb_columns() where database_name = "
            "current_database() and schema_name = current_schema() and table_name = "
            + sql_literal(table)  # no bound parameter: DuckDB would import pandas for it
        ).fetchall()
    )
    return [c for c in columns[1:] if kinds.get(c, "").startswith(("TIMESTAMP", "DATE"))]


def _none_gone(con: duckdb.DuckDBPyConnection, name: str, values: dict[str, Any]) -> bool:
    """Whether every stored row of a model over a staging table still has its staging row: the
    stored rows are as many as the staging rows unchanged since load `$prev_load_id` and present
    at `$prev_as_of` (each stored) and the stored rows whose staging row changed since: counts,
    not a join of every key (the ingest never deletes a staging row; when one was deleted by
    other means, the counts differ and `_again_sql` joins the keys)."""
    table, columns, present = delta_keyed(name)[:3]
    key = columns[0]
    changed = f"select {key} from main.{table} where {_changed()}"
    # unchanged and present = all − changed − unchanged and absent: each a range the zone
    # maps prune, not a predicate over every staging row
    return execute(
        con,
        f"select (select count(*) from main.{name}) = "
        f"(select count(*) from main.{table})"
        f" - (select count(*) from main.{table} where {_changed()})"
        f" - (select count(*) from main.{table} where load_id <= $prev_load_id"
        f" and {_absent(present)})"
        f" + (select count(*) from main.{name} where {key} in ({changed}))",
        values,
    ).fetchone()[0]


def _redone_values(column: str, model: str, listed: Collection[str] | None) -> str:
    """The query of the values of `column` a model's redone rows carry; with the columns a
    reader lists (`-- reads:`), only those of the (column, listed) tuples that do not cancel out
    (as many deleted as inserted: unchanged for that reader)."""
    query = f"select {column} from {redone_table(model)}"
    if listed is None:
        return query
    tuple_ = ", ".join(dict.fromkeys([column, *listed]))
    return f"{query} group by {tuple_} having sum(case when {NEW} then 1 else -1 end) <> 0"


def _again_sql(name: str, events: Collection[str] = (), gone: bool = True) -> str:
    """The keys `refresh_delta` computes again: their staging row or case changed since load
    `$prev_load_id`, not present at `$prev_as_of`, an event of it (`events`) after that time (its
    stored row has it nulled), or gone (`gone`: some may be), a row of a model it reads redone
    with their key, or their stored row not settled at `$prev_as_of`."""
    table, columns, present, settled = delta_keyed(name)
    key = columns[0]
    was_settled = f"({_at_previous(present)}) and coalesce({_at_previous(settled)}, false)"
    keys = [_redone_values(key, m, reads(name).get(m)) for m in refs(name)]
    if table.startswith("stg_"):
        # one branch per reason, each a range pushed into the scan (an OR of them would be
        # evaluated over every staging row)
        rows = f"select {key} from main.{table} where"
        absent = _absent(present)
        branches = [
            _changed(),
            absent,
            *(f"{e} > $prev_as_of" for e in events if f"({e} > $prev_as_of" not in absent),
            *([] if table == "stg_cases" else [f"case_id in ({_changed_cases()})"]),
        ]
        keys += [f"{rows} {b}" for b in branches if b != "false"]
        if gone:
            keys.append(
                f"select {key} from main.{name} where {key} not in (select {key} from main.{table})"
            )
    keys.append(f"select {key} from main.{name} where not ({was_settled})")
    return "create or replace temp table _again as\n" + "\nunion\n".join(keys)


def _delta_sql(
    name: str, events: Collection[str] = (), gone: bool = True, keep: bool = True
) -> list[str]:
    """The statements of `refresh_delta`: the keys to compute again (`_again_sql`), the rows
    going kept in `redone_table` (`keep`), the delete, the model over those keys' rows of its
    table and the models it reads computed into a temp table, inserted and kept (not read back
    from the table: a scan of every column of it)."""
    table, columns = delta_keyed(name)[:2]
    key, query = columns[0], _parts(name)[0]
    again = _again_sql(name, events, gone)
    redo = f"{key} in (select {key} from _again)"
    only = f"where {redo}"
    inputs = [
        f"{t} as (select {_projected(name, t)} from main.{t} {only})"
        for t in dict.fromkeys([table, *refs(name)])
    ]
    if table.startswith("stg_"):
        # the staging rows loaded since sit at the table's end: read where the zone maps find
        # them, and the other keys' rows (open tasks…) by the semi-join, a scan of every column
        # of every row that costs nothing when no such key is left
        rest = f"select {key} from _again except select {key} from main.{table} where {_changed()}"
        columns = _projected(name, table)
        inputs[0] = (
            f"{table} as (select {columns} from main.{table} where {_changed()} and {redo}\n"
            f"    union all select {columns} from main.{table} where {key} in ({rest}))"
        )
    inserted = f"with {', '.join(inputs)},\n{query[len('with') :].lstrip()}"
    kept = [
        f"create or replace temp table {redone_table(name)} as\n"
        f"select *, false as {NEW} from main.{name} where {redo}",
        f"insert into {redone_table(name)} select *, true from _inserted",
    ]
    return [
        again,
        *(kept[:1] if keep else []),
        f"delete from main.{name} where {redo}",
        f"create or replace temp table _inserted as\n{inserted}",
        f"insert into main.{name} select * from _inserted",
        *(kept[1:] if keep else []),
        "drop table _inserted",
    ]


def refresh_delta(
    con: duckdb.DuckDBPyConnection, name: str, values: dict[str, Any], keep: bool = True
) -> None:
    """Bring the model's table from `$prev_as_of` to `$as_of` in place (dbt-duckdb's incremental
    `delete+insert` on the model's unique key, the keys found by load ids rather than a time
    column): the rows whose staging row or case changed since load `$prev_load_id`, that were
    pushed later or were still open then, whose row of a model it reads was redone, or whose
    task is gone, are deleted and computed again; every other stored row was settled then and
    stays as it is. The rows deleted and inserted stay in `redone_table(name)` till the
    transaction ends or `drop_redone` (`keep`; no model reading them: not kept, a copy of every
    column of tens of thousands of rows saved). Raises CalendarGapError (the
    table then holds a gap) like `engine.materialise`."""
    table = delta_keyed(name)[0]
    gone = table.startswith("stg_") and not _none_gone(con, name, values)
    for statement in _delta_sql(name, _events(con, name), gone, keep):
        execute(con, statement, values)
    con.execute("drop table _again")
    if checks_calendar(name):
        year = con.execute(f"select min({GAP_COLUMN}) from {name}").fetchone()[0]
        if year is not None:
            raise CalendarGapError(int(year))


def rebuild_diffed(con: duckdb.DuckDBPyConnection, name: str, rebuild: Callable[[], None]) -> None:
    """Rebuild the model's table whole (`rebuild`) and keep the rows that differ from before in
    `redone_table(name)`, so a model reading it (`-- delta:`) redoes the keys they carry."""
    con.execute(f"create or replace temp table _before as select * from main.{name}")
    rebuild()
    con.execute(
        f"create or replace temp table {redone_table(name)} as\n"
        f"select *, true as {NEW} from (select * from main.{name} except all select * from _before)"
        f"\nunion all\n"
        f"select *, false from (select * from _before except all select * from main.{name})"
    )
    con.execute("drop table _before")


def drop_redone(con: duckdb.DuckDBPyConnection, names: Collection[str]) -> None:
    """Drop the `redone_table`s `refresh_delta` left for these models."""
    for name in names:
        con.execute(f"drop table if exists {redone_table(name)}")


def delta_values(meta: dict | None, state: dict, as_of: object) -> dict | None:
    """`$prev_as_of` and `$prev_load_id` for `delta_statement` when the stored marts (`meta`, the
    mart_meta row before this refresh) can be carried forward to `state` at `as_of`; else None."""
    if not meta or meta.get("as_of") is None or as_of is None or meta["as_of"] > as_of:
        return None
    if any(meta.get(k) != state[k] for k in ("rules_version", "calendar_fingerprint")):
        return None
    old, new = str(meta.get("source_state", "")).split("|"), state["source_state"].split("|")
    if len(old) != len(new) or any(old[i] != new[i] for i in _SAME_PARTS):
        return None
    changed = [t for i, t in _SAME_IF_READ if old[i] != new[i]]
    return {
        "prev_as_of": meta["as_of"],
        "prev_load_id": int(meta.get("last_load_id") or 0),
        "changed_tables": changed,
    }


def reads_changed(name: str, delta: dict) -> bool:
    """Whether the model reads a table `delta_values` found changed (one not in `_SAME_PARTS`)."""
    return any(re.search(rf"\b{t}\b", _text(name)) for t in delta["changed_tables"])


# ---- a mart of every audit's rows, refreshed audit by audit ----------------------------------
#
# `-- by rule: mart_violations` on a model that reads that union of audits (and joins each row to
# models refreshed by key): after a load its rows are deleted and inserted audit by audit (one
# rule id each, audit_zz_strike_after → ZZ-STRIKE-AFTER). An audit with `-- by: task_id,
# expert_id` (finest first) has rows that follow from the rows of the models it reads carrying the
# same value of one of those columns: it redoes the rows whose column holds a value the redone
# rows of a model it reads (`redone_table`) carry in the finest of those columns that model has
# (or the one `model.column` names), computed over those rows of the models giving the first
# column (the others read whole). An entry `group of column` (`person_id of case_id`: a
# submission breaks ZZ-REAPPLY by the person's earlier ones) says the audit's rows follow from
# its models' rows of one value of `group`, a column its rows do not carry: it redoes the groups
# the redone rows carry, computed over every row of those groups, and deletes the rows whose
# `column` value some row of such a group holds in a model giving it — stored now or deleted
# (its redone rows of both kinds: a row moved to another group is redone in both). Sound when
# every row of a group has it in those models and a changed row is redone there (`refresh_delta`;
# stg_cases' person_id is never null). Any other audit is computed again whole.
#
# `-- reads: fct_cases(case_id, outcome, …), stg_cases(case_id, category)` on a keyed audit (on
# the `-- by rule:` model, for the models it joins; on a `-- delta:` model, for the models it
# reads besides its table) lists every column it reads of those tables:
# a model's redone rows then give the values to redo only where their tuples of those columns
# (the `-- by:` column among them) do not cancel out — a task whose lateness grew a day, read by
# none of them, redoes nothing — and a staging table's the rows loaded since `$prev_load_id`.
# Sound when its rows of a value follow from those columns alone (and from unchanged tables and
# parameters): an audit reading `$as_of` may not say it. The inputs are those columns alone, so a
# column read but not listed fails the refresh (its tests) rather than going unnoticed.

_BY = re.compile(r"^--\s*by:\s*([a-z0-9_.,\s]+?)\s*$", re.MULTILINE)
_BY_RULE = re.compile(r"^--\s*by rule:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def by_rule(name: str) -> str | None:
    """The union of audits a `-- by rule:` model is refreshed audit by audit from, else None."""
    found = _BY_RULE.search(_text(name))
    return found.group(1) if found else None


def by_columns(audit: str) -> list[str]:
    """The columns of an audit's `-- by:` line, finest first (none: computed whole); an entry
    `model.column` names the column that model's redone rows give instead of its finest one."""
    found = _BY.search(_text(audit))
    return [c.strip() for c in found.group(1).split(",")] if found else []


def _group(entry: str) -> tuple[str, str]:
    """(the column a model's redone rows give, the audit rows' column) of a `-- by:` entry:
    `person_id of case_id` → (person_id, case_id); any other entry is both."""
    group, _, column = entry.partition(" of ")
    return group.strip(), (column or group).strip()


def _gives(audit: str, model: str, columns: Collection[str]) -> str | None:
    """The `-- by:` column whose values a model's redone rows give: the one named for it, else
    the finest unqualified one it has."""
    entries = by_columns(audit)
    named = [e.split(".")[1] for e in entries if e.startswith(f"{model}.")]
    groups = [_group(e)[0] for e in entries if "." not in e]
    return (named or [c for c in groups if c in columns] or [None])[0]


_READS = re.compile(r"^--\s*reads:\s*(.+?)\s*$", re.MULTILINE)
_READ = re.compile(r"([a-z_][a-z0-9_]*)\(([a-z0-9_,\s]+)\)")
_COMMENT = re.compile(r"--[^\n]*")


@cache
def reads(name: str) -> dict[str, tuple[str, ...]]:
    """The columns a model's `-- reads:` line lists per table it reads ({}: none listed).
    Raises ValueError for a keyed audit that reads `$as_of` besides (see the header above; the
    `-- by rule:` model's `counted_at` falls back to it only for a row with neither task nor
    case, and a keyed audit's rows come from rows of fct_tasks or fct_cases)."""
    found = _READS.search(_GO_ON.sub(" ", _text(name)))
    if not found:
        return {}
    if by_columns(name) and _AS_OF.search(_COMMENT.sub("", _parts(name)[0])):
        raise ValueError(f"{name} reads $as_of: its rows cannot follow from `-- reads:` columns")
    return {t: tuple(_names(c)) for t, c in _READ.findall(found.group(1))}


def _listed(audit: str, mart: str, model: str) -> tuple[str, ...] | None:
    """The columns of `model` the audit and the mart joining its rows read (None: some side
    reading it lists none, so every column counts)."""
    sides = [reads(audit).get(model) if model in refs(audit) else ()]
    if model in refs(mart) and model != by_rule(mart):
        sides.append(reads(mart).get(model))
    if any(side is None for side in sides):
        return None
    return tuple(dict.fromkeys(c for side in sides for c in side))


def _projected(name: str, model: str) -> str:
    """The columns of `model` a model reads, as a select list (`*`: none listed)."""
    return ", ".join(reads(name).get(model, ())) or "*"


def rule_id(audit: str) -> str:
    """The rule id an audit's rows carry: audit_zz_strike_after → ZZ-STRIKE-AFTER."""
    return audit.removeprefix("audit_").replace("_", "-").upper()


def by_rule_reads(name: str) -> set[str]:
    """The models whose redone rows a `-- by rule:` model's keyed audits redo by."""
    source = by_rule(name)
    return {r for a in refs(source) if by_columns(a) for r in refs(a)} if source else set()


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute(
        "select column_name from duckdb_columns() where database_name = current_database() "
        "and schema_name = current_schema() and table_name = " + sql_literal(table)
    ).fetchall()
    return {r[0] for r in rows}


def _audit_keys(
    con, audit: str, models: list[str], mart: str
) -> tuple[dict[str, str], dict[str, set]]:
    """Per `-- by:` column, the query of the values to redo (from each model's redone rows, by
    the finest column it has; only the tuples of the columns read that do not cancel out when
    `-- reads:` lists them; a staging table's rows loaded since), and each model's columns."""
    columns = {m: _columns(con, m) for m in models}
    keys: dict[str, list[str]] = {}
    for model in models:
        finest = _gives(audit, model, columns[model])
        if not finest:
            continue
        keys.setdefault(finest, []).append(
            _redone_values(finest, model, _listed(audit, mart, model))
        )
    for table, listed in reads(audit).items():
        finest = _gives(audit, table, listed) if table.startswith("stg_") else None
        if finest:
            loaded = f"select {finest} from main.{table} where {_changed()}"
            keys.setdefault(finest, []).append(loaded)
    return {c: " union ".join(q) for c, q in keys.items()}, columns


def _matching(keys: dict[str, str], columns: Collection[str]) -> str:
    return " or ".join(f"{c} in ({q})" for c, q in keys.items() if c in columns) or "false"


def _rows_to_redo(audit: str, keys: dict[str, str], columns: dict[str, set]) -> str:
    """The condition on the mart's rows (`columns[""]`) of the audit's rows to redo: a `-- by:`
    column holding a value of `keys`; for an entry `group of column`, `column` holding the value
    of a row of those groups in a model giving them, stored or deleted (see the header)."""
    of = {g: c for g, c in map(_group, by_columns(audit)) if g != c}
    conditions = [_matching(keys, columns[""])]
    for group, column in of.items():
        if group not in keys:
            continue
        sources = [
            f"select {column} from {table} where {group} in ({keys[group]})"
            for model, has in columns.items()
            if model and _gives(audit, model, has) == group
            for table in (f"main.{model}", redone_table(model))
        ]
        conditions.append(f"{column} in ({' union all '.join(sources)})")
    return " or ".join(c for c in conditions if c != "false") or "false"


_BY_RULE_ROWS = "_by_rule_rows"


def _keyed_audits(name: str, redone: Collection[str]) -> list[str]:
    """The audits of a `-- by rule:` model redone by their keys: a `-- by:` line and every
    model they read redone in place (the others are redone whole)."""
    return [a for a in refs(by_rule(name)) if by_columns(a) and set(refs(a)) <= set(redone)]


def _models(name: str, audit: str) -> list[str]:
    source = by_rule(name)
    return list(dict.fromkeys(refs(audit) + [m for m in refs(name) if m != source]))


_Keys = tuple[dict[str, str], dict[str, set]]  # `_audit_keys`: values to redo, models' columns


def _key_tables(
    con, name: str, redone: Collection[str], values: dict[str, Any]
) -> dict[str, _Keys | None]:
    """Per keyed audit, `_audit_keys` with its values to redo stored in temp tables
    `_keys_<n>_<column>` (one query each, not one inlined into every condition that reads
    them), each column's query reading its table; None for an audit with no value to redo (its
    rows stay as stored, no scan of them to find none)."""
    tables: dict[str, _Keys | None] = {}
    for n, audit in enumerate(_keyed_audits(name, redone)):
        (keys, columns), any_ = _audit_keys(con, audit, _models(name, audit), name), False
        for column, query in keys.items():
            table = f"_keys_{n}_{column}"
            execute(con, f"create or replace temp table {table} as {query}", values)
            any_ = any_ or con.execute(f"select exists (from {table})").fetchone()[0]
            keys[column] = f"select {column} from {table}"
        tables[audit] = (keys, columns) if any_ else None
    return tables


def _temp_tables(con, prefix: str) -> list[str]:
    rows = con.execute(
        "select table_name from duckdb_tables() where temporary and starts_with(table_name, "
        + sql_literal(prefix)
        + ")"
    ).fetchall()
    return [r[0] for r in rows]


def _by_rule_sql(
    con,
    name: str,
    redone: Collection[str],
    done: Collection[str],
    keep: list[str] = (),
    keyed: dict[str, _Keys | None] | None = None,
) -> list[str]:
    """Per audit, the delete of its rows to redo (the rule id a conjunct of its own, so the
    table's row groups of other rules are skipped) and their rows kept in a temp table; then one
    insert of them all (the models the model joins are read once, not once per audit). With
    `keep`, those columns of the rows deleted and inserted are kept in `redone_table(name)`.
    `keyed` (`_key_tables`) gives a keyed audit's values to redo and its models' columns (None:
    the audit is left as it is); without it they are queried where they are used."""
    source = by_rule(name)
    joined = [m for m in refs(name) if m != source]
    query = _parts(name)[0][len("with") :].lstrip()
    statements = [
        f"create or replace temp table {_BY_RULE_ROWS} as select * from main.{source} limit 0"
    ]
    deletes, mine = [], _columns(con, name)
    by_keys = _keyed_audits(name, redone)
    for audit in refs(source):
        rule = f"rule_id = '{rule_id(audit)}'"
        if audit in by_keys:
            if keyed is None:
                keys, columns = _audit_keys(con, audit, _models(name, audit), name)
            elif keyed[audit] is None:
                continue
            else:
                keys, columns = keyed[audit]
            where = f"{rule} and ({_rows_to_redo(audit, keys, columns | {'': mine})})"
            first = _group(by_columns(audit)[0])[0]
            inputs = []
            for m in dict.fromkeys([*refs(audit), *reads(audit)]):
                only = m in refs(audit) and _gives(audit, m, columns[m]) == first
                if only or m in reads(audit):
                    of = f" where {_matching(keys, columns[m])}" if only else ""
                    inputs.append(f"{m} as (select {_projected(audit, m)} from main.{m}{of})")
            body = _parts(audit)[0]
        else:
            where, inputs, body = rule, [], compose(audit, done, ordered=False)
        with_inputs = f"with {', '.join(inputs)}\n" if inputs else ""
        deletes.append(where)
        statements.append(
            f"insert into {_BY_RULE_ROWS} by name\n{with_inputs}select * from (\n{body}\n)"
        )
    rows = [f"{source} as (select * from {_BY_RULE_ROWS})", *_joined_rows(con, joined, name)]
    inserted = f"with {', '.join(rows)},\n{query}"
    if not keep:
        statements += [f"delete from main.{name} where {where}" for where in deletes]
        return [*statements, f"insert into main.{name}\n{inserted}"]
    gone = [f"insert into _gone {_kept(name, ['rowid', *keep], w)}" for w in deletes]
    return [
        f"create or replace temp table _gone as {_kept(name, ['rowid', *keep], 'false')}",
        *gone,
        f"delete from main.{name} where rowid in (select rowid from _gone)",
        f"create or replace temp table {redone_table(name)} as\n"
        f"select * exclude (rowid) from _gone",
        "drop table _gone",
        *statements,
        f"create or replace temp table _inserted as\n{inserted}",
        f"insert into main.{name} select * from _inserted",
        f"insert into {redone_table(name)} select {', '.join(keep)}, true from _inserted",
        "drop table _inserted",
    ]


def _kept(name: str, keep: list[str], where: str) -> str:
    return f"select {', '.join(keep)}, false as {NEW} from main.{name} where {where}"


def _joined_rows(con, joined: list[str], name: str) -> list[str]:
    """A model joined to the redone rows by its key (first column), that column one of the
    rows': only its rows with those keys (a semi-join probing its table, not a hash table built
    on all of it), only the columns the mart's `-- reads:` lists."""
    ctes = []
    for model in joined:
        key = con.execute(f"select * from main.{model} limit 0").description[0][0]
        if key in _columns(con, by_rule(name)):
            ctes.append(
                f"{model} as (select {_projected(name, model)} from main.{model}\n"
                f"    where {key} in (select {key} from {_BY_RULE_ROWS}))"
            )
    return ctes


def refresh_by_rule(
    con: duckdb.DuckDBPyConnection,
    name: str,
    values: dict[str, Any],
    redone: Collection[str],
    done: Collection[str],
    keep: list[str] = (),
) -> None:
    """Bring a `-- by rule:` model's table forward in place after a load, audit by audit: a
    keyed audit's rows of the values its models' redone rows carry, every row of the others.
    With `keep` (`witnessed`), those columns of the rows it deleted and inserted stay in
    `redone_table(name)`, as `refresh_delta` leaves them."""
    keyed = _key_tables(con, name, redone, values)
    for statement in _by_rule_sql(con, name, redone, done, list(keep), keyed):
        execute(con, statement, values)
    con.execute(f"drop table {_BY_RULE_ROWS}")
    for table in _temp_tables(con, "_keys_"):
        con.execute(f"drop table {table}")


# ---- a mart of monthly counts, refreshed by the months whose counts can change ---------------
#
# `-- by month: month` names the mart's month column; each `-- month of: table: expr; columns`
# line a table it reads, the month its rows count in (`expr` over that table's columns, the text
# 'YYYY-MM' of the mart's column) and every column of it the mart reads besides. A mart's rows of
# a month follow from its tables' rows of that month (tables without such a line must be
# unchanged), so after a load it redoes the months where some table's redone rows (its
# `redone_table`, or that of the model named by `table by model:` for a staging table the model
# passes through) do not cancel out: a tuple of (month, columns) deleted as often as inserted
# changes nothing (a task still open a day later counts the same). A null month is '-'.

_BY_MONTH = re.compile(r"^--\s*by month:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
_MONTH_OF = re.compile(
    r"^--\s*month of:\s*([a-z_][a-z0-9_]*)(?:\s+by\s+([a-z_][a-z0-9_]*))?:\s*(.+?);\s*(.+?)\s*$",
    re.MULTILINE,
)


@cache
def by_month(name: str) -> tuple[str, list[tuple[str, str, str, str]]] | None:
    """(the mart's month column, [(table, model whose redone rows stand for it, month
    expression, columns read)]) of a `-- by month:` mart, else None."""
    text = _GO_ON.sub(" ", _text(name))
    found = _BY_MONTH.search(text)
    if not found:
        return None
    tables = [(t, m or t, e, c) for t, m, e, c in _MONTH_OF.findall(text)]
    return found.group(1), tables


def month_witnesses(name: str) -> set[str]:
    """The models whose redone rows a `-- by month:` mart redoes its months by."""
    found = by_month(name)
    return {m for _, m, _, _ in found[1]} if found else set()


def witnessed(con: duckdb.DuckDBPyConnection, name: str, marts: Collection[str]) -> list[str]:
    """The columns of model `name` (in its table's order) that the `-- by month:` marts among
    `marts` read from its redone rows: those of their month expression and those listed."""
    used: set[str] = set()
    for mart in marts:
        for _, model, expression, listed in (by_month(mart) or ("", []))[1]:
            if model == name:
                used |= set(re.findall(r"[a-z_][a-z0-9_]*", f"{expression} {listed}"))
    columns = con.execute(f"select * from main.{name} limit 0").description
    return [c[0] for c in columns if c[0] in used]


def _month(expression: str) -> str:
    return f"coalesce({expression}, '-')"


def _changed_months(name: str) -> str:
    """The statement collecting in `_months` the months whose counts can change."""
    tables = by_month(name)[1]
    net = f"sum(case when {NEW} then 1 else -1 end)"
    changed = [
        f"select {_month(e)} as month from {redone_table(m)} group by {_month(e)}, {c} "
        f"having {net} <> 0"
        for _, m, e, c in tables
    ]
    return "create or replace temp table _months as\n" + "\nunion\n".join(changed)


_STRFTIME_MONTH = re.compile(r"^strftime\(([a-z_][a-z0-9_]*), '%Y-%m'\)$")


def _of_months(expression: str, months: list[str]) -> str:
    """A table's rows of the months in `_months` (`months`, as 'YYYY-MM' or '-'); a month of a
    time column `strftime(column, '%Y-%m')` is looked for between the first and the last month
    first (a range the table's zone maps skip row groups by, not a text per row) — and by that
    range alone when the months run on without a gap (a month's text per row of a million
    breaches costs 0.15 s)."""
    listed = f"{_month(expression)} in (select month from _months)"
    found = _STRFTIME_MONTH.match(expression)
    known = sorted(m for m in months if m != "-")
    if not found or not known:
        return listed
    (first_y, first_m), (last_y, last_m) = (map(int, m.split("-")) for m in (known[0], known[-1]))
    low = sql_literal(dt.date(first_y, first_m, 1))
    high = sql_literal(dt.date(last_y + last_m // 12, last_m % 12 + 1, 1))
    column = found.group(1)
    span = f"{column} >= {low} and {column} < {high}"
    if (last_y - first_y) * 12 + last_m - first_m + 1 == len(set(known)):
        return f"({column} is null or {span})" if "-" in months else f"({span})"
    return f"({column} is null or {span}) and {listed}"


def _by_month_sql(name: str, months: list[str], keep: bool = True) -> list[str]:
    """The rows of the months `_months` holds kept (`keep`: in `redone_table`), deleted,
    computed again over those months' rows of the tables and kept."""
    column, tables = by_month(name)
    inputs = [
        f"{t} as (select * from main.{t} where {_of_months(e, months)})" for t, _, e, _ in tables
    ]
    mine = f"{_month(column)} in (select month from _months)"
    query = _parts(name)[0][len("with") :].lstrip()
    kept = [
        f"create or replace temp table {redone_table(name)} as\n"
        f"select *, false as {NEW} from main.{name} where {mine}",
        f"insert into {redone_table(name)} select *, true from main.{name} where {mine}",
    ]
    return [
        *(kept[:1] if keep else []),
        f"delete from main.{name} where {mine}",
        f"insert into main.{name}\nwith {', '.join(inputs)},\n{query}",
        *(kept[1:] if keep else []),
    ]


def refresh_by_month(
    con: duckdb.DuckDBPyConnection, name: str, values: dict[str, Any], keep: bool = True
) -> None:
    """Bring a `-- by month:` mart's table forward in place after a load: its rows of the months
    where its tables' redone rows do not cancel out, computed over those months' rows alone
    (those deleted and inserted kept in `redone_table(name)`: `keep`)."""
    execute(con, _changed_months(name), values)
    months = [r[0] for r in con.execute("select distinct month from _months").fetchall()]
    for statement in _by_month_sql(name, months, keep):
        execute(con, statement, values)
    con.execute("drop table _months")


# ---- a model numbering its rows per group, refreshed by the groups whose order changed -------
#
# `-- numbered: model(key) per columns by columns: numbers` on a model with at most one row per
# row of `model` (a model refreshed by key in the same run, whose key the rows carry): the
# `numbers` columns number the rows within a group (`per` columns) in an order (`by` columns;
# the key breaks ties), and every other column follows from the row's own row of `model` (and
# tables that must be unchanged: `delta_values`). After a load the rows of the keys `model`
# redid are computed again; a group where those rows' (per, by, key) tuples, stored and new, do
# not cancel out is numbered again whole (its stored rows computed again with it); elsewhere
# the new rows keep their stored numbers (an overdue strike's lateness grows every day, its
# number stays).

_NUMBERED = re.compile(
    r"^--\s*numbered:\s*([a-z_][a-z0-9_]*)\(([a-z0-9_]+)\)\s+per\s+([a-z0-9_,\s]+?)"
    r"\s+by\s+([a-z0-9_,\s]+?):\s*([a-z0-9_,\s]+?)\s*$",
    re.MULTILINE,
)


def _names(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


@cache
def numbered(name: str) -> tuple[str, str, list[str], list[str], list[str]] | None:
    """(model, key, per columns, by columns, number columns) of a `-- numbered:` model, else
    None."""
    found = _NUMBERED.search(_GO_ON.sub(" ", _text(name)))
    if not found:
        return None
    model, key, per, by, numbers = found.groups()
    return model, key, _names(per), _names(by), _names(numbers)


def _same(per: list[str], alias: str = "m") -> str:
    """The row `alias` and the group `g` have the same `per` columns (null-safe)."""
    return " and ".join(f"g.{c} is not distinct from {alias}.{c}" for c in per)


def _in_groups(per: list[str], alias: str) -> str:
    """Whether the row `alias` lies in a group of `_groups` (null-safe)."""
    return f"exists (select 1 from _groups as g where {_same(per, alias)})"


def _numbered_sql(name: str) -> list[str]:
    """The statements of `refresh_numbered` (see the header above). The rows `model` redid are
    read from its `redone_table` (its table holds them among all the others)."""
    model, key, per, by, numbers = numbered(name)
    query = _parts(name)[0][len("with") :].lstrip()
    redone = redone_table(name)
    tuple_ = ", ".join(dict.fromkeys([*per, *by, key]))
    again = f"{key} in (select {key} from _again)"
    new_rows = f"select * exclude ({NEW}) from {redone_table(model)} where {NEW}"
    # a renumbered group's rows of `model`: stored ones not redone, and the redone ones
    group_rows = (
        f"select * from main.{model} where {key} in (select {key} from _members)\n"
        f"    and not {again}\n"
        f"union all {new_rows} and {key} in (select {key} from _fresh as r\n"
        f"    where {_in_groups(per, 'r')})"
    )
    kept = ", ".join(f"o.{c} as {c}" for c in numbers)
    return [
        f"create or replace temp table _again as select distinct {key} from {redone_table(model)}",
        f"create or replace temp table _fresh as\nwith {model} as ({new_rows}),\n{query}",
        f"create or replace temp table _groups as select distinct {', '.join(per)} from (\n"
        f"    select {tuple_} from (\n"
        f"        select {tuple_}, 1 as n from _fresh\n"
        f"        union all select {tuple_}, -1 from main.{name} where {again}\n"
        f"    ) group by {tuple_} having sum(n) <> 0\n)",
        # the stored rows of those groups (one semi-join, not a correlated test per row)
        f"create or replace temp table _members as select m.{key} from main.{name} as m\n"
        f"    semi join _groups as g on {_same(per)}",
        f"create or replace temp table {redone} as\nselect *, false as {NEW} from main.{name}\n"
        f"where {again} or {key} in (select {key} from _members)",
        f"delete from main.{name} where {again} or {key} in (select {key} from _members)",
        f"create or replace temp table _inserted as\nwith {model} as (\n{group_rows}\n),\n{query}",
        f"insert into _inserted select f.* replace ({kept}) from _fresh as f\n"
        f"    inner join {redone} as o using ({key}) where not {_in_groups(per, 'f')}",
        f"insert into main.{name} select * from _inserted",
        f"insert into {redone} select *, true from _inserted",
    ]


def refresh_numbered(con: duckdb.DuckDBPyConnection, name: str, values: dict[str, Any]) -> None:
    """Bring a `-- numbered:` model's table forward in place after a load: the rows of the keys
    its model redid, and every row of a group whose order changed; the others' numbers kept."""
    for statement in _numbered_sql(name):
        execute(con, statement, values)
    for table in ("_again", "_fresh", "_groups", "_members", "_inserted"):
        con.execute(f"drop table {table}")
