"""The draw log: append-only, hash-chained records of every draw (shared/RULES.md "Verifiable draws").

Each record holds `prev_hash` (the previous record's `record_hash`, 64 zeros for the first) and its
own `record_hash` = SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of every other
column. JSON columns enter the hash as their stored text. Appends run in a transaction that reads
the chain head and inserts the next `record_no` (the primary key): two concurrent appends conflict
on that key, and the loser retries on the new head, so every record is complete and the chain stays
linear. Values are written into the statements as literals (DuckDB imports pandas for any bound
parameter).

A long list already computed in DuckDB (a province quarter's frozen cases, a spot check's picks:
`TempText`) is kept apart, as the one value of a table of its own (`text_table`: e.g.
`draw_text_000001_population`), listed in `draw_log_texts`; the record's column is null. draw_log
keeps its records in one row group, which DuckDB rewrites whole at each checkpoint after an append,
so texts of megabytes in it made every later append (a draw, a dispute decision) slower as the log
grew; a table of its own is written once. The record reads its text from there when asked
(`DrawRecord.text`). Such a text enters the record's hash as "sha256:" and its SHA-256 (kept in
draw_log_texts.sha256; `verify-log` checks the text against it): json.dumps escaping every quote of
a 17 MB list cost more than the rest of the hash (a text kept apart before its SHA-256 was kept,
sha256 null, is hashed as its text, as it was).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.db import begin, commit, sql
from pipelines.draws.keys import Member, Pick
from pipelines.errors import DataError
from pipelines.rules.graph import sql_literal

if TYPE_CHECKING:
    import pyarrow as pa

GENESIS = "0" * 64
KIND_PREFIX = {
    "population_frozen": "PF",
    "spot_check": "SC",
    "expert_draw": "ED",
    "review_cases": "RC",
    "review_experts": "RE",
    "appeal_panel": "AP",
    "replacement": "RP",
    "strike_decision": "SD",
    "outage": "OG",
    "action_done": "AD",
    "sanction": "SN",
    "appeal_finding": "AF",
    "targeted": "TP",
}
# supervisors' decisions on the rules' results (ZZ-DISPUTE, ZZ-ACTION): chained like the draws,
# their content in `parameters`, who decided in `operator`, why in `reason`
DECISION_KINDS = ("strike_decision", "outage", "action_done", "sanction", "appeal_finding")
DRAW_KINDS = ("spot_check", "expert_draw", "review_cases", "review_experts", "appeal_panel")
KIND_LABEL = {
    "population_frozen": "名单冻结",
    "spot_check": "鉴定通过病例抽查 (ZZ-SPOTCHECK)",
    "expert_draw": "专家随机抽取",
    "review_cases": "季度复核病例抽取 (TY-REVIEW)",
    "review_experts": "季度复核专家抽取 (TY-REVIEW)",
    "appeal_panel": "申诉二次复核专家抽取 (TY-REVIEW)",
    "replacement": "替补",
    "strike_decision": "违规申诉处理 (ZZ-DISPUTE)",
    "outage": "系统故障时段 (ZZ-DISPUTE)",
    "action_done": "处置登记 (ZZ-ACTION)",
    "sanction": "处理决定 (TY-PENALTY)",
    "appeal_finding": "申诉二次复核结论 (TY-REVIEW)",
    "targeted": "明察暗访定向抽取（不参与推断）",
}
COLUMNS = (
    "record_no",
    "draw_id",
    "kind",
    "created_at",
    "operator",
    "supervisor",
    "profile",
    "frozen_id",
    "parent_id",
    "parameters",
    "population_size",
    "population_digest",
    "population",
    "seed",
    "picks",
    "replacements",
    "reason",
    "prev_hash",
    "record_hash",
)
# the JSON columns a record keeps apart and their texts' SHA-256 (null before it was kept), read
# with the record (null when none, or the log is older than draw_log_texts)
_APART = (
    "(select list([t.column_name, {sha256}] order by t.column_name) from draw_log_texts as t "
    "where t.record_no = draw_log.record_no)"
)
SEALED = "sha256:"  # how a text kept apart with its SHA-256 enters the record's hash
# the number of picks of a draw_log row, in SQL (in its text or kept apart)
PICKS_COUNT = (
    "coalesce(json_array_length(picks), (select t.items from draw_log_texts as t "
    "where t.record_no = draw_log.record_no and t.column_name = 'picks'), 0)"
)
_RETRIES = 50


@dataclasses.dataclass(frozen=True)
class TempText:
    """A JSON column computed in DuckDB: its text (kept on the record and hashed), the SELECT of
    that text from the temp table holding it, and the number of items in the list."""

    text: str
    query: str
    items: int


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_table(record_no: int, column: str) -> str:
    """The table holding a record's column kept apart."""
    if column not in ("population", "picks"):
        raise ValueError(column)
    return f"draw_text_{int(record_no):06d}_{column}"


