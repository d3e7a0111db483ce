"""Ingest platform exports into the warehouse (DATA-REJECT, DATA-IDEMPOTENT).

`python -m pipelines ingest --db PATH DIR` loads `hospitals`, `experts`, `cases`, `tasks` files
(.csv UTF-8/GBK, .xlsx, .parquet) in that order. Each file's rows are typed and checked in SQL;
unusable rows go to `quarantine` with file, line, column and a Chinese + English reason, so that
rows read = rows accepted + rows quarantined for every file. Accepted rows are upserted by key:
a row already stored unchanged adds nothing, a changed row (a later export of the same case or
task) replaces the stored one. Within one ingest, in one file or across its files, rows with
the same key and different content are quarantined (a later row of one file; every row across
files), and the stored row is left as it was. The whole ingest is one transaction: it lands whole or not at all.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import hashlib
import itertools
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from pipelines.catalogue import fold
from pipelines.db import begin, commit, connect
from pipelines.errors import UsageError
from pipelines.ingest_spec import DATE_FORMATS, ORDER, SPECS, TIME_FORMATS, Col, TableSpec
from pipelines.readers import (
    CLI_LIMITS,
    PROGRESS_MIN_BYTES,
    FileRejected,
    Limits,
    query_progress,
    read_file,
)

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


@dataclass
class Check:
    column: str
    condition: str
    zh: str
    en: str


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _typed_expr(c: Col, native: bool = False) -> str:
    """The SQL that types source column `c` (text); `native`: it is already of its kind's type."""
    x = c.name
    if native:
        return {"time": f"cast({x} as timestamp)", "date": f"cast({x} as date)"}.get(
            c.kind, f"cast({x} as double)"
        )
    if c.kind == "enum":
        whens = " ".join(f"when {_lit(k.lower())} then {_lit(v)}" for k, v in c.values.items())
        return f"case lower({x}) {whens} end"
    if c.kind == "date":
        return _with_offset(x, _date_sql(x), "date")
    if c.kind == "time":
        return _with_offset(x, _time_sql(x), "timestamp")
    if c.kind == "id":
        # all-ASCII (the usual id) is kept as it is: length in bytes = length in characters
        return (
            f"case when strlen({x}) = length({x}) then {x} "
            f"else nullif(trim(regexp_replace({x}, {_lit(INVISIBLE)}, '', 'g')), '') end"
        )
    if c.kind == "number":
        return f"try_cast(regexp_replace({x}, '(?i)\\s*mb$', '') as double)"
    if c.kind == "person_id":
        return f"case when regexp_full_match(upper({x}), '[0-9]{{17}}[0-9X]') then upper({x}) end"
    if c.kind == "disease":
        return "dmap.disease_name"
    return x


def _date_sql(x: str) -> str:
    fmts = "[" + ", ".join(_lit(f) for f in DATE_FORMATS) + "]"
    return (
        f"coalesce(try_cast({x} as date), cast(try_strptime({x}, {fmts}) as date), "
        f"case when regexp_full_match({x}, '[1-9][0-9]{{4}}(\\.0+)?') "
        f"then cast(date '1899-12-30' + cast(cast({x} as double) as integer) as date) end)"
    )


def _time_sql(x: str) -> str:
    fmts = "[" + ", ".join(_lit(f) for f in TIME_FORMATS) + "]"
    return (
        f"coalesce(try_cast({x} as timestamp), try_strptime({x}, {fmts}), "
        f"case when regexp_full_match({x}, '[1-9][0-9]{{4}}(\\.[0-9]+)?') "
        f"then timestamp '1899-12-30' + to_seconds(cast(round(cast({x} as double) * 86400) "
        f"as bigint)) end)"
    )


# A time that carries its offset from UTC (`…Z`, `+08:00`, `-0500`, `+08`) after hours:minutes.
OFFSET = r"\s*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$"
OFFSET_RE = r"[0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?" + OFFSET


