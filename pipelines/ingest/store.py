"""One ingest into the staging tables (DATA-IDEMPOTENT): each table's files read, checked,
upserted by key into `stg_<table>` and logged in `load_log`, all in one transaction."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import itertools
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from pipelines.db import begin, commit
from pipelines.errors import UsageError
from pipelines.ingest.checks import _quarantine, _validate, _warn
from pipelines.ingest.discover import discover
from pipelines.ingest_spec import SPECS, TableSpec
from pipelines.readers import (
    CLI_LIMITS,
    PROGRESS_MIN_BYTES,
    Limits,
    query_progress,
    read_file,
)
from pipelines.rules.graph import execute, insert_values, sql_literal

BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass
class FileReport:
    """The outcome of one file: what was read, accepted and quarantined."""

    file: str
    table: str
    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    encoding: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    warnings: int = 0  # data_warnings rows written for this file's accepted rows


def _upsert(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, load_id: int
) -> tuple[int, int, int, int]:
    """Insert new keys and update changed ones; returns (accepted, new, updated, unchanged)."""
    cols = [c.name for c in spec.columns]
    sel = ", ".join(f"t_{c} as {c}" for c in cols)
    usable = "fail_no is null and not is_conflict and (first_line is null or line = first_line)"
    accepted = con.execute(
        "select count(*) from typed where fail_no is null and not is_conflict"
    ).fetchone()[0]
    if con.execute(f"select count(*) from (select 1 from {spec.stg} limit 1)").fetchone()[0] == 0:
        # first load of the table: straight in, no copy of the rows on the way
        new = con.execute(
            f"insert into {spec.stg} ({', '.join(cols)}, load_id) "
            f"select {sel}, {sql_literal(load_id)} from typed where {usable}"
        ).fetchone()[0]
        return accepted, new, 0, 0
    con.execute(f"create or replace temp table acc as select {sel} from typed where {usable}")
    same = " and ".join(f"a.{c} is not distinct from g.{c}" for c in cols)
    on = " and ".join(f"g.{k} = a.{k}" for k in spec.keys)
    con.execute(
        f"""
        create or replace temp table acc_state as
        select {", ".join(f"a.{k}" for k in spec.keys)}, g.{spec.key} is null as is_new,
               g.{spec.key} is not null and not ({same}) as is_changed
        from acc a left join {spec.stg} g on {on}
        """
    )
    new, updated, unchanged = con.execute(
        "select count(*) filter (where is_new), count(*) filter (where is_changed), "
        "count(*) filter (where not is_new and not is_changed) from acc_state"
    ).fetchone()
    # a changed row is deleted and inserted again, not updated in place: DuckDB's checkpoint
    # rewrites every row group an UPDATE touched (a day's 181 changed tasks, spread over the
    # year, cost a rewrite of most of stg_tasks: 0.7-1.8 s), while a delete only marks rows
    if updated:
        con.execute(
            f"delete from {spec.stg} g using acc_state s where "
            + " and ".join(f"g.{k} = s.{k}" for k in spec.keys)
            + " and s.is_changed"
        )
    if new or updated:
        con.execute(
            f"""
            insert into {spec.stg} ({", ".join(cols)}, load_id)
            select a.*, {sql_literal(load_id)}
            from acc a join acc_state s using ({", ".join(spec.keys)})
            where s.is_new or s.is_changed
            """
        )
    return accepted, new, updated, unchanged


def _latest_event(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> dt.datetime | None:
    """The latest event time (a `time` column) among the file's accepted rows."""
    cols = [c.name for c in spec.columns if c.kind == "time"]
    if not cols:
        return None
    tops = ", ".join(f"max(t_{c})" for c in cols)
    return con.execute(
        f"select greatest({tops}) from typed where fail_no is null and not is_conflict"
    ).fetchone()[0]


def _record_cutoff(
    con: duckdb.DuckDBPyConnection,
    load_id: int,
    given: dt.datetime | None,
    latest: list[dt.datetime],
    log: Callable[[str], object],
) -> None:
    """DATA-CUTOFF: the load's cut-off is the one given, else its latest event time."""
    derived = max(latest) if latest else None
    if given is not None and derived is not None and derived > given:
        log(
            f"注意：文件中最晚的事件时间 {derived:%Y-%m-%d %H:%M:%S} 晚于给定的数据截止时间 "
            f"{given:%Y-%m-%d %H:%M:%S}；截止时间之后的记录不参与规则判定。"
        )
    value = given if given is not None else derived
    if value is not None:
        values = {"value": value, "load_id": load_id}
        execute(con, "update load_log set data_cutoff = $value where load_id = $load_id", values)
        log(
            f"本次导入的数据截止时间：{value:%Y-%m-%d %H:%M:%S}"
            + ("" if given else "（按数据推定）")
        )


