"""Freeze a population, draw from it, replace a pick (shared/RULES.md "Verifiable draws").

The order of a meeting: `freeze_population` records the candidate list and its digest (shown on
the projector) before any seed exists, together with the rule and, where the rule fixes it, k per
stratum; then the seed is fixed in the open and `draw` ranks the frozen list by key and takes the
first k per stratum. A redraw is a new record that must give its reason; `replace` swaps a pick
that cannot serve for the next-ranked eligible candidate, recorded with its reason. Eligible means:
in the frozen list, in the same stratum, never picked in this draw before, and — for a reviewer —
not of the hospital of any case the replaced expert was to review (回避).

A population is handled as an Arrow table (id, stratum, hospital_id): sorted, checked, digested
and serialised column-wise by Arrow compute and ranked in DuckDB (draw_rank.sql), never as one
Python object per member — a province quarter holds some 400,000 cases. `Member` lists are still
accepted (and converted). A population staged as a temp table of the connection
(`StagedPopulation`: spot-check's approved cases) stays in DuckDB throughout: checked and
digested (draw_population_facts.sql), serialised (draw_population_json.sql), ranked, its picks
serialised (draw_picks_json.sql) and both texts kept apart in the log from there — no
Arrow table built in Python, so neither pyarrow nor DuckDB imports pandas.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.db import sql
from pipelines.draws import log
from pipelines.draws.keys import (
    ID_PROBLEM_RE2,
    Member,
    Pick,
    check_id,
    invalid_ids,
    normalize_seed,
    rank_members,
)
from pipelines.draws.log import POPULATION_COLUMNS, DrawRecord, population_schema
from pipelines.errors import DataError, UsageError
from pipelines.rules.graph import inline, sql_literal

if TYPE_CHECKING:
    import pyarrow as pa

AVOID_REASON = "回避：与所复核病例同院"
NO_SUPERVISOR = "监督人未填写"
SUPERVISOR_NEEDED = "请填写监督人：每次随机抽取都须有监督人见证并在记录上签字。"
RANK_SPARE = 1.0  # draw_rank.sql's $spare: candidates kept beyond k per stratum, in its units


def supervisor_name(name: str | None, *, required: bool) -> str:
    """The 监督人 (witness) to record for a draw (shared/RULES.md "Verifiable draws").

    The name as typed, trimmed. Without one, a page (where the witness signs the record) is
    refused with SUPERVISOR_NEEDED; the command line (e.g. a scheduled run) records NO_SUPERVISOR
    explicitly, so the record never looks witnessed when it was not.
    """
    text = (name or "").strip()
    if text and text != NO_SUPERVISOR:
        return text
    if required:
        raise UsageError(SUPERVISOR_NEEDED)
    return NO_SUPERVISOR


@dataclasses.dataclass(frozen=True)
class StagedPopulation:
    """A population as temp table `name` (id, stratum, hospital_id) of connection `con`."""

    con: duckdb.DuckDBPyConnection = dataclasses.field(compare=False, repr=False)
    name: str

    def on(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Whether `con` sees the temp table (the connection that staged it)."""
        return self.con is con

    def arrow(self) -> pa.Table:
        found = self.con.execute(f"select id, stratum, hospital_id from {self.name} order by id")
        return found.to_arrow_table().cast(population_schema())

    @functools.cached_property
    def strata_sizes(self) -> dict[str, int]:
        """`table_strata_sizes` of the staged rows, counted in DuckDB once (the table never
        changes once staged; k is fixed from it and the frozen record states it)."""
        query = f"select stratum, count(*) from {self.name} group by stratum"
        return dict(sorted(self.con.execute(query).fetchall()))


_STAGED = itertools.count(1)


def stage_population(con: duckdb.DuckDBPyConnection, query: str) -> StagedPopulation:
    """The rows of a SELECT giving id, stratum, hospital_id as a new temp table of `con`."""
    name = f"draw_population_{next(_STAGED)}"
    con.execute(f"create temp table {name} as select id, stratum, hospital_id from ({query})")
    return StagedPopulation(con, name)