def _with_offset(x: str, plain: str, target: str) -> str:
    """`plain` (the parse of wall time `x`) unless text `x` ends in an offset from UTC: then the
    wall time before the offset, moved to Beijing time (UTC+8 all year: CONTRACT). Only a value
    with a `Z`, a `+`, or a `-` after the date is matched against the pattern, so the usual
    value costs a few string tests."""
    maybe = (
        f"(ends_with({x}, 'Z') or ends_with({x}, 'z') or contains({x}, '+') "
        f"or contains(substr({x}, 11), '-'))"
    )
    off = f"replace(regexp_extract({x}, {_lit(OFFSET)}, 1), ':', '')"
    minutes = (
        f"case when upper({off}) = 'Z' then 0 else "
        f"(case when left({off}, 1) = '-' then -1 else 1 end) * (cast(substr({off}, 2, 2) as integer)"
        f" * 60 + coalesce(try_cast(nullif(substr({off}, 4, 2), '') as integer), 0)) end"
    )
    wall = _time_sql(f"regexp_replace({x}, {_lit(OFFSET)}, '')")
    return (
        f"case when {maybe} and regexp_matches({x}, {_lit(OFFSET_RE)}) "
        f"then cast({wall} + to_minutes(480 - ({minutes})) as {target}) else {plain} end"
    )


_KIND_PROBLEM = {
    "date": ("日期无法识别（应为 YYYY-MM-DD）", "unparseable date"),
    "time": ("时间无法识别（应为 YYYY-MM-DD HH:MM:SS）", "unparseable time"),
    "number": ("不是数字", "not a number"),
    "person_id": ("身份证号应为18位（17位数字加1位数字或X）", "resident ID must be 18 characters"),
    "disease": ("病种名称不在病种目录中", "disease not in the catalogue"),
    "id": ("只含不可见字符", "nothing but invisible characters"),
}
# The plausible range of a date or time: from 2000-01-01 to a year after the load (a benefit
# may start a few months ahead); 'infinity', 'epoch' and the like fall outside it.
EARLIEST = dt.date(2000, 1, 1)
# Characters that show as nothing: soft hyphen, zero-width space / joiners, direction marks,
# word joiner, BOM. An id copied from a web page or a Word file may carry them.
INVISIBLE = (
    r"[\x{00AD}\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}\x{2066}-\x{2069}\x{FEFF}]"
)


def _checks(spec: TableSpec, latest: dt.date, text_cols: set[str], field_chars: int) -> list[Check]:
    """Every DATA-REJECT check of a table, in the order they are reported.

    `latest`: the last plausible date (a year after the load); `text_cols`: the columns read as
    text (a NUL byte and the length are checked in those); `field_chars`: their longest value."""
    out = [_text_check(c, field_chars, nul) for nul in (True, False) for c in spec.columns]
    out = [ch for ch in out if ch.column in text_cols]
    for c in spec.columns:
        if c.required:
            out.append(
                Check(
                    c.name,
                    f"s.{c.name} is null",
                    f"必填项「{c.zh}」为空",
                    f"required {c.name} missing",
                )
            )
    for c in spec.columns:
        if c.kind == "text":
            continue
        if c.kind == "enum":
            allowed = "、".join(dict.fromkeys(c.values.values()))
            zh, en = f"「{c.zh}」取值不在允许范围（{allowed}）", f"{c.name} value outside its list"
        else:
            zh, en = _KIND_PROBLEM[c.kind]
            zh = f"「{c.zh}」{zh}"
        out.append(Check(c.name, f"s.{c.name} is not null and t_{c.name} is null", zh, en))
    out += [_range_check(c, latest) for c in spec.columns if c.kind in ("date", "time", "number")]
    out += _table_checks(spec.name)
    return out


def _text_check(c: Col, field_chars: int, nul: bool) -> Check:
    """A NUL byte in a value (binary data), or a value longer than `field_chars` characters
    (bytes are counted first: cheap, and never fewer than the characters)."""
    x = f"s.{c.name}"
    if nul:
        return Check(
            c.name,
            f"contains({x}, chr(0))",
            f"「{c.zh}」含 NUL 字节（二进制数据）",
            f"{c.name} holds a NUL byte",
        )
    return Check(
        c.name,
        f"strlen({x}) > {field_chars} and length({x}) > {field_chars}",
        f"「{c.zh}」过长（超过 {field_chars:,} 个字符）",
        f"{c.name} longer than {field_chars:,} characters",
    )


