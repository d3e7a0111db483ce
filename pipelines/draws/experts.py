"""Draws of experts (ZZ-EXPERT-QUAL, shared/RULES.md "Verifiable draws"): who is a candidate.

A candidate at time `as_of` is an expert of the specialty who is registered (registered_on on or
before the as_of date), not disqualified (register disqualified_on on or before the as_of date, or a
strike disqualification at or before as_of — `pipelines.rules.strikes.expert_disqualifications`),
holds a title of the profile's list, works at a hospital whose ownership and class are in the
profile's lists, and is not avoided (回避). Everyone else of the specialty is listed with the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import duckdb

from pipelines.config import Profile
from pipelines.db import sql
from pipelines.draws.engine import DrawResult, FrozenPopulation, draw, freeze_population
from pipelines.draws.keys import Member, normalize_seed
from pipelines.errors import UsageError
from pipelines.rules.strikes import expert_disqualifications

REASONS = {
    "not_registered": "尚未入库",
    "disqualified_register": "已取消鉴定专家资格（专家库登记）",
    "disqualified_strike": "已取消鉴定专家资格（超时违规第三次，ZZ-STRIKE）",
    "title": "职称不符合要求（ZZ-EXPERT-QUAL）",
    "hospital_unknown": "所在医院不在定点医疗机构名单中",
    "ownership": "所在医院所有制不符合要求（ZZ-EXPERT-QUAL）",
    "hospital_class": "所在医院类别不符合要求（ZZ-EXPERT-QUAL）",
    "avoid_hospital": "回避：所在医院（含同一医院的其他院区）为回避医院（ZZ-AVOID）",
    "avoid_expert": "回避：已参与该病例的鉴定或复核",
}


def _detail(row: dict[str, Any]) -> str:
    code = row["exclusion"]
    extra = {
        "not_registered": f"入库日期 {row['registered_on']}",
        "disqualified_register": f"取消资格日期 {row['disqualified_on']}",
        "disqualified_strike": f"取消资格时间 {row['disqualified_at']:%Y-%m-%d %H:%M:%S}"
        if row["disqualified_at"]
        else "",
        "title": f"职称 {row['title']}",
        "hospital_unknown": f"医院 {row['hospital_id']}",
        "ownership": f"医院 {row['hospital_id']} 所有制 {row['ownership'] or '空'}",
        "hospital_class": f"医院 {row['hospital_id']} 类别 {row['hospital_class'] or '空'}",
        "avoid_hospital": f"医院 {row['hospital_id']}",
        "avoid_expert": "",
    }[code]
    return f"{REASONS[code]}（{extra}）" if extra else REASONS[code]


_GROUP_SQL = """
with groups as (
    select hospital_id, coalesce(nullif(trim(group_id), ''), hospital_id) as group_key
    from stg_hospitals
)
select distinct b.hospital_id
from groups as a
inner join groups as b using (group_key)
where list_contains($ids::varchar [], a.hospital_id)
"""


def with_groups(con: duckdb.DuckDBPyConnection, hospitals: Iterable[str]) -> list[str]:
    """ZZ-AVOID: the hospitals and every campus of their groups (a shared group_id, or the main
    campus named by it), sorted; unknown ids stay as given."""
    ids = sorted(set(hospitals))
    if not ids:
        return []
    found = {r[0] for r in con.execute(_GROUP_SQL, {"ids": ids}).fetchall()}
    return sorted(found | set(ids))


def expert_candidates(
    con: duckdb.DuckDBPyConnection,
    specialty: str,
    as_of: dt.datetime,
    profile: Profile,
    avoid_hospitals: Iterable[str] = (),
    avoid_experts: Iterable[str] = (),
) -> tuple[list[Member], list[dict[str, str]]]:
    """Candidates of a specialty at as_of (stratum = specialty), and the excluded with reasons."""
    qual = profile["expert_qualification"]
    avoid_hospitals = with_groups(con, avoid_hospitals)
    dq = expert_disqualifications(con, as_of, profile).select(["expert_id", "disqualified_at"])
    cur = con.cursor()
    try:
        cur.register("draw_disqualified", dq)
        res = cur.execute(
            sql("draw_expert_candidates"),
            {
                "specialty": specialty,
                "as_of": as_of,
                "titles": list(qual["titles"]),
                "ownership": list(qual["ownership"]),
                "hospital_classes": list(qual["hospital_classes"]),
                "avoid_hospitals": sorted(set(avoid_hospitals)),
                "avoid_experts": sorted(set(avoid_experts)),
            },
        )
        names = [d[0] for d in res.description]
        rows = [dict(zip(names, r, strict=True)) for r in res.fetchall()]
    finally:
        cur.close()
    members = [
        Member(id=r["expert_id"], stratum=specialty, hospital_id=r["hospital_id"])
        for r in rows
        if r["exclusion"] is None
    ]
    excluded = [
        {"id": r["expert_id"], "reason_code": r["exclusion"], "reason": _detail(r)}
        for r in rows
        if r["exclusion"] is not None
    ]
    return members, excluded


def freeze_experts(
    con: duckdb.DuckDBPyConnection,
    specialty: str,
    n: int,
    as_of: dt.datetime,
    profile: Profile,
    avoid_hospitals: Iterable[str] = (),
    *,
    operator: str | None = None,
    supervisor: str | None = None,
    at: dt.datetime | None = None,
) -> FrozenPopulation:
    """Freeze the candidates of a meeting draw of n experts (before the seed)."""
    if n < 1:
        raise UsageError(f"抽取人数应至少为 1，实际为 {n}")
    avoid = with_groups(con, avoid_hospitals)
    members, excluded = expert_candidates(con, specialty, as_of, profile, avoid)
    params = {
        "rule": "ZZ-EXPERT-QUAL",
        "filter": f"专业 = {specialty}；符合资格、已入库、未取消资格（截至 {as_of:%Y-%m-%d %H:%M:%S}）",
        "specialty": specialty,
        "as_of": f"{as_of:%Y-%m-%d %H:%M:%S}",
        "avoid_hospitals": avoid,
        "qualification": profile["expert_qualification"],
        "strata": None,
        "id_column": "expert_id",
        "stratum_column": None,
        "n": n,
        "k": {specialty: n},
        "exclusions": excluded,
    }
    return freeze_population(
        con,
        "expert_draw",
        members,
        params,
        operator=operator,
        supervisor=supervisor,
        profile=profile.name,
        at=at,
    )


def draw_experts(
    con: duckdb.DuckDBPyConnection,
    specialty: str,
    n: int,
    seed: str,
    as_of: dt.datetime,
    profile: Profile,
    avoid_hospitals: Iterable[str] = (),
    *,
    operator: str | None = None,
    supervisor: str | None = None,
    at: dt.datetime | None = None,
) -> DrawResult:
    """Freeze the candidates and draw n of them (all there are when fewer: see shortfall)."""
    normalize_seed(seed)
    frozen = freeze_experts(
        con,
        specialty,
        n,
        as_of,
        profile,
        avoid_hospitals,
        operator=operator,
        supervisor=supervisor,
        at=at,
    )
    return draw(con, frozen, seed, operator=operator, supervisor=supervisor, at=at)