@dataclasses.dataclass(frozen=True)
class FrozenPopulation:
    """A population recorded before the seed: its record and its members (an Arrow table, or
    the temp table it was staged in)."""

    record: DrawRecord
    source: pa.Table | StagedPopulation  # id, stratum, hospital_id; any row order
    plain: bool = False  # its texts were checked to need no JSON escapes (a staged population)

    @functools.cached_property
    def table(self) -> pa.Table:
        source = self.source
        return source.arrow() if isinstance(source, StagedPopulation) else source

    @property
    def draw_id(self) -> str:
        return self.record.draw_id

    @property
    def digest(self) -> str:
        return self.record.population_digest or ""

    @property
    def size(self) -> int:
        return self.record.population_size or 0

    def strata_sizes(self) -> dict[str, int]:
        """Members per stratum, as recorded at freezing."""
        return self.record.params()["strata_sizes"]

    @functools.cached_property
    def members(self) -> list[Member]:
        """The members in id order (one Python object each: for small populations)."""
        cols = [self.table[c].to_pylist() for c in POPULATION_COLUMNS]
        return sorted(Member(*row) for row in zip(*cols, strict=True))


@dataclasses.dataclass(frozen=True)
class DrawResult:
    """A draw's record and its picks; shortfall = strata with fewer candidates than k. Ranked
    from a staged population, the picks stay in temp table `staged` of the connection (id,
    stratum, rank, key, hospital_id) and become Python objects only when asked for (`picks`,
    read from the record)."""

    record: DrawRecord
    shortfall: dict[str, tuple[int, int]]
    given: list[Pick] | None = None
    staged: str | None = None

    @functools.cached_property
    def picks(self) -> list[Pick]:
        """By stratum, then rank."""
        return self.given if self.given is not None else self.record.pick_list()

    @property
    def draw_id(self) -> str:
        return self.record.draw_id


@dataclasses.dataclass(frozen=True)
class DrawState:
    """A draw as it stands after its replacements (a replacement takes the replaced's slot)."""

    picks: list[Pick]
    replacements: list[dict[str, Any]]
    assignments: list[dict[str, Any]]


Population = "Iterable[Member] | pa.Table | StagedPopulation"  # a string: Arrow imported where used


def population_arrow(members: Population) -> pa.Table:
    """A population as the Arrow table (id, stratum, hospital_id) the SQL reads."""
    import pyarrow as pa

    if isinstance(members, StagedPopulation):
        return members.arrow()
    if isinstance(members, pa.Table):
        return members.select(list(POPULATION_COLUMNS)).cast(population_schema())
    ids: list[str] = []
    strata: list[str] = []
    hospitals: list[str | None] = []
    for m in members:
        ids.append(m.id)
        strata.append(m.stratum)
        hospitals.append(m.hospital_id)
    return pa.Table.from_arrays(
        [pa.array(c, pa.string()) for c in (ids, strata, hospitals)], schema=population_schema()
    )


def table_strata_sizes(table: pa.Table) -> dict[str, int]:
    """Population size per stratum, strata in code-point order (keys.strata_sizes of a table)."""
    import pyarrow.compute as pc

    counts = pc.value_counts(table["stratum"])
    pairs = zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)
    return dict(sorted(pairs))


def first_problem(ids: pa.Array) -> tuple[str | None, bool] | None:
    """The first unusable or repeated id of ids in code-point order: (id, unusable), or None."""
    import pyarrow as pa
    import pyarrow.compute as pc

    bad = invalid_ids(ids)
    if len(ids) > 1:
        repeat = pc.fill_null(pc.equal(ids[1:], ids[:-1]), False)
        bad = pc.or_(bad, pa.concat_arrays([pa.array([False]), repeat]))
    found = pc.indices_nonzero(bad)
    if not len(found):
        return None
    at = found[0].as_py()
    return ids[at].as_py(), invalid_ids(ids[at : at + 1])[0].as_py()