def _range_check(c: Col, latest: dt.date) -> Check:
    """A date or time from 2000-01-01 to `latest`; a number (a file size) finite, not negative."""
    x = f"t_{c.name}"
    if c.kind == "number":
        return Check(
            c.name,
            f"(isnan({x}) or isinf({x}) or {x} < 0)",
            f"「{c.zh}」应为不小于 0 的有限数字",
            f"{c.name} must be a finite number >= 0",
        )
    if c.kind == "date":
        outside = f"{x} < date '{EARLIEST}' or {x} > date '{latest}'"
    else:  # any time of the last day is in
        outside = f"{x} < timestamp '{EARLIEST}' or {x} >= timestamp '{latest + dt.timedelta(1)}'"
    return Check(
        c.name,
        f"({outside})",
        f"「{c.zh}」超出合理范围（{EARLIEST} 至 {latest}）",
        f"{c.name} outside {EARLIEST} .. {latest}",
    )


def _backwards(later: str, earlier: str, zh: str, en: str) -> Check:
    return Check(later, f"t_{later} < t_{earlier}", zh, en)


def _table_checks(table: str) -> list[Check]:
    if table == "hospitals":
        return []
    if table == "experts":
        return [
            _backwards(
                "disqualified_on",
                "registered_on",
                "取消资格日期早于入库日期",
                "disqualified before registered",
            ),
            Check(
                "hospital_id",
                "h.hospital_id is null",
                "医院编码不存在（未在医院表中）",
                "unknown hospital",
            ),
        ]
    if table == "cases":
        return [
            _backwards(
                "decided_at", "submitted_at", "办结时间早于申报时间", "decided before submitted"
            ),
            Check(
                "hospital_id",
                "h.hospital_id is null",
                "医院编码不存在（未在医院表中）",
                "unknown hospital",
            ),
        ]
    return [
        _backwards("responded_at", "pushed_at", "响应时间早于推送时间", "response before push"),
        _backwards("completed_at", "pushed_at", "完成时间早于推送时间", "completion before push"),
        _backwards(
            "completed_at", "responded_at", "完成时间早于响应时间", "completion before response"
        ),
        Check(
            "response",
            "t_response is not null and t_responded_at is null",
            "有响应结果但无响应时间",
            "response without responded_at",
        ),
        Check(
            "responded_at",
            "t_responded_at is not null and t_response is null",
            "有响应时间但无响应结果",
            "responded_at without response",
        ),
        Check(
            "completed_at",
            "t_completed_at is not null and coalesce(t_response, '') <> '受理'",
            "未受理的任务不能有完成时间",
            "completed without acceptance",
        ),
        Check(
            "verdict",
            "t_verdict is not null and t_completed_at is null",
            "有鉴定意见但无完成时间",
            "verdict without completion",
        ),
        Check("case_id", "k.case_id is null", "申报编号不存在（未在申报表中）", "unknown case"),
        Check(
            "expert_id", "e.expert_id is null", "专家编码不存在（未在专家库中）", "unknown expert"
        ),
        Check(
            "pushed_at",
            "t_pushed_at < k.submitted_at",
            "推送时间早于申报时间",
            "pushed before the case was submitted",
        ),
    ]


def _joins(table: str) -> str:
    if table in ("experts", "cases"):
        return "left join stg_hospitals h on h.hospital_id = s.t_hospital_id"
    if table == "tasks":
        return (
            "left join stg_cases k on k.case_id = s.t_case_id "
            "left join stg_experts e on e.expert_id = s.t_expert_id"
        )
    return ""