class TextsApart:
    """Reads the texts a record keeps apart, through the connection it was read with."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def text(self, rec: DrawRecord, column: str) -> str:
        table = text_table(rec.record_no, column)
        try:
            return self.con.execute(f"select text from {table}").fetchone()[0]
        except (duckdb.CatalogException, TypeError):
            raise DataError(
                f"记录 {rec.draw_id} 的 {column} 应存于表 {table}，但该表不存在或为空"
            ) from None


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, non-ASCII kept: the one text form that gets hashed and stored."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclasses.dataclass(frozen=True)
class DrawRecord:
    """One row of draw_log; JSON columns are kept as their stored text."""

    record_no: int
    draw_id: str
    kind: str
    created_at: dt.datetime
    operator: str | None
    supervisor: str | None
    profile: str | None
    frozen_id: str | None
    parent_id: str | None
    parameters: str
    population_size: int | None
    population_digest: str | None
    population: str | None
    seed: str | None
    picks: str | None
    replacements: str | None
    reason: str | None
    prev_hash: str
    record_hash: str
    # the JSON columns kept apart (their fields None unless the text is in hand) and where to
    # read them; `sealed`: the SHA-256 of those texts the hash covers in their stead
    apart: frozenset[str] = dataclasses.field(default=frozenset(), compare=False)
    source: TextsApart | None = dataclasses.field(default=None, compare=False, repr=False)
    sealed: tuple[tuple[str, str], ...] = dataclasses.field(default=(), compare=False)

    def text(self, column: str) -> str | None:
        """A JSON column's text as hashed, read from its table when the record keeps it apart."""
        value = getattr(self, column)
        if value is not None or column not in self.apart:
            return value
        if self.source is None:
            raise DataError(f"记录 {self.draw_id} 的 {column} 另表存放，但没有可读取的连接")
        return self.source.text(self, column)

    def compute_hash(self) -> str:
        """SHA-256 of the canonical JSON of every column but record_hash (a text kept apart with
        its SHA-256: "sha256:" and that, see `unsealed`)."""
        sealed = dict(self.sealed)
        body = {
            c: SEALED + sealed[c] if c in sealed else self.text(c)
            for c in COLUMNS
            if c != "record_hash"
        }
        body["created_at"] = self.created_at.strftime("%Y-%m-%d %H:%M:%S.%f")
        return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()

    def unsealed(self) -> list[str]:
        """The texts kept apart that no longer match the SHA-256 the record's hash covers."""
        return [c for c, digest in self.sealed if text_sha256(self.text(c) or "") != digest]

    def params(self) -> dict[str, Any]:
        return json.loads(self.parameters)

    def pick_list(self) -> list[Pick]:
        return [Pick(**p) for p in json.loads(self.text("picks") or "[]")]

    def members(self) -> list[Member]:
        """The stored population of a population_frozen record, parsed once per record (verify-log
        reads it for the record and again for each draw and replacement from it): not to be
        changed by the caller."""
        parsed = self.__dict__.get("_members")  # a frozen dataclass: cached beside its fields
        if parsed is None:
            text = self.text("population")
            parsed = [Member(*row) for row in json.loads(text)["rows"]] if text else []
            self.__dict__["_members"] = parsed
        return parsed

    def replacement_list(self) -> list[dict[str, Any]]:
        return json.loads(self.replacements or "[]")


def picks_json(picks: list[Pick]) -> str:
    """The picks column: [{hospital_id, id, key, rank, stratum}] (= dataclasses.asdict per pick)."""
    return canonical_json(
        [
            {
                "hospital_id": p.hospital_id,
                "id": p.id,
                "key": p.key,
                "rank": p.rank,
                "stratum": p.stratum,
            }
            for p in picks
        ]
    )


POPULATION_COLUMNS = ("id", "stratum", "hospital_id")


def population_schema() -> pa.Schema:
    """The population table's Arrow schema (a function: Arrow is imported where it is used)."""
    import pyarrow as pa

    return pa.schema([(c, pa.string()) for c in POPULATION_COLUMNS])


def population_json(members: list[Member]) -> str:
    """The population column of a frozen record (the reference `population_text` reproduces)."""
    rows = [[m.id, m.stratum, m.hospital_id] for m in sorted(members)]
    return canonical_json({"columns": list(POPULATION_COLUMNS), "rows": rows})


def _large(text: str) -> pa.Scalar:
    import pyarrow as pa

    return pa.scalar(text, pa.large_string())