def freeze_population(
    con: duckdb.DuckDBPyConnection,
    for_kind: str,
    members: Population,
    parameters: Mapping[str, Any],
    *,
    operator: str | None = None,
    supervisor: str | None = None,
    profile: str | None = None,
    at: dt.datetime | None = None,
) -> FrozenPopulation:
    """Record the candidate list and its digest before the seed exists ('population_frozen').

    `members`: Member objects, an Arrow table with columns id, stratum, hospital_id, or such a
    table staged on `con` (`stage_population`).
    """
    if for_kind not in log.DRAW_KINDS:
        raise UsageError(f"未知的抽取类型 {for_kind!r}")
    if isinstance(members, StagedPopulation) and members.on(con):
        source: pa.Table | StagedPopulation = members
        size, digest, text = staged_facts(members)
        sizes = members.strata_sizes
    else:
        source = population_arrow(members).sort_by("id")  # code-point order (UTF-8 byte order)
        check_ids(source["id"].combine_chunks())
        size, digest = source.num_rows, log.digest_sorted(source["id"])
        text, sizes = log.population_text(source), table_strata_sizes(source)
    params = {**parameters, "for_kind": for_kind, "strata_sizes": sizes}
    fields = {
        "operator": operator,
        "supervisor": supervisor,
        "profile": profile,
        "parameters": log.canonical_json(params),
        "population_size": size,
        "population_digest": digest,
        "population": text,
    }
    rec = log.append(con, "population_frozen", lambda _c: fields, at)
    # a staged list kept apart (TempText) was checked to need no JSON escapes (staged_facts)
    return FrozenPopulation(record=rec, source=source, plain=isinstance(text, log.TempText))


def check_ids(ids: pa.Array) -> None:
    """Refuse a population (ids in code-point order) with an unusable or a repeated id."""
    problem = first_problem(ids)
    if problem is not None:
        value, unusable = problem
        if unusable:
            check_id(value)  # raises, naming the id
        raise DataError(f"候选名单中编号 {value} 重复")


def _into(
    con: duckdb.DuckDBPyConnection,
    target: str,
    query: str,
    views: Mapping[str, str],
    **values: Any,
) -> None:
    """Draw query `query` into new temp table `target` of `con`, each view it reads pointed at
    a temp table (`views`: view -> table) for the query only; its parameters written in as
    literals."""
    for view, table in views.items():
        con.execute(f"create or replace temp view {view} as select * from {table}")
    try:
        con.execute(f"create or replace temp table {target} as {inline(sql(query), values)}")
    finally:
        for view in views:
            con.execute(f"drop view if exists {view}")


def staged_facts(staged: StagedPopulation) -> tuple[int, str, str | log.TempText]:
    """(size, digest, stored list) of a staged population, checked like `check_ids`; the list
    stays in a temp table (`log.TempText`) unless its text needs JSON escapes (then
    `log.population_text` writes it)."""
    con, facts = staged.con, f"{staged.name}_facts"
    _into(
        con,
        facts,
        "draw_population_facts",
        {"draw_population": staged.name},
        id_problem=ID_PROBLEM_RE2,
        needs_escape=log.NEEDS_ESCAPE,
        id_suspect=f"(?:{ID_PROBLEM_RE2})|{log.NEEDS_ESCAPE}",
    )
    size, distinct, unusable, escaped, nulls, id_lines = con.execute(
        "select population_size, distinct_ids, unusable, needs_escape, has_null, id_lines "
        f"from {facts}"
    ).fetchone()
    digest = log.text_sha256(id_lines)
    if unusable or distinct != size:
        check_ids(staged.arrow()["id"].combine_chunks())
    if escaped:
        return size, digest, log.population_text(staged.arrow())
    stored = f"{staged.name}_json"
    _into(con, stored, "draw_population_json", {"draw_population": staged.name}, nulls=nulls)
    text = con.execute(f"select population from {stored}").fetchone()[0]
    return size, digest, log.TempText(text, f"select population from {stored}", size)


