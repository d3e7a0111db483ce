"""TY-REVIEW finished: appeal panels' opinions (majority decides), per-hospital results and the
published results (一公开) without names or 身份证号. Commands: appeal-finding, review-results.

Findings of the reviewed cases are imported like spot-check findings (`findings-import FILE
--draw RC-…`, 复核结论 符合 / 不符合). An appealed case is re-reviewed by the panel drawn for it
(`appeal-panel`); each member's opinion is recorded in one hash-chained record (kind
`appeal_finding`) whose final finding is the majority, which `verify-log` re-derives. A case's
final finding is its latest appeal finding if any, else its review finding; the amount to recover
is the review's when the final finding is 不符合, else 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.decisions import open_for_writing, record_decision, required
from pipelines.draws import log
from pipelines.draws.engine import current_state
from pipelines.draws.findings import _query
from pipelines.errors import UsageError
from pipelines.rules.graph import execute

if TYPE_CHECKING:  # pandas imported where used: a command that needs none loads none
    import pandas as pd

OPINIONS = ("符合", "不符合")
PUBLIC_COLUMNS = {
    "hospital_id": "医院编码",
    "hospital_name": "医院名称",
    "cases_reviewed": "复核病例数",
    "cases_passed": "符合",
    "cases_failed": "不符合",
    "pass_rate": "符合率",
    "appeals": "申诉病例数",
    "appeals_upheld": "申诉成立",
    "recover_yuan": "追回金额（元）",
}


def majority(opinions: list[str]) -> str:
    """The finding most members gave (a panel has an odd number of members)."""
    return Counter(opinions).most_common(1)[0][0]


def check_appeal_finding(p: dict) -> str | None:
    """What is wrong with an appeal finding's content (verify-log), or None."""
    opinions = [o for _, o in p.get("opinions") or []]
    if not p.get("case_id") or not p.get("panel_id"):
        return "申诉复核结论缺少申报编号或专家抽取记录"
    if not opinions or len(opinions) % 2 == 0 or any(o not in OPINIONS for o in opinions):
        return "申诉复核意见应为奇数名专家的“符合”或“不符合”"
    if p.get("final") != majority(opinions):
        return f"最终结论 {p.get('final')!r} 与专家多数意见 {majority(opinions)} 不一致"
    return None


def _failed_in_a_review(con: duckdb.DuckDBPyConnection, case_id: str) -> bool:
    """Whether a quarterly review found the case 不符合 (the finding an appeal is against)."""
    sql = (
        "select count(*) from spot_check_findings_latest as f"
        " join draw_log as d on d.draw_id = f.draw_id"
        " where d.kind = 'review_cases' and f.case_id = $case_id and f.result = '不合格'"
    )
    return execute(con, sql, {"case_id": case_id}).fetchone()[0] > 0


def record_appeal_finding(
    con: duckdb.DuckDBPyConnection,
    panel_id: str,
    opinions: dict[str, str],
    reason: str,
    by: str,
    at: dt.datetime | None = None,
) -> log.DrawRecord:
    """Record each panel member's opinion on an appealed case; the majority is the final finding."""
    rec = log.get_record(con, required(panel_id, "申诉专家抽取记录"))
    if rec.kind != "appeal_panel":
        raise UsageError(f"记录 {panel_id} 不是申诉二次复核专家抽取记录（类型 {rec.kind}）")
    case_id = rec.params()["case_id"]
    if not _failed_in_a_review(con, case_id):
        raise UsageError(
            f"病例 {case_id} 没有“不符合”的季度复核结论（复核结论未录入或为符合），无可申诉的结论"
        )
    members = {p.id for p in current_state(con, rec.draw_id).picks}
    if set(opinions) != members:
        missing = "、".join(sorted(members - set(opinions))) or "无"
        extra = "、".join(sorted(set(opinions) - members)) or "无"
        raise UsageError(f"须录入本次抽取的每位专家的意见：缺少 {missing}；不在名单中 {extra}")
    bad = {e: o for e, o in opinions.items() if o not in OPINIONS}
    if bad:
        raise UsageError(f"专家意见应为“符合”或“不符合”：{bad}")
    pairs = sorted([e, o] for e, o in opinions.items())
    params = {
        "case_id": case_id,
        "panel_id": rec.draw_id,
        "opinions": pairs,
        "final": majority([o for _, o in pairs]),
    }
    return record_decision(con, "appeal_finding", params, by, required(reason, "说明"), at)


def review_results(con: duckdb.DuckDBPyConnection, draw_id: str) -> pd.DataFrame:
    """Per hospital of a review_cases draw: reviewed, 符合, 不符合, rate, appeals, upheld, yuan."""
    if log.get_record(con, draw_id).kind != "review_cases":
        raise UsageError(f"记录 {draw_id} 不是季度复核病例抽取记录")
    return _query(con, draw_id, "draw_review_results", {"draw_id": draw_id}).to_pandas()