def _year_after(day: dt.date) -> dt.date:
    """The same day a year later (29 February: the 28th)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class _Run:
    """One ingest: its load id and settings."""

    load_id: int
    user: str
    now: dt.datetime
    latest: dt.date
    limits: Limits
    log: Callable[[str], object]
    events: list[dt.datetime] = field(default_factory=list)  # each part's latest event time


@dataclass
class _Part:
    """One part read (a file, or a workbook's sheet), checked and waiting to be stored."""

    no: int
    label: str
    digest: str
    read: int
    quarantined: int
    encoding: str
    ignored: list[str] = field(default_factory=list)


def _load_table(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, paths: list[Path], run: _Run
) -> list[FileReport]:
    """Read, check and store one table's files (or sheets) of this ingest.

    One part is stored as it is checked. Several parts (tasks.csv and tasks_copy.csv, monthly
    partitions, a workbook's sheets) are held until all are checked: a key given different
    content by two parts is a conflict, and all its rows are quarantined (DATA-REJECT, as within
    one file); the same row in two parts is stored once.
    """
    parts: list[_Part] = []
    reports: list[FileReport] = []
    several = len(paths) > 1
    for path in paths:
        run.log(f"读取 {path.name} → {spec.zh} ({spec.name}) …")
        big = path.stat().st_size >= PROGRESS_MIN_BYTES
        t0 = time.monotonic()

        def stage(msg: str, big: bool = big, t0: float = t0) -> None:
            if big:  # a large file: say what is going on between the progress bars
                run.log(f"  {msg}（{time.monotonic() - t0:.0f} 秒）")

        digest = _sha256(path)
        stage("已计算文件校验和")
        results = read_file(con, path, spec, run.limits)
        several = several or len(results) > 1
        for res in results:
            if res.materialise is not None:
                res.materialise()
            stage(f"已读取 {res.rows:,} 行，正在校验 …")
            with query_progress(con, f"校验 {path.name}", show=big):
                checks = _validate(con, spec, run.latest, run.limits)
            label = "、".join(res.parts)
            quarantined = _quarantine(con, run.load_id, label, spec, checks, res.broken)
            read = res.rows + len(res.broken)
            part = _Part(len(parts), label, digest, read, quarantined, res.encoding)
            part.ignored = res.ignored_columns
            parts.append(part)
            if several:
                _hold(con, spec, part.no)
                continue
            stage(f"隔离 {quarantined:,} 行，正在写入 …")
            with query_progress(con, f"写入 {path.name}", show=big):
                reports.append(_store(con, spec, run, part))
            stage(f"已写入 {reports[-1].accepted:,} 行")
    if several:
        conflicts = _cross_conflicts(con, spec, run.load_id, parts)
        for part in parts:
            con.execute(
                f"""
                create or replace temp view typed as
                select line, {", ".join(_t_cols(spec))}, cast(null as integer) as fail_no,
                       false as is_conflict, first_line, repaired
                from held where part = {part.no}
                """
            )
            part.quarantined += conflicts.get(part.no, 0)
            reports.append(_store(con, spec, run, part))
    return reports


def _t_cols(spec: TableSpec) -> list[str]:
    return [f"t_{c.name}" for c in spec.columns]


def _hold(con: duckdb.DuckDBPyConnection, spec: TableSpec, part_no: int) -> None:
    """Keep this part's usable rows (temp table `held`) until the table's last part is read."""
    rows = (
        f"select {part_no} as part, line, {', '.join(_t_cols(spec))}, first_line, repaired, "
        f"hash(row({', '.join(_t_cols(spec))})) as h "
        "from typed where fail_no is null and not is_conflict"
    )
    if part_no == 0:
        con.execute(f"create or replace temp table held as {rows}")
    else:
        con.execute(f"insert into held {rows}")


def _cross_conflicts(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, load_id: int, parts: list[_Part]
) -> dict[int, int]:
    """Quarantine the held rows of keys that two parts give different content, each naming the
    first row elsewhere that differs; returns how many per part."""
    key = spec.key_sql()
    con.execute(
        f"""
        create or replace temp table xrows as
        select * from held where {key} in (
            select {key} from held group by {key} having min(h) <> max(h)
        )
        """
    )
    if not con.execute("select count(*) from (select 1 from xrows limit 1)").fetchone()[0]:
        return {}
    con.execute("create or replace temp table part_label (part integer, label varchar)")
    insert_values(con, "part_label", [(p.no, p.label) for p in parts])
    raw = ", ".join(f"{c.name} := x.t_{c.name}" for c in spec.columns)
    execute(
        con,
        f"""
        insert into quarantine
        select $load_id, l.label, $table, x.line, '{spec.key}',
               '与 ' || o.label || ' 第 ' || o.line || ' 行编号相同但内容不同（重复编号）',
               'duplicate key with different content (' || o.label || ' line ' || o.line || ')',
               cast(to_json(struct_pack({raw})) as varchar), current_timestamp
        from xrows x
        join part_label l using (part)
        join lateral (
            select pl.label, y.line from xrows y join part_label pl using (part)
            where {spec.key_sql("y.t_")} = {spec.key_sql("x.t_")} and y.h <> x.h order by y.part, y.line limit 1
        ) o on true
        where not exists (
            select 1 from quarantine q
            where q.table_name = $table and q.file_name = l.label and q.line = x.line
              and q.raw = cast(to_json(struct_pack({raw})) as varchar)
              and q.reason_en like 'duplicate key with different content (%'
        )
        """,
        {"load_id": load_id, "table": spec.name},
    )
    con.execute(f"delete from held where {key} in (select {key} from xrows)")
    return dict(con.execute("select part, count(*) from xrows group by part").fetchall())


def _store(con: duckdb.DuckDBPyConnection, spec: TableSpec, run: _Run, part: _Part) -> FileReport:
    """Upsert the usable rows of `typed` (one part), warn, and log the part."""
    accepted, new, updated, unchanged = _upsert(con, spec, run.load_id)
    warnings = _warn(con, spec, run.load_id, part.label, run.now)
    if (top := _latest_event(con, spec)) is not None:
        run.events.append(top)
    rep = FileReport(
        part.label,
        spec.name,
        part.read,
        accepted,
        part.quarantined,
        new,
        updated,
        unchanged,
        part.encoding,
        part.ignored,
        warnings,
    )
    assert rep.read == rep.accepted + rep.quarantined, rep
    logged = [run.load_id, part.label, part.digest, spec.name, rep.read, rep.accepted]
    logged += [rep.quarantined, rep.new, rep.updated]
    values = ", ".join(map(sql_literal, logged))
    con.execute(
        f"insert into load_log values ({values}, current_timestamp, {sql_literal(run.user)}, null)"
    )
    return rep


def ingest(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    loaded_by: str | None = None,
    log=print,
    on_loaded: Callable[[duckdb.DuckDBPyConnection], object] | None = None,
    commit_guard: Callable[[], AbstractContextManager] = nullcontext,
    now: dt.datetime | None = None,
    limits: Limits = CLI_LIMITS,
    cutoff: dt.datetime | None = None,
) -> list[FileReport]:
    """Load files in one transaction; FileRejected (nothing loaded) if any file is unusable.

    `on_loaded` runs inside the same transaction before it commits (the dashboard refreshes the
    marts there, so readers see old data or new data, never a mix); `commit_guard` wraps the
    commit itself (the dashboard waits there for page runs in flight). `now` is the moment of
    the load in Beijing time (default: the clock); a time of a past event later than it is
    loaded with a data warning; a date or time more than a year after it is quarantined.
    `limits`: the largest line, value and workbook accepted (the dashboard passes PAGE_LIMITS).
    `cutoff` is the export's data cut-off (DATA-CUTOFF); without it the load's cut-off is the
    latest event time in its files, recorded in load_log.
    """
    if now is None:
        now = dt.datetime.now(BEIJING).replace(tzinfo=None, microsecond=0)
    latest = _year_after(now.date())
    files = discover(paths)
    if not files:
        raise UsageError(
            "未找到可导入的文件（文件名应以 hospitals / experts / cases / tasks / panel_opinions / recerts 开头）"
        )
    run = _Run(0, loaded_by or getpass.getuser(), now, latest, limits, log)
    reports: list[FileReport] = []
    begin(con)
    try:
        run.load_id = con.execute("select nextval('seq_load_id')").fetchone()[0]
        for table, group in itertools.groupby(files, key=lambda tf: tf[0]):
            reports += _load_table(con, SPECS[table], [p for _t, p in group], run)
        _record_cutoff(con, run.load_id, cutoff, run.events, log)
        if on_loaded is not None:
            on_loaded(con)
        with commit_guard():
            commit(con)
    except BaseException:
        con.execute("rollback")
        raise
    return reports