def _joined(values: pa.Array | pa.ChunkedArray, separator: str) -> pa.Scalar:
    """All values of a text column joined by separator, as one Arrow string (no Python per row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = values.cast(pa.large_string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    one = pa.LargeListArray.from_arrays(pa.array([0, len(values)], pa.int64()), values)
    return pc.binary_join(one, _large(separator))[0]


NEEDS_ESCAPE = r'["\\\x00-\x1f]'  # what json.dumps(ensure_ascii=False) escapes


def population_text(table: pa.Table) -> str:
    """`population_json` of a population table already in id order, built column-wise.

    Text without a quote, a backslash or a control character is its own JSON string body (json.dumps
    with ensure_ascii=False escapes nothing else), so such rows are joined by Arrow; a population
    holding any of those characters goes through canonical_json itself.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = [table[c] for c in POPULATION_COLUMNS]
    if any(pc.any(pc.match_substring_regex(c, NEEDS_ESCAPE)).as_py() for c in columns):
        rows = zip(*(c.to_pylist() for c in columns), strict=True)
        return canonical_json(
            {"columns": list(POPULATION_COLUMNS), "rows": [list(r) for r in rows]}
        )
    quoted = [
        pc.fill_null(
            pc.binary_join_element_wise(
                _large('"'), c.cast(pa.large_string()), _large('"'), _large("")
            ),
            _large("null"),
        )
        for c in columns
    ]
    inner = pc.binary_join_element_wise(*quoted, _large(","))
    rows = pc.binary_join_element_wise(_large("["), inner, _large("]"), _large(""))
    head = canonical_json({"columns": list(POPULATION_COLUMNS)})[:-1]
    body = _joined(rows, ",").as_py() if table.num_rows else ""
    return head + ',"rows":[' + body + "]}"


def digest_sorted(ids: pa.Array | pa.ChunkedArray) -> str:
    """keys.population_digest of ids already in code-point order: one join, one SHA-256."""
    h = hashlib.sha256()
    if len(ids):
        h.update(_joined(ids, "\n").as_buffer())
        h.update(b"\n")
    return h.hexdigest()


def population_arrow(text: str | None) -> pa.Table:
    """The stored population of a frozen record as an Arrow table (id, stratum, hospital_id)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = json.loads(text)["rows"] if text else []
    nested = pa.array(rows, pa.list_(pa.string()))
    if len(nested) and pc.min(pc.list_value_length(nested)).as_py() != 3:
        members = [Member(*r) for r in rows]  # a short row: Member's defaults fill it
        rows = [[m.id, m.stratum, m.hospital_id] for m in members]
        nested = pa.array(rows, pa.list_(pa.string()))
    flat = nested.flatten()
    return pa.Table.from_arrays([flat[i::3] for i in range(3)], schema=population_schema())


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create draw_log and the findings tables at first use (a concurrent creator is retried)."""
    present = con.execute(
        "select count(*) from information_schema.tables where table_name in "
        "('draw_log', 'spot_check_findings', 'spot_check_findings_latest', "
        "'strike_decisions_latest', 'outages', 'actions_done_latest', 'draw_log_texts') "
        "and table_catalog = current_database()"
    ).fetchone()[0]
    if present == 7 and _has_sha256(con):  # nothing to do; read-only connections cannot run DDL
        return
    for _ in range(_RETRIES):
        try:
            con.execute(sql("draw_log_schema"))
            # draw_log_texts from before its texts' SHA-256 was kept
            con.execute("alter table draw_log_texts add column if not exists sha256 varchar")
            return
        except (duckdb.TransactionException, duckdb.CatalogException):
            time.sleep(0.01)
    con.execute(sql("draw_log_schema"))
    con.execute("alter table draw_log_texts add column if not exists sha256 varchar")


def _has_sha256(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether draw_log_texts keeps its texts' SHA-256 (a column added after it was made)."""
    query = (
        "select count(*) from duckdb_columns() where table_name = 'draw_log_texts' "
        "and column_name = 'sha256' and database_name = current_database()"
    )
    return bool(con.execute(query).fetchone()[0])


def has_log(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_name = 'draw_log'"
        ).fetchone()[0]
    )


def _select(con: duckdb.DuckDBPyConnection) -> str:
    """The columns of a record, and the ones it keeps apart (none in a log from before)."""
    found = con.execute(
        "select count(*) from information_schema.tables where table_name = 'draw_log_texts' "
        "and table_catalog = current_database()"
    ).fetchone()[0]
    if not found:
        return ", ".join((*COLUMNS, "null"))
    apart = _APART.format(sha256="t.sha256" if _has_sha256(con) else "null::varchar")
    return ", ".join((*COLUMNS, apart))