def public_results(con: duckdb.DuckDBPyConnection, draw_id: str) -> pd.DataFrame:
    """The published results (一公开): per hospital, Chinese headers, no names nor 身份证号."""
    import pandas as pd

    df = review_results(con, draw_id)[list(PUBLIC_COLUMNS)].rename(columns=PUBLIC_COLUMNS)
    df["符合率"] = df["符合率"].map(lambda r: "—" if pd.isna(r) else f"{r * 100:.1f}%")
    df["追回金额（元）"] = df["追回金额（元）"].map(lambda y: f"{y:,.2f}")
    return df


def _title(con: duckdb.DuckDBPyConnection, draw_id: str) -> str:
    quarter = log.get_record(con, draw_id).params().get("quarter", "")
    return f"{quarter} 季度复核结果公示（抽取记录 {draw_id}）"


def write_public_pdf(df: pd.DataFrame, title: str, path: str | Path) -> Path:
    """The published results as an A4 PDF in the style of the draw records."""
    from pipelines.draws.pdf import _Writer, cjk_pdf

    pdf = cjk_pdf(title)
    w = _Writer(pdf)
    w.heading(title)
    w.para("依据并医险中心字〔2022〕108号“双随机、一公开”：按医院公布复核病例数、符合与不符合数、"
           "符合率及申诉成立数。本表不含姓名与身份证号。")  # fmt: skip
    widths = (20, 38, 16, 12, 14, 16, 16, 14, 34)
    w.table(list(df.columns), df.astype(str).values.tolist(), widths)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(target))
    return target


def write_public(con: duckdb.DuckDBPyConnection, draw_id: str, path: str | Path) -> int:
    """Write the published results as .pdf, .xlsx or CSV with BOM; returns the hospitals."""
    from pipelines.sheets import write_sheet, write_sheets

    df, title = public_results(con, draw_id), _title(con, draw_id)
    target = Path(path)
    if target.suffix.lower() == ".pdf":
        write_public_pdf(df, title, target)
    elif target.suffix.lower() == ".xlsx":
        write_sheets({"复核结果公示": df}, target, title=title)
    else:
        write_sheet(df, target)
    return len(df)


# ---- commands ------------------------------------------------------------------------------------


def _opinions(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        expert, sep, opinion = item.partition("=")
        if not sep or not expert.strip():
            raise UsageError(f"--opinion 应写作 专家编码=符合 或 专家编码=不符合，实际为 {item!r}")
        out[expert.strip()] = opinion.strip()
    return out


def cmd_appeal_finding(args: argparse.Namespace) -> int:
    """Record an appeal panel's opinions (TY-REVIEW); the majority is the final finding.

    Example: python -m pipelines appeal-finding --panel AP-20260125-000031 \\
        --opinion E01=符合 --opinion E07=不符合 --opinion E12=符合 --reason "二次复核" --by 张三
    """
    con = open_for_writing(args)
    try:
        rec = record_appeal_finding(con, args.panel, _opinions(args.opinion), args.reason, args.by)
    finally:
        con.close()
    p = rec.params()
    print(rec.draw_id)
    print(f"已记录申诉病例 {p['case_id']} 的二次复核结论：{p['final']}", file=sys.stderr)
    return 0


def cmd_review_results(args: argparse.Namespace) -> int:
    """The published results (一公开) of a quarterly review draw, per hospital, without names.

    Writes .xlsx, .pdf or CSV (by the file's suffix). Example:
    python -m pipelines review-results --draw RC-20260105-000002 --out 复核结果公示_2026Q1.xlsx
    """
    from pipelines.rules.cli import open_db

    con = open_db(args.db)
    try:
        n = write_public(con, args.draw, args.out)
    finally:
        con.close()
    print(f"复核结果公示：{n} 家医院 → {args.out}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    a = sub.add_parser("appeal-finding", parents=[common], help="申诉二次复核结论 (TY-REVIEW)")
    a.add_argument("--panel", required=True, help="申诉专家抽取记录编号（AP-…）")
    a.add_argument("--opinion", action="append", default=[], help="专家编码=符合/不符合，每人一次")
    a.add_argument("--reason", required=True, help="说明")
    a.add_argument("--by", required=True, help="录入人")
    a.set_defaults(func=cmd_appeal_finding)
    r = sub.add_parser("review-results", parents=[common], help="季度复核结果公示 (TY-REVIEW)")
    r.add_argument("--draw", required=True, help="季度复核病例抽取记录编号（RC-…）")
    r.add_argument("--out", required=True, help="输出文件 .xlsx / .pdf / .csv")
    r.set_defaults(func=cmd_review_results)
