"""`verify-log`: check the draw_log hash chain and re-derive every draw from its stored population.

Per record, in chain order: record numbers run 1, 2, 3 …; prev_hash is the previous record's hash;
record_hash is the hash of the record as stored (a list kept apart matches the SHA-256 it covers);
a frozen population matches its digest; a draw
uses an earlier frozen population, keeps the k fixed at freezing (and ceil(rate × n) where a rate
is the rule), and its picks are exactly the first k per stratum by key for its seed; a review's
expert count and assignment follow from its cases; a replacement is the next-ranked eligible
candidate. The first failure is reported, naming the record.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import duckdb

from pipelines.draws import log
from pipelines.draws.engine import replacement_for
from pipelines.draws.keys import (
    Member,
    normalize_seed,
    population_digest,
    quota,
    rank_members,
    strata_sizes,
    take,
)
from pipelines.draws.log import DrawRecord
from pipelines.draws.plan import Precision
from pipelines.draws.review import replan
from pipelines.draws.targeted import check_targeted
from pipelines.errors import UsageError


@dataclasses.dataclass(frozen=True)
class LogCheck:
    """The outcome of verify_log: ok, how many records, the chain head, the first problem."""

    ok: bool
    records: int
    head_hash: str
    message: str
    draw_id: str | None = None


def _check_frozen(rec: DrawRecord) -> str | None:
    members = rec.members()
    if population_digest(m.id for m in members) != rec.population_digest:
        return "所存名单的摘要与记录的名单摘要不符"
    if len(members) != rec.population_size:
        return "所存名单的人数与记录的名单人数不符"
    if rec.params().get("strata_sizes") != strata_sizes(members):
        return "记录的各层人数与所存名单不符"
    return None


def _check_draw(rec: DrawRecord, frozen: DrawRecord, by_id: dict[str, DrawRecord]) -> str | None:
    if (rec.population_digest, rec.population_size) != (
        frozen.population_digest,
        frozen.population_size,
    ):
        return f"名单摘要或人数与冻结记录 {frozen.draw_id} 不符"
    try:
        if normalize_seed(rec.seed) != rec.seed:
            return "随机种子含首尾空白"
    except UsageError as exc:
        return f"随机种子无效：{exc}"
    params, fixed = rec.params(), frozen.params()
    k = params.get("k", {})
    if "k" in fixed and fixed["k"] != k:
        return "每层抽取数与冻结时确定的不一致"
    members = frozen.members()
    sizes = strata_sizes(members)
    if "rate" in fixed:
        rate = Decimal(fixed["rate"])
        if any(k.get(s) != quota(rate, n) for s, n in sizes.items()):
            return f"每层抽取数不等于 ceil({fixed['rate']} × 层内人数)"
    if "precision" in fixed:
        plan = Precision.from_params(fixed["precision"])
        if any(k.get(s) != plan.n(n) for s, n in sizes.items()):
            return "每层抽取数不等于按精度（预期不合格率、允许误差、置信度）计算的样本量"
    expected = take(rank_members(rec.seed or "", members), k)
    if expected != rec.pick_list():
        return "入选名单与按种子和名单复算的结果不符"
    if rec.kind == "review_experts":
        return _check_review(rec, members, by_id)
    return None


def _check_review(
    rec: DrawRecord, members: list[Member], by_id: dict[str, DrawRecord]
) -> str | None:
    params = rec.params()
    cases_rec = by_id.get(params.get("cases_draw_id", ""))
    if cases_rec is None or cases_rec.kind != "review_cases":
        return "引用的复核病例抽取记录不存在或在其后"
    drawn = sorted((p.id, p.hospital_id, p.key) for p in cases_rec.pick_list())
    if drawn != sorted((c[0], c[2], c[3]) for c in params["cases"]):
        return f"复核病例与病例抽取记录 {cases_rec.draw_id} 不符"
    again = replan(rec, members)
    stored = {key: params.get(key) for key in again}
    if again != stored:
        return "各专业专家人数或病例分配与按规则复算的结果不符"
    return None


def _check_replacement(
    rec: DrawRecord, parent: DrawRecord, earlier: list[DrawRecord], frozen: DrawRecord
) -> str | None:
    replaced = rec.params().get("replaced", "")
    try:
        found, skipped, _ = replacement_for(parent, earlier, frozen.members(), replaced)
    except UsageError as exc:
        return str(exc)
    if found is None or [found] != rec.pick_list() or rec.seed != parent.seed:
        return "替补人选不是按序应递补的下一位候选人"
    if skipped != rec.params().get("skipped"):
        return "记录的跳过人选与复算不符"
    if rec.replacement_list() and rec.replacement_list()[0]["replacement"] != found.id:
        return "替补说明与替补人选不一致"
    return None


def _content_problem(
    rec: DrawRecord, by_id: dict[str, DrawRecord], amendments: dict[str, list[DrawRecord]]
) -> str | None:
    if rec.kind == "population_frozen":
        return _check_frozen(rec)
    if rec.kind not in log.KIND_PREFIX:
        return f"未知的记录类型 {rec.kind}"
    if rec.kind in log.DECISION_KINDS:
        from pipelines.decisions import check_record

        return check_record(rec)
    if rec.kind == "targeted":
        return check_targeted(rec, by_id)
    frozen = by_id.get(rec.frozen_id or "")
    if frozen is None or frozen.kind != "population_frozen":
        return f"引用的冻结名单 {rec.frozen_id} 不存在或在本记录之后"
    if rec.kind == "replacement":
        parent = by_id.get(rec.parent_id or "")
        if parent is None or parent.kind not in log.DRAW_KINDS:
            return f"替补所属的抽取记录 {rec.parent_id} 不存在或在本记录之后"
        return _check_replacement(rec, parent, amendments.get(parent.draw_id, []), frozen)
    if frozen.params().get("for_kind") != rec.kind:
        return f"冻结名单 {frozen.draw_id} 不是为此类抽取冻结的"
    return _check_draw(rec, frozen, by_id)


def verify_records(records: list[DrawRecord]) -> LogCheck:
    """Check a chain of records (in record_no order)."""
    prev = log.GENESIS
    by_id: dict[str, DrawRecord] = {}
    amendments: dict[str, list[DrawRecord]] = {}
    for expected_no, rec in enumerate(records, start=1):
        where = (
            f"第 {rec.record_no} 条记录 {rec.draw_id}（{log.KIND_LABEL.get(rec.kind, rec.kind)}）"
        )
        problem = None
        if rec.record_no != expected_no:
            problem = f"记录编号不连续，此处应为第 {expected_no} 条"
        elif rec.prev_hash != prev:
            problem = "prev_hash 与上一条记录的哈希不符（链断开：记录被删除、插入或改动）"
        elif rec.compute_hash() != rec.record_hash:
            problem = "记录内容与其哈希不符（记录被改动）"
        elif changed := rec.unsealed():
            tables = "、".join(log.text_table(rec.record_no, c) for c in changed)
            problem = f"另表存放的名单（{tables}）与记录所存的 SHA-256 不符（名单被改动）"
        else:
            try:
                problem = _content_problem(rec, by_id, amendments)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                problem = f"记录内容无法解析（{type(exc).__name__}: {exc}）"
        if problem:
            return LogCheck(False, len(records), prev, f"{where}：{problem}", rec.draw_id)
        by_id[rec.draw_id] = rec
        if rec.parent_id:
            amendments.setdefault(rec.parent_id, []).append(rec)
        prev = rec.record_hash
    return LogCheck(
        True,
        len(records),
        prev,
        f"OK：共 {len(records)} 条抽取记录，哈希链完整，各次抽取均可按种子复算；最新哈希 {prev}",
    )


def verify_log(con: duckdb.DuckDBPyConnection) -> LogCheck:
    """Check the whole draw_log of a database."""
    return verify_records(log.load_records(con))