def load_frozen(con: duckdb.DuckDBPyConnection, frozen_id: str) -> FrozenPopulation:
    """A frozen population as recorded in the log (its stored list, parsed)."""
    rec = log.get_record(con, frozen_id)
    if rec.kind != "population_frozen":
        raise UsageError(f"记录 {frozen_id} 不是冻结名单记录（类型 {rec.kind}）")
    return FrozenPopulation(record=rec, source=log.population_arrow(rec.text("population")))


def frozen_population(
    con: duckdb.DuckDBPyConnection, frozen: str | FrozenPopulation
) -> FrozenPopulation:
    """The frozen population by id, or the one in hand when it is that record of this log."""
    if isinstance(frozen, FrozenPopulation):
        if log.record_hash(con, frozen.draw_id) == frozen.record.record_hash:
            return frozen
        frozen = frozen.draw_id
    return load_frozen(con, frozen)


def rank_sql(
    con: duckdb.DuckDBPyConnection,
    members: Population,
    seed: str,
    k: Mapping[str, int],
    spare: float = RANK_SPARE,
) -> list[Pick]:
    """The first k per stratum by key, computed set-based in DuckDB (draw_rank.sql)."""
    import pyarrow as pa

    cur = con.cursor()
    try:
        cur.register("draw_population", population_arrow(members))
        cur.register(
            "draw_quota",
            pa.table(
                {
                    "stratum": pa.array(list(k), pa.string()),
                    "k": pa.array(list(k.values()), pa.int64()),
                }
            ),
        )
        rows = cur.execute(sql("draw_rank"), {"seed": seed, "spare": spare}).fetchall()
    finally:
        cur.close()
    return _picks(rows)


def _picks(rows: list[tuple]) -> list[Pick]:
    return [Pick(id=i, stratum=s, rank=r, key=key, hospital_id=h) for i, s, r, key, h in rows]


def staged_picks(con: duckdb.DuckDBPyConnection, table: str) -> list[Pick]:
    """The picks `rank_staged` left in temp table `table` of `con`, by stratum then rank."""
    columns = "id, stratum, rank, key, hospital_id"
    return _picks(con.execute(f"select {columns} from {table} order by stratum, rank").fetchall())


def rank_staged(
    staged: StagedPopulation, seed: str, k: Mapping[str, int], spare: float = RANK_SPARE
) -> str:
    """`rank_sql` of a staged population, the picks left in a new temp table (its name)."""
    con, name, quota = staged.con, f"{staged.name}_picks", f"{staged.name}_quota"
    con.execute(f"create or replace temp table {quota} (stratum varchar, k bigint)")
    if k:  # two list literals: DuckDB parses them ≈ 4× faster than a VALUES row per stratum
        strata = ", ".join("NULL" if s is None else "'" + s.replace("'", "''") + "'" for s in k)
        counts = ", ".join(str(int(n)) for n in k.values())
        con.execute(f"insert into {quota} select unnest([{strata}]), unnest([{counts}])")
    views = {"draw_population": staged.name, "draw_quota": quota}
    _into(con, name, "draw_rank", views, seed=seed, spare=spare)
    return name


def ranked(
    con: duckdb.DuckDBPyConnection,
    source: pa.Table | StagedPopulation,
    seed: str,
    k: dict,
    plain: bool = False,
) -> tuple[list[Pick] | None, str | None, str | log.TempText]:
    """(the picks, None while they are only in DuckDB; their temp table; the record's picks
    column): set-based in DuckDB, the column's text too when the population is staged on `con`
    and needs no JSON escapes (checked here, unless `plain`: checked when it was staged)."""
    if not (isinstance(source, StagedPopulation) and source.on(con)):
        picks = rank_sql(con, source, seed, k)
        return picks, None, log.picks_json(picks)
    table = rank_staged(source, seed, k)
    views = {"draw_picks": table}
    escapes = {"needs_escape": log.NEEDS_ESCAPE, "check": not plain}
    _into(con, f"{table}_json", "draw_picks_json", views, **escapes)
    escaped, text, items = con.execute(
        f"select needs_escape, picks, (select count(*) from {table}) from {table}_json"
    ).fetchone()
    if escaped:
        picks = staged_picks(con, table)
        return picks, table, log.picks_json(picks)
    return None, table, log.TempText(text, f"select picks from {table}_json", items)


