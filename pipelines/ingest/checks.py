"""DATA-REJECT checks of one part read into `src`: each row typed and marked with its first
failing check (temp table `typed`); unusable rows stored in `quarantine` with line, column
and reason; usable but suspicious rows in `data_warnings` (a wrong check digit, a time
later than the load, an id that held invisible characters)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from pipelines.catalogue import fold
from pipelines.ingest.typed import _lit, _typed_expr
from pipelines.ingest_spec import Col, TableSpec
from pipelines.readers import Limits
from pipelines.rules.graph import execute, insert_values


@dataclass
class Check:
    column: str
    condition: str
    zh: str
    en: str


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
    if table in TY_CHECKS:
        return TY_CHECKS[table]()
    if table == "cases":
        return [
            _backwards(
                "decided_at", "submitted_at", "办结时间早于申报时间", "decided before submitted"
            ),
            _backwards(
                "publicity_to",
                "publicity_from",
                "公示结束日期早于公示开始日期",
                "publicity ends before it starts",
            ),
            _backwards(
                "entered_at", "submitted_at", "信息录入时间早于申报时间", "entered before submitted"
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


def _panel_checks() -> list[Check]:
    """panel_opinions (TY-PANEL): the case and the expert exist; signed after the submission."""
    return [
        Check("case_id", "k.case_id is null", "申报编号不存在（未在申报表中）", "unknown case"),
        Check(
            "expert_id", "e.expert_id is null", "专家编码不存在（未在专家库中）", "unknown expert"
        ),
        Check(
            "signed_at",
            "t_signed_at < k.submitted_at",
            "签字时间早于申报时间",
            "signed before the case was submitted",
        ),
    ]


def _recert_checks() -> list[Check]:
    """recerts (TY-RECERT): the case exists; completed after the request, with its result."""
    return [
        Check("case_id", "k.case_id is null", "申报编号不存在（未在申报表中）", "unknown case"),
        _backwards(
            "completed_at", "requested_at", "完成时间早于申请时间", "completed before requested"
        ),
        Check(
            "requested_at",
            "t_requested_at < k.submitted_at",
            "申请时间早于申报时间",
            "requested before the case was submitted",
        ),
        Check(
            "outcome",
            "t_outcome is not null and t_completed_at is null",
            "有重新认定结果但无完成时间",
            "outcome without completion",
        ),
    ]


TY_CHECKS = {"panel_opinions": _panel_checks, "recerts": _recert_checks}


def _joins(table: str) -> str:
    if table in ("experts", "cases"):
        return "left join stg_hospitals h on h.hospital_id = s.t_hospital_id"
    if table in ("tasks", "panel_opinions"):
        return (
            "left join stg_cases k on k.case_id = s.t_case_id "
            "left join stg_experts e on e.expert_id = s.t_expert_id"
        )
    if table == "recerts":
        return "left join stg_cases k on k.case_id = s.t_case_id"
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
    insert_values(con, "dmap", pairs)
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
    key = spec.key_sql()
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
    insert_values(con, "qcheck", [(i, c.column, c.zh, c.en) for i, c in enumerate(checks, 1)])
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
    wrong = "wrong number of fields"
    insert_values(
        con, "qrows", [(line, None, problem, wrong, raw) for line, raw, problem in broken]
    )
    n = con.execute("select count(*) from qrows").fetchone()[0]
    execute(
        con,
        """
        insert into quarantine
        select $load_id, $file, $table, r.line, r.column_name, r.reason_zh, r.reason_en, r.raw,
               current_timestamp
        from qrows r
        where not exists (
            select 1 from quarantine q
            where q.table_name = $table and q.file_name = $file and q.line = r.line
              and q.raw is not distinct from r.raw and q.reason_en = r.reason_en
        )
        """,
        {"load_id": load_id, "file": file, "table": spec.name},
    )
    return n


# GB 11643 check digit: sum of the first 17 digits times their weights, mod 11. The digits are
# taken from the 17-digit number by integer arithmetic (twice as fast as 17 substrings cast to
# integers); a usable resident ID is 17 digits and a digit or X, so the number fits a bigint.
WEIGHTED_SUM = " + ".join(
    f"((n // {10 ** (16 - i)}) % 10) * {w}"
    for i, w in enumerate([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
)
CHECK_DIGIT_SQL = f"""
insert into data_warnings
select $load_id, $file, 'cases', line, 'person_id',
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
    select $load_id, $file, {_lit(spec.name)}, line, w.col, w.zh, w.en, record_key
    from (
        select line, {spec.key_sql()} as record_key, unnest([{", ".join(item(c) for c in cols)}]) as w
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
    table = {"table": spec.name}
    if execute(
        con,
        "select count(*) from (select 1 from data_warnings where table_name = $table limit 1)",
        table,
    ).fetchone()[0]:
        execute(
            con,
            f"""
            delete from data_warnings
            where table_name = $table and record_key in (
                select {spec.key_sql()} from typed where fail_no is null and not is_conflict
            )
            """,
            table,
        )
    n, values = 0, {"load_id": load_id, "file": file}
    if spec.name == "cases":
        n += execute(con, CHECK_DIGIT_SQL, values).fetchone()[0]
    for sql in (_future_sql(spec, now), _repair_sql(spec)):
        if sql is not None:
            n += execute(con, sql, values).fetchone()[0]
    return n


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
    select $load_id, $file, {_lit(spec.name)}, line, w.col, w.zh, w.en, record_key
    from (
        select line, repaired, {spec.key_sql()} as record_key, unnest([{item}]) as w
        from typed
        where fail_no is null and not is_conflict and repaired <> 0
    )
    where repaired & w.bit <> 0
    """