def _row_to_record(row: tuple, con: duckdb.DuckDBPyConnection) -> DrawRecord:
    """A record from a `_select` row; texts kept apart are read through `con` when asked for."""
    pairs = row[-1] or ()
    apart = frozenset(c for c, _ in pairs)
    sealed = tuple((c, h) for c, h in pairs if h is not None)
    return DrawRecord(
        **dict(zip(COLUMNS, row[:-1], strict=True)),
        apart=apart,
        source=TextsApart(con) if apart else None,
        sealed=sealed,
    )


def load_records(con: duckdb.DuckDBPyConnection, kind: str | None = None) -> list[DrawRecord]:
    """Every record (of one kind, if given) in chain order (none when the log does not exist yet)."""
    if not has_log(con):
        return []
    where = f"where kind = {sql_literal(kind)}" if kind is not None else ""
    query = f"select {_select(con)} from draw_log {where} order by record_no"
    return [_row_to_record(r, con) for r in con.execute(query).fetchall()]


def get_record(con: duckdb.DuckDBPyConnection, draw_id: str) -> DrawRecord:
    """One record by draw_id; an unknown id is a DataError."""
    row = None
    if has_log(con):
        row = con.execute(
            f"select {_select(con)} from draw_log where draw_id = {sql_literal(draw_id)}"
        ).fetchone()
    if row is None:
        raise DataError(f"抽取记录 {draw_id} 不存在")
    return _row_to_record(row, con)


def record_hash(con: duckdb.DuckDBPyConnection, draw_id: str) -> str | None:
    """The stored record_hash of a record (None when there is no such record)."""
    if not has_log(con):
        return None
    query = f"select record_hash from draw_log where draw_id = {sql_literal(draw_id)}"
    row = con.execute(query).fetchone()
    return row[0] if row else None


def children(con: duckdb.DuckDBPyConnection, draw_id: str) -> list[DrawRecord]:
    """The replacement records amending a draw, in chain order."""
    rows = con.execute(
        f"select {_select(con)} from draw_log where parent_id = {sql_literal(draw_id)} "
        "order by record_no"
    ).fetchall()
    return [_row_to_record(r, con) for r in rows]


def _insert(con: duckdb.DuckDBPyConnection, rec: DrawRecord, temp: dict[str, TempText]) -> None:
    """The record's row; each long text into a table of its own (the row's column null)."""
    values = ["null" if c in temp else sql_literal(getattr(rec, c)) for c in COLUMNS]
    con.execute(f"insert into draw_log ({', '.join(COLUMNS)}) select {', '.join(values)}")
    for column, value in temp.items():
        table = text_table(rec.record_no, column)
        con.execute(f"create table {table} as select text from ({value.query}) as q(text)")
        sha256 = dict(rec.sealed)[column]
        con.execute(
            "insert into draw_log_texts (record_no, column_name, table_name, items, sha256) "
            f"values ({rec.record_no}, {sql_literal(column)}, {sql_literal(table)}, "
            f"{value.items}, {sql_literal(sha256)})"
        )


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    # a failed commit has already ended the transaction; a failed statement has not
    with contextlib.suppress(duckdb.Error):
        con.execute("rollback")


def append(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    build: Callable[[duckdb.DuckDBPyConnection], dict[str, Any]],
    at: dt.datetime | None = None,
) -> DrawRecord:
    """Append one record; `build(con)` runs inside the transaction and returns its columns
    (a `TempText` for a long list already in a temp table of `con`: kept apart)."""
    ensure_tables(con)
    last_exc: Exception | None = None
    for _ in range(_RETRIES):
        begin(con)
        try:
            head = con.execute(
                "select record_no, record_hash from draw_log order by record_no desc limit 1"
            ).fetchone()
            fields = build(con)
            temp = {c: v for c, v in fields.items() if isinstance(v, TempText)}
            created = at or dt.datetime.now()
            no = head[0] + 1 if head else 1
            rec = DrawRecord(
                record_no=no,
                draw_id=f"{KIND_PREFIX[kind]}-{created:%Y%m%d}-{no:06d}",
                kind=kind,
                created_at=created,
                prev_hash=head[1] if head else GENESIS,
                record_hash="",
                **{c: temp[c].text if c in temp else fields.get(c) for c in COLUMNS[4:-2]},
                apart=frozenset(temp),
                sealed=tuple((c, text_sha256(v.text)) for c, v in sorted(temp.items())),
            )
            rec = dataclasses.replace(rec, record_hash=rec.compute_hash())
            _insert(con, rec, temp)
            commit(con)
            return rec
        except (duckdb.ConstraintException, duckdb.TransactionException) as exc:
            _rollback(con)
            last_exc = exc
            time.sleep(0.005)
        except BaseException:
            _rollback(con)
            raise
    raise DataError(f"抽取记录写入冲突，重试 {_RETRIES} 次仍未成功：{last_exc}")