def draw(
    con: duckdb.DuckDBPyConnection,
    frozen: str | FrozenPopulation,
    seed: str,
    *,
    k: Mapping[str, int] | None = None,
    operator: str | None = None,
    supervisor: str | None = None,
    reason: str | None = None,
    extra: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> DrawResult:
    """Draw the first k per stratum of a frozen population by key; k fixed at freezing wins.

    `frozen`: the population_frozen record's id, or the FrozenPopulation just frozen (its table
    is ranked as it is, without reading the stored list back).
    """
    seed = normalize_seed(seed)
    frozen = frozen_population(con, frozen)
    frozen_id = frozen.draw_id
    params = frozen.record.params()
    kind = params["for_kind"]
    fixed = params.get("k")
    if fixed is not None and k is not None and dict(k) != fixed:
        raise UsageError(f"名单 {frozen_id} 冻结时已确定每层抽取数，不能更改")
    if fixed is None and k is None:
        raise UsageError(f"名单 {frozen_id} 冻结时未确定抽取数，抽取时须给出每层抽取数")
    quota = dict(fixed if fixed is not None else k or {})
    if any(v < 0 for v in quota.values()):
        raise UsageError("抽取数不能为负")
    sizes = frozen.strata_sizes()
    shortfall = {s: (n, sizes.get(s, 0)) for s, n in sorted(quota.items()) if n > sizes.get(s, 0)}
    given, staged, picks_column = ranked(con, frozen.source, seed, quota, frozen.plain)
    reason = (reason or "").strip() or None
    draw_params = {
        **params,
        **(extra or {}),
        "k": dict(sorted(quota.items())),
        "shortfall": {s: {"k": n, "available": a} for s, (n, a) in shortfall.items()},
    }

    def build(c: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        earlier = c.execute(
            "select draw_id, created_at from draw_log where frozen_id = "
            f"{sql_literal(frozen_id)} and kind <> 'replacement' order by record_no limit 1"
        ).fetchone()
        if earlier and not reason:
            raise UsageError(
                f"名单 {frozen_id} 已于 {earlier[1]:%Y-%m-%d %H:%M:%S} 抽取过（记录 {earlier[0]}），"
                "不能重抽；确需重新抽取，须说明原因，将作为新记录保存"
            )
        return {
            "operator": operator,
            "supervisor": supervisor,
            "profile": frozen.record.profile,
            "frozen_id": frozen_id,
            "parameters": log.canonical_json(draw_params),
            "population_size": frozen.size,
            "population_digest": frozen.digest,
            "seed": seed,
            "picks": picks_column,
            "replacements": "[]",
            "reason": reason,
        }

    rec = log.append(con, kind, build, at)
    return DrawResult(rec, shortfall, given=given, staged=staged)


def population_table(
    con: duckdb.DuckDBPyConnection, draw_id: str
) -> tuple[list[str], list[list[str | None]]]:
    """The frozen population behind a record as the list to publish: (columns, rows by id)."""
    rec = log.get_record(con, draw_id)
    frozen = rec if rec.kind == "population_frozen" else log.get_record(con, rec.frozen_id or "")
    params = frozen.params()
    id_col = params.get("id_column") or "id"
    stratum_col = params.get("stratum_column")
    table = log.population_arrow(frozen.text("population"))  # in stored order
    if stratum_col in (None, "hospital_id"):
        columns, names = ["id", "hospital_id"], [id_col, "hospital_id"]
    else:
        columns, names = list(POPULATION_COLUMNS), [id_col, stratum_col, "hospital_id"]
    cols = [table[c].to_pylist() for c in columns]
    return names, [list(row) for row in zip(*cols, strict=True)]


def draw_state(parent: DrawRecord, amendments: Iterable[DrawRecord]) -> DrawState:
    """Apply the replacement records, in chain order, to a draw's picks and assignments."""
    picks = parent.pick_list()
    assignments = [dict(a) for a in parent.params().get("assignments", [])]
    done: list[dict[str, Any]] = []
    for rec in amendments:
        new = rec.pick_list()[0]
        for r in rec.replacement_list():
            picks = [new if p.id == r["replaced"] else p for p in picks]
            for a in assignments:
                if a["expert_id"] == r["replaced"]:
                    a["expert_id"] = new.id
            done.append({**r, "draw_id": rec.draw_id, "created_at": rec.created_at})
    return DrawState(picks=picks, replacements=done, assignments=assignments)


def current_state(con: duckdb.DuckDBPyConnection, draw_id: str) -> DrawState:
    """A draw's picks and assignments as they stand now."""
    parent = log.get_record(con, draw_id)
    return draw_state(parent, log.children(con, draw_id))


def next_eligible(
    ranked: list[Pick], used: set[str], avoid_hospitals: set[str]
) -> tuple[Pick | None, list[dict[str, str]]]:
    """The next-ranked candidate never picked in this draw and not in an avoided hospital."""
    skipped: list[dict[str, str]] = []
    for p in ranked:
        if p.id in used:
            continue
        if p.hospital_id in avoid_hospitals:
            skipped.append({"id": p.id, "reason": AVOID_REASON})
            continue
        return p, skipped
    return None, skipped


def replacement_for(
    parent: DrawRecord,
    amendments: list[DrawRecord],
    members: list[Member],
    pick_id: str,
) -> tuple[Pick | None, list[dict[str, str]], list[str]]:
    """Who replaces `pick_id` in a draw: (replacement, skipped candidates, avoided hospitals)."""
    state = draw_state(parent, amendments)
    current = {p.id: p for p in state.picks}
    if pick_id not in current:
        raise UsageError(f"{pick_id} 不是抽取记录 {parent.draw_id} 当前的入选者，无法替补")
    stratum = current[pick_id].stratum
    used = {p.id for p in parent.pick_list()} | {
        p.id for rec in amendments for p in rec.pick_list()
    }
    avoid = sorted({a["case_hospital_id"] for a in state.assignments if a["expert_id"] == pick_id})
    ranked = rank_members(parent.seed or "", [m for m in members if m.stratum == stratum])
    found, skipped = next_eligible(ranked.get(stratum, []), used, set(avoid))
    return found, skipped, avoid


def replace(
    con: duckdb.DuckDBPyConnection,
    draw_id: str,
    pick_id: str,
    reason: str,
    *,
    operator: str | None = None,
    supervisor: str | None = None,
    at: dt.datetime | None = None,
) -> DrawResult:
    """Replace a pick that cannot serve by the next-ranked eligible candidate (a new record)."""
    reason = (reason or "").strip()
    if not reason:
        raise UsageError("替补必须说明原因（如：本人回避、因病不能参加）")

    def build(c: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        parent = log.get_record(c, draw_id)
        if parent.kind not in log.DRAW_KINDS:
            raise UsageError(f"记录 {draw_id} 不是抽取记录（类型 {parent.kind}），不能替补")
        frozen = load_frozen(c, parent.frozen_id or "")
        found, skipped, avoid = replacement_for(
            parent, log.children(c, draw_id), frozen.members, pick_id
        )
        if found is None:
            raise DataError(f"抽取记录 {draw_id} 中已没有可替补 {pick_id} 的候选人")
        params = {
            "replaced": pick_id,
            "stratum": found.stratum,
            "avoid_hospitals": avoid,
            "skipped": skipped,
        }
        return {
            "operator": operator,
            "supervisor": supervisor,
            "profile": parent.profile,
            "frozen_id": parent.frozen_id,
            "parent_id": draw_id,
            "parameters": log.canonical_json(params),
            "population_size": parent.population_size,
            "population_digest": parent.population_digest,
            "seed": parent.seed,
            "picks": log.picks_json([found]),
            "replacements": log.canonical_json(
                [{"replaced": pick_id, "replacement": found.id, "reason": reason}]
            ),
            "reason": reason,
        }

    rec = log.append(con, "replacement", build, at)
    return DrawResult(record=rec, shortfall={}, given=rec.pick_list())