def _disease_map(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> str:
    if not any(c.kind == "disease" for c in spec.columns):
        return ""
    raws = [
        r[0]
        for r in con.execute(
            "select distinct disease_name from src where disease_name is not null"
        ).fetchall()
    ]
    aliases = dict(
        con.execute("select alias_key, disease_name from ref_disease_aliases").fetchall()
    )
    con.execute("create or replace temp table dmap (raw varchar, disease_name varchar)")
    pairs = [(r, aliases[fold(r)]) for r in raws if fold(r) in aliases]
    if pairs:
        con.executemany("insert into dmap values (?, ?)", pairs)
    return "left join dmap on dmap.raw = s.disease_name"


def _repair_items(spec: TableSpec) -> list[tuple[int, Col]]:
    """(bit, column) of the columns whose value may be repaired on the way in (ids)."""
    return [(1 << i, c) for i, c in enumerate(c for c in spec.columns if c.kind == "id")]


def _repaired_sql(spec: TableSpec) -> str:
    bits = [
        f"case when s.{c.name} <> s.t_{c.name} then {bit} else 0 end"
        for bit, c in _repair_items(spec)
    ]
    return " + ".join(bits) or "0"


def _validate(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, latest: dt.date, limits: Limits
) -> list[Check]:
    """Type every column of `src` and mark each row with its first failing check (fail_no) and
    the ids it had to repair (`repaired`, a bit per id column: see _repair_items)."""
    types = dict(con.execute("select column_name, column_type from (describe src)").fetchall())
    text_cols = {n for n, t in types.items() if t == "VARCHAR"}
    checks = _checks(spec, latest, text_cols, limits.field_chars)
    dmap_join = _disease_map(con, spec)
    typed = ", ".join(
        f"{_typed_expr(c, types.get(c.name, 'VARCHAR') != 'VARCHAR')} as t_{c.name}"
        for c in spec.columns
    )
    s0 = f"(select s.*, {typed} from src s {dmap_join})"
    cases = " ".join(f"when {ch.condition} then {i}" for i, ch in enumerate(checks, start=1))
    t_cols = [f"t_{c.name}" for c in spec.columns]
    key = f"t_{spec.key}"
    con.execute(
        f"""
        create or replace temp table checked as
        select s.line, {", ".join(f"s.{t}" for t in t_cols)}, case {cases} end as fail_no,
               {_repaired_sql(spec)} as repaired
        from {s0} s {_joins(spec.name)}
        """
    )
    # Same key twice among usable rows: the first stays, a later one with other content is a
    # conflict. Only repeated keys are ranked, so a clean file costs one aggregate, and that on
    # the keys' 64-bit hashes rather than on the text (two keys that share a hash only cost a
    # ranking: each is first in its own partition).
    content = f"hash(row({', '.join(t_cols)}))"
    con.execute(
        f"""
        create or replace temp table dups as
        select line, first_value(line) over w as first_line,
               {content} <> first_value({content}) over w as is_conflict
        from checked
        where fail_no is null and hash({key}) in (
            select hash({key}) from checked where fail_no is null
            group by hash({key}) having count(*) > 1
        )
        window w as (partition by {key} order by line)
        """
    )
    if con.execute("select count(*) from (select 1 from dups limit 1)").fetchone()[0]:
        con.execute(
            """
            create or replace temp view typed as
            select c.*, coalesce(d.is_conflict, false) as is_conflict, d.first_line
            from checked c left join dups d using (line)
            """
        )
    else:
        con.execute(
            """
            create or replace temp view typed as
            select c.*, false as is_conflict, cast(null as bigint) as first_line from checked c
            """
        )
    return checks


def _quarantine(
    con: duckdb.DuckDBPyConnection,
    load_id: int,
    file: str,
    spec: TableSpec,
    checks: list[Check],
    broken: list[tuple[int, str, str]],
) -> int:
    """Store this file's unusable rows (once: a re-load of the same rows adds nothing)."""
    raw = ", ".join(f"{c.name} := s.{c.name}" for c in spec.columns)
    con.execute(
        "create or replace temp table qcheck (fail_no integer, column_name varchar, zh varchar, en varchar)"
    )
    con.executemany(
        "insert into qcheck values (?, ?, ?, ?)",
        [(i, ch.column, ch.zh, ch.en) for i, ch in enumerate(checks, start=1)],
    )
    con.execute(
        f"""
        create or replace temp table qbad as
        select t.line, q.column_name, q.zh as reason_zh, q.en as reason_en
        from (select line, fail_no from checked where fail_no is not null) t
        join qcheck q using (fail_no)
        union all
        select line, '{spec.key}', '与第 ' || first_line || ' 行编号相同但内容不同（重复编号）',
               'duplicate key with different content (first at line ' || first_line || ')'
        from dups where is_conflict
        """
    )
    con.execute(
        f"""
        create or replace temp table qrows as
        select bad.*, cast(to_json(struct_pack({raw})) as varchar) as raw
        from qbad bad join (select * from src where line in (select line from qbad)) s using (line)
        """
    )
    if broken:
        con.executemany(
            "insert into qrows values (?, null, ?, 'wrong number of fields', ?)",
            [(line, problem, raw) for line, raw, problem in broken],
        )
    n = con.execute("select count(*) from qrows").fetchone()[0]
    con.execute(
        """
        insert into quarantine
        select ?, ?, ?, r.line, r.column_name, r.reason_zh, r.reason_en, r.raw, current_timestamp
        from qrows r
        where not exists (
            select 1 from quarantine q
            where q.table_name = ? and q.file_name = ? and q.line = r.line
              and q.raw is not distinct from r.raw and q.reason_en = r.reason_en
        )
        """,
        [load_id, file, spec.name, spec.name, file],
    )
    return n


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
            f"select {sel}, ? from typed where {usable}",
            [load_id],
        ).fetchone()[0]
        return accepted, new, 0, 0
    con.execute(f"create or replace temp table acc as select {sel} from typed where {usable}")
    same = " and ".join(f"a.{c} is not distinct from g.{c}" for c in cols)
    con.execute(
        f"""
        create or replace temp table acc_state as
        select a.{spec.key}, g.{spec.key} is null as is_new,
               g.{spec.key} is not null and not ({same}) as is_changed
        from acc a left join {spec.stg} g on g.{spec.key} = a.{spec.key}
        """
    )
    new, updated, unchanged = con.execute(
        "select count(*) filter (where is_new), count(*) filter (where is_changed), "
        "count(*) filter (where not is_new and not is_changed) from acc_state"
    ).fetchone()
    if updated:
        sets = ", ".join(f"{c} = a.{c}" for c in cols if c != spec.key)
        con.execute(
            f"""
            update {spec.stg} g set {sets}, load_id = ?
            from acc a join acc_state s using ({spec.key})
            where g.{spec.key} = a.{spec.key} and s.is_changed
            """,
            [load_id],
        )
    if new:
        con.execute(
            f"""
            insert into {spec.stg} ({", ".join(cols)}, load_id)
            select a.*, ? from acc a join acc_state s using ({spec.key}) where s.is_new
            """,
            [load_id],
        )
    return accepted, new, updated, unchanged


