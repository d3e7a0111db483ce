"""Mart state and freshness (see `pipelines.rules.engine`): what `mart_meta` records and
which materialised marts still hold what their models compute now."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import duckdb

from pipelines.config import Profile
from pipelines.db import SQL_DIR
from pipelines.evaltime import facts_at
from pipelines.rules.graph import MODEL_PREFIXES, latest, uses_eval_at
from pipelines.rules.incremental import earlier, keyed
from pipelines.rules.params import rule_params
from pipelines.workcal import ensure_calendar


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
    """The tables and views (a mart stored as a view, `marts.VIEWS`) of the database."""
    return {
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name = current_schema() union all "
            "select view_name from duckdb_views() where database_name = current_database() "
            "and schema_name = current_schema() and not internal"
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


def _current(
    con: duckdb.DuckDBPyConnection, profile: Profile
) -> tuple[dict[str, Any], set[str]] | None:
    """`mart_meta`'s row and the marts it built, when it matches the profile, data, rules and
    calendar of now; None otherwise."""
    tables = _tables(con)
    if "mart_meta" not in tables:
        return None
    cursor = con.execute("select * from mart_meta")
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    if len(rows) != 1:
        return None
    meta = dict(zip(names, rows[0], strict=True))
    if meta.get("profile") != profile.name:
        return None
    state = mart_state(con, profile)
    if any(meta.get(k) != v for k, v in state.items()):
        return None
    return meta, {m for m in meta.get("marts") or [] if m in tables}


def _reusable(
    current: tuple[dict[str, Any], set[str]] | None, facts: dt.datetime | None
) -> set[str]:
    if facts is None or current is None or current[0]["as_of"] is None:
        return set()
    if current[0]["as_of"] < facts:  # materialised before the time asked: nothing settled
        return set()
    return {
        m
        for m in current[1]
        if (keyed(m) is not None or earlier(m) is not None) and not uses_eval_at(m)
    }


def reusable_marts(
    con: duckdb.DuckDBPyConnection, profile: Profile, facts: dt.datetime | None
) -> set[str]:
    """The marts materialised for this data, profile, rules and calendar at a time at or after
    `facts` whose settled rows answer at `facts` too (`pipelines.rules.incremental`)."""
    return _reusable(_current(con, profile) if facts is not None else None, facts)


def fresh_marts(
    con: duckdb.DuckDBPyConnection, profile: Profile, as_of: dt.datetime | None
) -> set[str]:
    """The materialised marts that hold exactly what their models compute now for this profile
    and evaluation time (as asked: facts are judged at it bounded by the data cut-off); empty
    when `mart_meta` is missing or differs in anything it records.

    Call inside `snapshot(con)` and read the tables in the same transaction.
    """
    return _fresh(con, _current(con, profile), as_of, facts_at(con, as_of))


def usable_marts(
    con: duckdb.DuckDBPyConnection,
    profile: Profile,
    as_of: dt.datetime | None,
    facts: dt.datetime | None,
) -> tuple[set[str], set[str]]:
    """`fresh_marts` and `reusable_marts` from one look at `mart_meta` and the data's state."""
    current = _current(con, profile)
    return _fresh(con, current, as_of, facts), _reusable(current, facts)


def _fresh(
    con: duckdb.DuckDBPyConnection,
    current: tuple[dict[str, Any], set[str]] | None,
    as_of: dt.datetime | None,
    facts: dt.datetime | None,
) -> set[str]:
    """The fresh marts of `current` for evaluation time `as_of` (facts judged at `facts`)."""
    if current is None:
        return set()
    meta, built = current
    if as_of is not None and meta["as_of"] == facts:
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
