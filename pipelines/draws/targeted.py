"""明察暗访: targeted picks by a documented risk score, on top of a random case draw.

Candidates are the approved cases of the random draw's period that it did not pick. Score
(draw_targeted_scores.sql), one point for each of: the experts' verdicts on the case disagree; each
reviewing expert whose approval rate in the period exceeds the specialty's by at least
`peer_margin` over at least `min_reviews` reviews; each review completed less than `fast_minutes`
after it was accepted. The n highest scores (score ≥ 1, ties by case_id) are recorded as their own
record (kind `targeted`) with each pick's score and reason. Targeted picks are shown apart and
never enter the estimates (RULES "What a spot check tells": only random picks estimate).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.db import sql
from pipelines.draws import log
from pipelines.draws.engine import current_state
from pipelines.draws.keys import Pick
from pipelines.errors import DataError, UsageError

if TYPE_CHECKING:
    pass

RANDOM_KINDS = ("spot_check", "review_cases")
DEFAULTS = {"fast_minutes": 10, "peer_margin": "0.15", "min_reviews": 10}
SCORE_TEXT = (
    "风险分 = 专家意见不一致（1 分）+ 每位通过率高于同专业 {margin} 以上（期间内至少 {reviews} 件）的"
    "鉴定专家（各 1 分）+ 每条受理后不足 {minutes} 分钟即办结的鉴定意见（各 1 分）；取风险分最高的 "
    "{n} 件（同分按申报编号）"
)


def score_text(params: dict[str, Any]) -> str:
    margin = f"{Decimal(params['peer_margin']) * 100:g}%"
    return SCORE_TEXT.format(
        margin=margin, reviews=params["min_reviews"], minutes=params["fast_minutes"], n=params["n"]
    )


def risk_scores(
    con: duckdb.DuckDBPyConnection, params: dict[str, Any], exclude: list[str]
) -> list[dict[str, Any]]:
    """Every scored candidate (case_id, hospital_id, score, reason), highest score first."""
    import pyarrow as pa

    cur = con.cursor()
    try:
        cur.register("draw_exclude", pa.table({"case_id": pa.array(exclude, pa.string())}))
        args = {
            "date_from": dt.date.fromisoformat(params["date_from"]),
            "date_to": dt.date.fromisoformat(params["date_to"]),
            "fast_minutes": params["fast_minutes"],
            "peer_margin": float(params["peer_margin"]),
            "min_reviews": params["min_reviews"],
        }
        return cur.execute(sql("draw_targeted_scores"), args).to_arrow_table().to_pylist()
    finally:
        cur.close()


def random_draw(con: duckdb.DuckDBPyConnection, draw_id: str) -> log.DrawRecord:
    rec = log.get_record(con, draw_id)
    if rec.kind not in RANDOM_KINDS:
        raise UsageError(f"记录 {draw_id} 不是随机病例抽查记录，明察暗访须附在一次随机抽查之上")
    return rec


def targeted_picks(
    con: duckdb.DuckDBPyConnection,
    draw_id: str,
    n: int,
    *,
    operator: str | None = None,
    supervisor: str | None = None,
    at: dt.datetime | None = None,
    **rules: Any,
) -> log.DrawRecord:
    """Record the n highest-risk approved cases of a random draw's period that it did not pick."""
    if n < 1:
        raise UsageError(f"明察暗访件数应至少为 1，实际为 {n}")
    base = random_draw(con, draw_id)
    bp = base.params()
    params = {
        "rule": "明察暗访（按风险定向抽取，不参与推断）",
        "on_draw": draw_id,
        "date_from": bp["date_from"],
        "date_to": bp["date_to"],
        "n": n,
        **DEFAULTS,
        **{k: (str(v) if k == "peer_margin" else v) for k, v in rules.items() if v is not None},
    }
    exclude = [p.id for p in current_state(con, draw_id).picks]
    scored = risk_scores(con, params, exclude)
    if not scored:
        raise DataError(f"{bp['date_from']} 至 {bp['date_to']} 没有风险分大于 0 的病例可供明察暗访")
    chosen = scored[:n]
    params["scores"] = chosen
    params["candidates"] = len(scored)
    picks = [
        Pick(
            id=c["case_id"], stratum=c["hospital_id"], rank=i, key="", hospital_id=c["hospital_id"]
        )
        for i, c in enumerate(chosen, start=1)
    ]
    fields = {
        "operator": operator,
        "supervisor": supervisor,
        "profile": base.profile,
        "parameters": log.canonical_json(params),
        "population_size": len(scored),
        "picks": log.picks_json(picks),
        "replacements": "[]",
    }
    return log.append(con, "targeted", lambda _c: fields, at)


def targeted_of(con: duckdb.DuckDBPyConnection, draw_id: str) -> list[log.DrawRecord]:
    """The targeted records made on top of a random draw, oldest first."""
    return [r for r in log.load_records(con, "targeted") if r.params()["on_draw"] == draw_id]


def check_targeted(rec: log.DrawRecord, by_id: dict[str, log.DrawRecord]) -> str | None:
    """verify-log: the random draw came first, no targeted pick is a random pick, picks = scores."""
    params = rec.params()
    base = by_id.get(params.get("on_draw", ""))
    if base is None or base.kind not in RANDOM_KINDS:
        return f"明察暗访所附的随机抽查 {params.get('on_draw')} 不存在或在本记录之后"
    random_ids = {p.id for p in base.pick_list()}
    ids = [p.id for p in rec.pick_list()]
    if random_ids & set(ids):
        return "明察暗访病例与随机抽中病例重复"
    if ids != [s["case_id"] for s in params["scores"]]:
        return "明察暗访名单与记录的风险分不一致"
    return None
