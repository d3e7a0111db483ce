"""TY-REVIEW: the Taiyuan quarterly "double random, one public" review and its appeals.

Choices where the notice is silent (并医险中心字〔2022〕108号 only says the review runs in the first
month of each quarter):

- The review of quarter Q (held in Q's first month) covers the cases certified (符合) with a
  decided_at date in the **previous** quarter — the last complete quarter when the review starts.
- First random: per submitting hospital, ceil(review_rate × n) of those cases, ranked by key.
- Second random: per specialty of the drawn cases' diseases, m = max(min_experts_per_specialty,
  ceil(cases / cases_per_expert)) experts of the specialty, ranked by key (the pool of every
  specialty of the quarter's cases is frozen before the seed). Each case is reviewed by one expert.
- Assignment, in case-key order: each case goes to the next drawn expert in rotation (rank order)
  who is not of the case's hospital (回避) and has fewer than cases_per_expert cases. If some case
  finds nobody, the draw is extended by the next-ranked expert (earlier picks stay) and the
  assignment redone, until every case is placed or the pool is exhausted.
- Appeals (21–30 of the month): each appealed case gets appeal_panel_size experts of its disease's
  specialty, avoiding the case's hospital, the expert(s) who reviewed it in the quarterly review and
  the experts who certified it (stg_tasks).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.config import Profile
from pipelines.draws import log
from pipelines.draws.engine import (
    DrawResult,
    FrozenPopulation,
    current_state,
    draw,
    freeze_population,
    frozen_population,
    rank_sql,
    table_strata_sizes,
)
from pipelines.draws.experts import expert_candidates
from pipelines.draws.keys import (
    Member,
    Pick,
    normalize_seed,
    parse_rate,
    quota,
    rank_members,
)
from pipelines.draws.spotcheck import approved_case_table, case_members
from pipelines.errors import DataError, UsageError
from pipelines.rules.graph import execute

if TYPE_CHECKING:
    pass

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]\s*([1-4])\s*$")


@dataclasses.dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter, written 2026Q3."""

    year: int
    q: int

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.q}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 3 * self.q - 2, 1)

    @property
    def last_day(self) -> dt.date:
        nxt = self.next()
        return dt.date(nxt.year, 3 * nxt.q - 2, 1) - dt.timedelta(days=1)

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.q == 4 else Quarter(self.year, self.q + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.q == 1 else Quarter(self.year, self.q - 1)


@dataclasses.dataclass(frozen=True)
class ReviewStep:
    """One step of the review calendar (TY-REVIEW) with its dates."""

    quarter: Quarter
    first_day: dt.date
    last_day: dt.date
    step: str


@dataclasses.dataclass(frozen=True)
class ReviewPlan:
    """A quarter's review: the case draw, the expert draw and who reviews which case."""

    quarter: Quarter
    cases: DrawResult
    experts: DrawResult
    assignments: list[dict[str, Any]]
    unassigned: list[str]


def parse_quarter(text: str) -> Quarter:
    """ "2026Q3" (also 2026q3, 2026-Q3) → Quarter(2026, 3)."""
    m = _QUARTER.match(text or "")
    if not m:
        raise UsageError(f"季度 {text!r} 无法识别，应写作 2026Q3")
    return Quarter(int(m.group(1)), int(m.group(2)))


def quarter_of(day: dt.date) -> Quarter:
    return Quarter(day.year, (day.month - 1) // 3 + 1)


def taiyuan_rules(profile: Profile) -> dict[str, Any]:
    """The [taiyuan_rules] of a profile that enables them; otherwise a usage error."""
    rules = profile.data.get("taiyuan_rules", {})
    if not rules.get("enabled"):
        raise UsageError(
            f"规则配置 {profile.name}（{profile.label}）未启用太原季度复核规则 (TY-REVIEW)，"
            "请使用 --profile taiyuan"
        )
    return rules


def review_calendar(quarter: Quarter, profile: Profile) -> list[ReviewStep]:
    """The steps of a quarter's review with their dates (first month of the quarter)."""
    first = quarter.first_day
    steps = []
    for s in taiyuan_rules(profile)["review_calendar"]:
        last = min(first.replace(day=int(s["to"])), quarter.last_day)
        steps.append(ReviewStep(quarter, first.replace(day=int(s["from"])), last, s["step"]))
    return steps


def hospital_groups(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """ZZ-AVOID: each campus that names a main campus (group_id) → that group, for the record (so
    the assignment can be re-derived from the record alone)."""
    rows = con.execute(
        "select hospital_id, trim(group_id) from stg_hospitals "
        "where nullif(trim(group_id), '') is not null and trim(group_id) <> hospital_id "
        "order by hospital_id"
    ).fetchall()
    return dict(rows)


def review_step(day: dt.date, profile: Profile) -> ReviewStep | None:
    """The review step the city is in on `day`, or None outside the review days."""
    for s in review_calendar(quarter_of(day), profile):
        if s.first_day <= day <= s.last_day:
            return s
    return None


def assign_cases(
    cases: Sequence[Pick],
    experts: Sequence[Pick],
    per_expert: int,
    groups: dict[str, str] | None = None,
) -> tuple[list[tuple[str, str]], list[str]]:
    """(case_id, expert_id) pairs in case-key order by rotation, never of the case's hospital
    or another campus of its group (ZZ-AVOID; `groups` maps a campus to its group)."""
    groups = groups or {}
    loads = [0] * len(experts)
    nxt = 0
    pairs: list[tuple[str, str]] = []
    missing: list[str] = []
    for case in cases:
        for step in range(len(experts)):
            j = (nxt + step) % len(experts)
            own = groups.get(case.hospital_id or "", case.hospital_id)
            if groups.get(experts[j].hospital_id or "", experts[j].hospital_id) != own and (
                loads[j] < per_expert
            ):
                pairs.append((case.id, experts[j].id))
                loads[j] += 1
                nxt = j + 1
                break
        else:
            missing.append(case.id)
    return pairs, missing


def plan_specialty(
    cases: Sequence[Pick],
    ranked_experts: Sequence[Pick],
    min_experts: int,
    per_expert: int,
    groups: dict[str, str] | None = None,
) -> tuple[int, list[tuple[str, str]], list[str]]:
    """(k experts to draw, assignment, unplaced cases) for one specialty's drawn cases.

    k = max(min_experts, ceil(cases / per_expert)), extended one by one while avoidance leaves a
    case with nobody; when the pool is smaller than k, all of it is drawn (a shortfall).
    """
    ordered = sorted(cases, key=lambda c: (c.key, c.id))
    base = max(min_experts, math.ceil(len(ordered) / per_expert))
    m = base
    while True:
        pairs, missing = assign_cases(ordered, ranked_experts[:m], per_expert, groups)
        if not missing or m >= len(ranked_experts):
            return m, pairs, missing
        m += 1


def plan_review(
    cases: Sequence[dict[str, Any]], ranked: dict[str, list[Pick]], rules: dict[str, Any]
) -> tuple[dict[str, int], list[dict[str, Any]], list[str]]:
    """Experts per specialty, assignments and unplaced cases for the drawn cases."""
    k: dict[str, int] = {}
    assignments: list[dict[str, Any]] = []
    unassigned: list[str] = []
    for specialty in sorted({c["specialty"] for c in cases}):
        mine = [
            Pick(c["case_id"], specialty, 0, c["key"], c["hospital_id"])
            for c in cases
            if c["specialty"] == specialty
        ]
        k[specialty], pairs, missing = plan_specialty(
            mine,
            ranked.get(specialty, []),
            int(rules["min_experts_per_specialty"]),
            int(rules["cases_per_expert"]),
            rules.get("hospital_groups") or {},
        )
        hospital = {c.id: c.hospital_id for c in mine}
        assignments += [
            {"case_id": c, "case_hospital_id": hospital[c], "expert_id": e} for c, e in pairs
        ]
        unassigned += missing
    return k, assignments, unassigned


def replan(record: log.DrawRecord, members: list[Member]) -> dict[str, Any]:
    """Re-derive a review_experts record's k and assignment from its cases, population and seed."""
    params = record.params()
    fields = ("case_id", "specialty", "hospital_id", "key")
    cases = [dict(zip(fields, c, strict=True)) for c in params["cases"]]
    ranked = rank_members(record.seed or "", members)
    k, assignments, unassigned = plan_review(cases, ranked, params)
    return {"k": k, "assignments": assignments, "unassigned": unassigned}


def freeze_review(
    con: duckdb.DuckDBPyConnection,
    quarter: Quarter,
    as_of: dt.datetime,
    profile: Profile,
    *,
    operator: str | None = None,
    supervisor: str | None = None,
    at: dt.datetime | None = None,
) -> tuple[FrozenPopulation, FrozenPopulation]:
    """Freeze the quarter's certified cases and the pool of their specialties' experts (no seed yet)."""
    import pyarrow.compute as pc

    rules = taiyuan_rules(profile)
    rate = parse_rate(str(rules["review_rate"]))
    period = quarter.previous()
    cases = approved_case_table(con, period.first_day, period.last_day)
    unknown = cases.filter(pc.is_null(cases["specialty"]))["case_id"].to_pylist()
    if unknown:
        raise DataError(f"病例 {', '.join(unknown[:5])} 的病种不在病种目录中，无法确定专业")
    members = case_members(cases)
    who = {"operator": operator, "supervisor": supervisor, "profile": profile.name, "at": at}
    common = {"rule": "TY-REVIEW", "quarter": quarter.label}
    case_params = {
        **common,
        "filter": f"鉴定结果 = 符合，办结日期 {period.first_day} 至 {period.last_day}"
        f"（{period.label}，复核季度的上一季度）",
        "date_from": str(period.first_day),
        "date_to": str(period.last_day),
        "strata": "hospital_id",
        "id_column": "case_id",
        "stratum_column": "hospital_id",
        "rate": str(rate),
        "k": {s: quota(rate, n) for s, n in table_strata_sizes(members).items()},
        "exclusions": [],
    }
    frozen_cases = freeze_population(con, "review_cases", members, case_params, **who)
    pool: list[Member] = []
    excluded: list[dict[str, str]] = []
    for specialty in sorted(set(cases["specialty"].to_pylist())):
        got, out = expert_candidates(con, specialty, as_of, profile)
        pool += got
        excluded += [{**e, "specialty": specialty} for e in out]
    pool_params = {
        **common,
        "filter": f"本季度复核病例所涉专业的专家；符合资格、已入库、未取消资格"
        f"（截至 {as_of:%Y-%m-%d %H:%M:%S}）",
        "as_of": f"{as_of:%Y-%m-%d %H:%M:%S}",
        "strata": "specialty",
        "id_column": "expert_id",
        "stratum_column": "specialty",
        "qualification": profile["expert_qualification"],
        "min_experts_per_specialty": int(rules["min_experts_per_specialty"]),
        "cases_per_expert": int(rules["cases_per_expert"]),
        "hospital_groups": hospital_groups(con),
        "exclusions": excluded,
    }
    frozen_pool = freeze_population(con, "review_experts", pool, pool_params, **who)
    return frozen_cases, frozen_pool


def draw_review_experts(
    con: duckdb.DuckDBPyConnection,
    cases_draw_id: str,
    pool_id: str | FrozenPopulation,
    seed: str,
    *,
    operator: str | None = None,
    supervisor: str | None = None,
    at: dt.datetime | None = None,
) -> DrawResult:
    """Second random: experts per specialty for the drawn cases, and who reviews which case."""
    picks = log.get_record(con, cases_draw_id).pick_list()
    specialty = dict(
        execute(
            con,
            "select c.case_id, d.specialty from stg_cases c "
            "join ref_diseases d on c.disease_name = d.disease_name "
            "where list_contains($ids, c.case_id)",
            {"ids": [p.id for p in picks]},
        ).fetchall()
    )
    drawn = [
        {"case_id": p.id, "specialty": specialty[p.id], "hospital_id": p.hospital_id, "key": p.key}
        for p in picks
    ]
    pool = frozen_population(con, pool_id)
    ranked: dict[str, list[Pick]] = {}
    for p in rank_sql(con, pool.table, normalize_seed(seed), table_strata_sizes(pool.table)):
        ranked.setdefault(p.stratum, []).append(p)
    k, assignments, unassigned = plan_review(drawn, ranked, pool.record.params())
    extra = {
        "cases_draw_id": cases_draw_id,
        "cases": sorted([c["case_id"], c["specialty"], c["hospital_id"], c["key"]] for c in drawn),
        "assignments": assignments,
        "unassigned": unassigned,
    }
    who = {"operator": operator, "supervisor": supervisor, "at": at}
    return draw(con, pool, seed, k=k, extra=extra, **who)


def review_plan(
    con: duckdb.DuckDBPyConnection,
    quarter: Quarter,
    seed: str,
    as_of: dt.datetime,
    profile: Profile,
    *,
    expert_seed: str | None = None,
    operator: str | None = None,
    supervisor: str | None = None,
    at: dt.datetime | None = None,
) -> ReviewPlan:
    """Freeze both populations, draw the cases (first random), then the experts (second random)."""
    seed = normalize_seed(seed)
    expert_seed = seed if expert_seed is None else normalize_seed(expert_seed)
    who = {"operator": operator, "supervisor": supervisor, "at": at}
    frozen_cases, frozen_pool = freeze_review(con, quarter, as_of, profile, **who)
    case_draw = draw(con, frozen_cases, seed, **who)
    expert_draw = draw_review_experts(con, case_draw.draw_id, frozen_pool, expert_seed, **who)
    params = expert_draw.record.params()
    return ReviewPlan(quarter, case_draw, expert_draw, params["assignments"], params["unassigned"])


def case_diseases(con: duckdb.DuckDBPyConnection, case_ids: list[str]) -> dict[str, str]:
    """case_id → disease_name of the given cases (the review plan's table)."""
    rows = execute(
        con,
        "select case_id, disease_name from stg_cases where list_contains($ids, case_id)",
        {"ids": list(case_ids)},
    ).fetchall()
    return dict(rows)


def first_reviewers(con: duckdb.DuckDBPyConnection, case_id: str) -> list[str]:
    """Experts who certified the case (stg_tasks) or reviewed it in a quarterly review."""
    ids = {
        r[0]
        for r in execute(
            con,
            "select distinct expert_id from stg_tasks where case_id = $case_id",
            {"case_id": case_id},
        ).fetchall()
    }
    for rec in log.load_records(con, "review_experts"):  # not the frozen lists (large)
        if any(c[0] == case_id for c in rec.params()["cases"]):
            state = current_state(con, rec.draw_id)
            ids |= {a["expert_id"] for a in state.assignments if a["case_id"] == case_id}
    return sorted(ids)


def freeze_appeal(
    con: duckdb.DuckDBPyConnection,
    case_id: str,
    as_of: dt.datetime,
    profile: Profile,
    *,
    operator: str | None = None,
    supervisor: str | None = None,
    at: dt.datetime | None = None,
) -> FrozenPopulation:
    """Freeze the candidates of an appealed case's panel (TY-REVIEW), before the seed."""
    size = int(taiyuan_rules(profile)["appeal_panel_size"])
    row = execute(
        con,
        "select c.hospital_id, c.disease_name, d.specialty from stg_cases c "
        "left join ref_diseases d on c.disease_name = d.disease_name where c.case_id = $case_id",
        {"case_id": case_id},
    ).fetchone()
    if row is None:
        raise DataError(f"申报编号 {case_id} 不存在")
    hospital_id, disease, specialty = row
    if specialty is None:
        raise DataError(f"病例 {case_id} 的病种 {disease} 不在病种目录中，无法确定专业")
    avoid_experts = first_reviewers(con, case_id)
    members, excluded = expert_candidates(
        con, specialty, as_of, profile, [hospital_id], avoid_experts
    )
    return freeze_population(
        con,
        "appeal_panel",
        members,
        {
            "rule": "TY-REVIEW",
            "filter": f"专业 = {specialty}（病种 {disease}）；符合资格、已入库、未取消资格"
            f"（截至 {as_of:%Y-%m-%d %H:%M:%S}）；回避申诉病例所在医院及首次复核专家",
            "case_id": case_id,
            "specialty": specialty,
            "as_of": f"{as_of:%Y-%m-%d %H:%M:%S}",
            "avoid_hospitals": [hospital_id],
            "avoid_experts": avoid_experts,
            "strata": None,
            "id_column": "expert_id",
            "stratum_column": None,
            "n": size,
            "k": {specialty: size},
            "exclusions": excluded,
        },
        operator=operator,
        supervisor=supervisor,
        profile=profile.name,
        at=at,
    )


def appeal_panel(
    con: duckdb.DuckDBPyConnection,
    case_id: str,
    seed: str,
    as_of: dt.datetime,
    profile: Profile,
    *,
    operator: str | None = None,
    supervisor: str | None = None,
    at: dt.datetime | None = None,
) -> DrawResult:
    """Draw appeal_panel_size experts of the case's specialty for an appealed case (TY-REVIEW)."""
    seed = normalize_seed(seed)
    who = {"operator": operator, "supervisor": supervisor, "at": at}
    frozen = freeze_appeal(con, case_id, as_of, profile, **who)
    return draw(con, frozen, seed, **who)