# GB 11643 check digit: sum of the first 17 digits times their weights, mod 11. The digits are
# taken from the 17-digit number by integer arithmetic (twice as fast as 17 substrings cast to
# integers); a usable resident ID is 17 digits and a digit or X, so the number fits a bigint.
WEIGHTED_SUM = " + ".join(
    f"((n // {10 ** (16 - i)}) % 10) * {w}"
    for i, w in enumerate([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
)
CHECK_DIGIT_SQL = f"""
insert into data_warnings
select ?, ?, 'cases', line, 'person_id',
       '身份证号校验位不符（应为 ' || expected || '），已导入，请核实',
       'resident ID check digit mismatch (expected ' || expected || ')', t_case_id
from (
    select line, t_case_id, t_person_id,
           substr('10X98765432', cast(1 + ({WEIGHTED_SUM}) % 11 as bigint), 1) as expected
    from (
        select line, t_case_id, t_person_id, cast(left(t_person_id, 17) as bigint) as n
        from typed
        where fail_no is null and not is_conflict
    )
)
where right(t_person_id, 1) <> expected
"""


def _future_sql(spec: TableSpec, now: dt.datetime) -> str | None:
    """Warnings for times (and dates) of past events that are later than the load.

    One scan of the accepted rows: the rows with any late value, unnested to one warning per
    late column.
    """
    cols = [c for c in spec.columns if c.past]
    if not cols:
        return None
    ts = f"timestamp '{now:%Y-%m-%d %H:%M:%S}'"

    def late(c: Col) -> str:
        return f"t_{c.name} > {ts}" if c.kind == "time" else f"t_{c.name} > cast({ts} as date)"

    def item(c: Col) -> str:
        if c.kind == "time":
            zh, en = f"「{c.zh}」晚于导入时间，已导入，请核实", f"{c.name} later than the load"
        else:
            zh, en = f"「{c.zh}」晚于导入日期，已导入，请核实", f"{c.name} later than the load date"
        return f"{{'col': {_lit(c.name)}, 'zh': {_lit(zh)}, 'en': {_lit(en)}, 'late': {late(c)}}}"

    return f"""
    insert into data_warnings
    select ?, ?, {_lit(spec.name)}, line, w.col, w.zh, w.en, record_key
    from (
        select line, t_{spec.key} as record_key, unnest([{", ".join(item(c) for c in cols)}]) as w
        from typed
        where fail_no is null and not is_conflict and ({" or ".join(late(c) for c in cols)})
    )
    where w.late
    """


def _warn(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, load_id: int, file: str, now: dt.datetime
) -> int:
    """Keep rows that are usable but suspicious: a resident ID whose check digit is wrong, a
    time later than the load, an id that held invisible characters. A record's warnings are those of its latest accepted row (a
    re-load replaces them, so loading the same file twice adds nothing); returns how many."""
    if con.execute(
        "select count(*) from (select 1 from data_warnings where table_name = ? limit 1)",
        [spec.name],
    ).fetchone()[0]:
        con.execute(
            f"""
            delete from data_warnings
            where table_name = ? and record_key in (
                select t_{spec.key} from typed where fail_no is null and not is_conflict
            )
            """,
            [spec.name],
        )
    n = 0
    if spec.name == "cases":
        n += con.execute(CHECK_DIGIT_SQL, [load_id, file]).fetchone()[0]
    for sql in (_future_sql(spec, now), _repair_sql(spec)):
        if sql is not None:
            n += con.execute(sql, [load_id, file]).fetchone()[0]
    return n


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
        con.execute("update load_log set data_cutoff = ? where load_id = ?", [value, load_id])
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


def _repair_sql(spec: TableSpec) -> str | None:
    """Warnings for ids that held invisible characters, removed on the way in (one per id)."""
    items = _repair_items(spec)
    if not items:
        return None
    zh = "「{}」含不可见字符（零宽空格、BOM 等），已去除后导入，请核实"
    en = "{} held invisible characters (zero-width space, BOM …), removed"
    item = ", ".join(
        f"{{'col': {_lit(c.name)}, 'zh': {_lit(zh.format(c.zh))}, 'en': {_lit(en.format(c.name))},"
        f" 'bit': {bit}}}"
        for bit, c in items
    )
    return f"""
    insert into data_warnings
    select ?, ?, {_lit(spec.name)}, line, w.col, w.zh, w.en, record_key
    from (
        select line, repaired, t_{spec.key} as record_key, unnest([{item}]) as w
        from typed
        where fail_no is null and not is_conflict and repaired <> 0
    )
    where repaired & w.bit <> 0
    """


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def table_of(path: Path) -> str | None:
    """Which contract table a file is, by its name: `cases.csv`, `cases_2026-10.xlsx`, `申报.csv`…"""
    stem = path.name.split(".")[0].lower()
    for name in ORDER:
        spec = SPECS[name]
        if stem == name or stem.startswith((name + "_", name + "-", name + " ")) or spec.zh in stem:
            return name
    return None


def _is_partition_folder(d: Path) -> bool:
    name = d.name.lower()
    if name.startswith("."):
        return False
    if "=" in name:  # Hive style: key=value
        return True
    return any(name == t or name == SPECS[t].zh for t in ORDER)


def _partition_files(folder: Path) -> Iterator[Path]:
    for f in folder.iterdir():
        if f.is_file():
            yield f
        elif f.is_dir() and _is_partition_folder(f):
            yield from _partition_files(f)


def discover(paths: list[Path]) -> list[tuple[str, Path]]:
    """(table, file) pairs in load order; a path that does not exist is a usage error.

    A folder's files are loaded, and those of its partition sub-folders: a folder named after a
    table (`tasks/`, `申报/`) or a Hive partition (`year=2026/`), so a partitioned set such as
    `tasks/year=2026/month=03/tasks_2026-03.parquet` is given by its top folder. Other
    sub-folders (`expected/`, `out/`, backups) are not entered; hidden files and Excel's `~$`
    lock files are skipped.
    """
    found: list[tuple[str, Path]] = []
    for p in paths:
        if not p.exists():
            raise UsageError(f"路径不存在：{p}")
        files = sorted(_partition_files(p)) if p.is_dir() else [p]
        for f in files:
            if f.name.startswith((".", "~$")):
                continue
            table = table_of(f)
            if table is not None:
                found.append((table, f))
            elif not p.is_dir():
                raise UsageError(
                    f"无法从文件名判断表类型：{f.name}（应为 hospitals/experts/cases/tasks）"
                )
    found.sort(key=lambda tf: (ORDER.index(tf[0]), tf[1].name, str(tf[1])))
    return found


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
    key = f"t_{spec.key}"
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
    con.executemany("insert into part_label values (?, ?)", [(p.no, p.label) for p in parts])
    raw = ", ".join(f"{c.name} := x.t_{c.name}" for c in spec.columns)
    con.execute(
        f"""
        insert into quarantine
        select ?, l.label, ?, x.line, '{spec.key}',
               '与 ' || o.label || ' 第 ' || o.line || ' 行编号相同但内容不同（重复编号）',
               'duplicate key with different content (' || o.label || ' line ' || o.line || ')',
               cast(to_json(struct_pack({raw})) as varchar), current_timestamp
        from xrows x
        join part_label l using (part)
        join lateral (
            select pl.label, y.line from xrows y join part_label pl using (part)
            where y.{key} = x.{key} and y.h <> x.h order by y.part, y.line limit 1
        ) o on true
        where not exists (
            select 1 from quarantine q
            where q.table_name = ? and q.file_name = l.label and q.line = x.line
              and q.raw = cast(to_json(struct_pack({raw})) as varchar)
              and q.reason_en like 'duplicate key with different content (%'
        )
        """,
        [load_id, spec.name, spec.name],
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
    con.execute(
        "insert into load_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp, ?, null)",
        [
            run.load_id,
            part.label,
            part.digest,
            spec.name,
            rep.read,
            rep.accepted,
            rep.quarantined,
            rep.new,
            rep.updated,
            run.user,
        ],
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
            "未找到可导入的文件（文件名应以 hospitals / experts / cases / tasks 开头）"
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


def print_reports(reports: list[FileReport], out=sys.stderr) -> None:
    head = f"{'文件':<28}{'表':<10}{'读取':>14}{'接受':>14}{'新增':>14}{'更新':>12}{'隔离':>12}"
    print(head, file=out)
    for r in reports:
        print(
            f"{r.file:<28}{r.table:<10}{r.read:>14,}{r.accepted:>14,}{r.new:>14,}"
            f"{r.updated:>12,}{r.quarantined:>12,}",
            file=out,
        )
        if r.ignored_columns:
            print(f"  忽略未识别的列：{'、'.join(r.ignored_columns)}", file=out)
        if r.warnings:
            print(f"  数据警告 {r.warnings:,} 条（已导入，请核实）", file=out)
    total_q = sum(r.quarantined for r in reports)
    if total_q:
        print(
            f"共 {total_q:,} 行进入隔离表（quarantine），可在「数据」页查看或用 quarantine 命令导出。",
            file=out,
        )
    total_w = sum(r.warnings for r in reports)
    if total_w:
        print(
            f"共 {total_w:,} 条数据警告（data_warnings：身份证校验位不符、时间晚于导入时间等），"
            "数据已导入，请核实。",
            file=out,
        )


def cmd_ingest(args: argparse.Namespace) -> int:
    """Load a folder of platform exports.

    Example: python -m pipelines ingest --db data/warehouse.duckdb exports/2026-10/
    """
    paths = [Path(p) for p in args.paths]
    con = connect(args.db)
    try:
        reports = ingest(
            con,
            paths,
            loaded_by=args.loaded_by,
            log=lambda m: print(m, file=sys.stderr),
            cutoff=args.cutoff_dt,
        )
    except FileRejected as exc:
        print(f"错误：{exc}。本次导入未写入任何数据。", file=sys.stderr)
        return 1
    print_reports(reports)
    status = _refresh_after_load(con, args, loaded=True) if args.refresh else 0
    return _close(con, status)


def _close(con: duckdb.DuckDBPyConnection, status: int) -> int:
    """Close the warehouse; after a storage failure (status 1) the connection may already be
    invalidated, which is then reported, not raised."""
    try:
        con.close()
    except duckdb.Error as exc:
        if status == 0:
            raise
        print(f"（关闭数据库时：{exc}）", file=sys.stderr)
    return status


def _refresh_after_load(
    con: duckdb.DuckDBPyConnection, args: argparse.Namespace, loaded: bool = False
) -> int:
    """Recompute the marts the dashboard reads; a calendar gap is reported, not fatal.

    The load itself has landed before this runs. A storage failure here (disk full, read-only)
    is named and the exit status is 1 — the marts are stale until `refresh` is run again; any
    other failure is a warning (the pages compute from the loaded tables meanwhile).
    """
    from pipelines.cliutil import disk_problem
    from pipelines.config import load_profile
    from pipelines.rules import refresh_marts

    as_of = args.as_of_dt  # None: the data cut-off (DATA-CUTOFF)
    landed = "数据已导入并已保存，但" if loaded else ""
    again = f"python -m pipelines refresh --db {args.db}"
    try:
        refresh_marts(con, as_of, load_profile(args.profile))
        as_of, cutoff = con.execute("select eval_at, data_cutoff from mart_meta").fetchone()
    except Exception as exc:
        if (problem := disk_problem(exc)) is not None:
            print(
                f"错误 (disk): {problem}。{landed}统计表未能重算（保持上次的结果）。"
                f"腾出空间或改正权限后运行：{again}"
                "\nerror: storage failure while refreshing the marts; the loaded data is kept.",
                file=sys.stderr,
            )
            return 1
        print(f"警告：{landed}统计表未重算：{exc}（可稍后运行 {again}）", file=sys.stderr)
        return 0
    shown = f"{cutoff:%Y-%m-%d %H:%M:%S}" if cutoff is not None else "（无）"
    print(
        f"已按评估时间 {as_of:%Y-%m-%d %H:%M:%S} 重算统计表（数据截止时间 {shown}）。",
        file=sys.stderr,
    )
    for mart, year in con.execute("select mart, year from mart_gaps order by mart").fetchall():
        print(
            f"警告：{mart} 需要 {year} 年的工作日日历，未计算；"
            "请补充 data/reference/calendar_overrides.csv。",
            file=sys.stderr,
        )
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    """Recompute the marts the dashboard reads (after `ingest --no-refresh` or a failed refresh).

    Example: python -m pipelines refresh --db data/warehouse.duckdb --as-of "2026-11-20 23:59:59"
    """
    con = connect(args.db)
    status = _refresh_after_load(con, args)
    return _close(con, status)


def cmd_quarantine(args: argparse.Namespace) -> int:
    """Export the quarantine table (rows that could not be loaded) to CSV.

    Example: python -m pipelines quarantine --db data/warehouse.duckdb --out quarantine.csv
    """
    from pipelines.output import write_csv

    con = connect(args.db, read_only=True)
    cols = ["file_name", "table_name", "line", "column_name", "reason_zh", "reason_en", "raw"]
    rows = con.execute(
        f"select {', '.join(cols)} from quarantine order by table_name, file_name, line"
    ).fetchall()
    n = write_csv(args.out, cols, rows)
    print(f"已导出隔离行 {n:,} 行 → {args.out}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from pipelines.cliutil import parse_as_of

    p = sub.add_parser("ingest", parents=[common], help="导入医院、专家、申报、任务文件")
    p.add_argument("paths", nargs="+", metavar="DIR", help="文件夹或文件")
    p.add_argument("--loaded-by", default=None, help="导入人（默认：当前系统用户）")
    p.add_argument("--as-of", default=None, help="重算统计表的评估时间（默认：数据截止时间）")
    p.add_argument(
        "--cutoff",
        default=None,
        help='本次导出的数据截止时间 "YYYY-MM-DD HH:MM:SS"（默认：文件中最晚的事件时间）',
    )
    p.add_argument("--no-refresh", dest="refresh", action="store_false", help="导入后不重算统计表")

    def run(args: argparse.Namespace) -> int:
        args.as_of_dt = parse_as_of(args.as_of)
        args.cutoff_dt = parse_as_of(args.cutoff) if args.cutoff else None
        return cmd_ingest(args)

    p.set_defaults(func=run)
    r = sub.add_parser("refresh", parents=[common], help="重算统计表（看板读取的汇总表）")
    r.add_argument("--as-of", default=None, help="评估时间（默认：数据截止时间）")

    def run_refresh(args: argparse.Namespace) -> int:
        args.as_of_dt = parse_as_of(args.as_of) if args.as_of else None
        return cmd_refresh(args)

    r.set_defaults(func=run_refresh)
    q = sub.add_parser("quarantine", parents=[common], help="导出隔离表")
    q.add_argument("--out", required=True)
    q.set_defaults(func=cmd_quarantine)
