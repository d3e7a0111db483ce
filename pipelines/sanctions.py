"""TY-PENALTY: sanctions decided by the centre, recorded append-only and hash-chained (draw_log
kind `sanction`, checked by `verify-log`), with who decided and why; the list of sanctions with
whether each is in force at the evaluation time. Commands: sanction, sanctions.

A doctor's 医保处方权 is suspended for the Taiyuan profile's months (6; 60 when serious) from the
effective date: `valid_to` is the last day in force (from + months − 1 day) unless given. A
suspension of a hospital's 认定资格 needs its end; a revocation and the one-off measures
(recovery, transfer) have none and stay listed as in force from their date on.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import sys
from decimal import Decimal, InvalidOperation

import duckdb

from pipelines.config import load_profile
from pipelines.decisions import open_for_writing, record_decision, required
from pipelines.draws import log
from pipelines.errors import UsageError

SUBJECTS = {"doctor": "医生", "hospital": "定点医疗机构", "person": "参保人"}
# measure → the subject types it applies to
MEASURES = {
    "暂停医保处方权": ("doctor",),
    "暂停认定资格": ("hospital",),
    "取消认定资格": ("hospital",),
    "停止待遇并追回": ("person",),
    "追回基金": ("hospital",),
    "移交行政部门": ("doctor", "hospital", "person"),
}
WITH_AMOUNT = ("停止待遇并追回", "追回基金")
COLUMNS = [
    "sanction_id",
    "subject_type",
    "subject_id",
    "measure",
    "valid_from",
    "valid_to",
    "amount_yuan",
    "in_force",
]
ENDING_DAYS = 30  # the list says which sanctions end within this many days


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it has fewer days)."""
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def suspension_end(start: dt.date, serious: bool) -> dt.date:
    """The last day a doctor's 医保处方权 stays suspended (TY-PENALTY, profile months)."""
    rules = load_profile("taiyuan")["taiyuan_rules"]
    months = rules[
        "prescription_suspend_serious_months" if serious else "prescription_suspend_months"
    ]
    return add_months(start, int(months)) - dt.timedelta(days=1)


def _amount(text: str | None) -> str | None:
    if text is None or not str(text).strip():
        return None
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise UsageError(f"--amount 应为金额（元），实际为 {text!r}") from None
    if not value.is_finite() or value < 0:
        raise UsageError(f"--amount 应为不小于 0 的金额（元），实际为 {text!r}")
    return format(value.quantize(Decimal("0.01")), "f")


def record_sanction(
    con: duckdb.DuckDBPyConnection,
    subject_type: str,
    subject_id: str,
    measure: str,
    valid_from: dt.date,
    valid_to: dt.date | None,
    reason: str,
    by: str,
    *,
    serious: bool = False,
    amount: str | None = None,
    at: dt.datetime | None = None,
) -> log.DrawRecord:
    """Record a TY-PENALTY sanction (checked as verify-log checks it); returns the record."""
    subject_id, reason, by = (
        required(subject_id, "处理对象"),
        required(reason, "处理理由"),
        required(by, "决定人"),
    )
    if measure == "暂停医保处方权" and valid_to is None:
        valid_to = suspension_end(valid_from, serious)
    params = {
        "subject_type": subject_type,
        "subject_id": subject_id,
        "measure": measure,
        "valid_from": valid_from.isoformat(),
        "valid_to": valid_to.isoformat() if valid_to else None,
        "serious": bool(serious),
        "amount_yuan": _amount(amount),
    }
    if (problem := check_sanction(params)) is not None:
        raise UsageError(problem)
    return record_decision(con, "sanction", params, by, reason, at)


def check_sanction(p: dict) -> str | None:
    """What is wrong with a sanction's content, or None."""
    measure, subject = p.get("measure"), p.get("subject_type")
    if measure not in MEASURES:
        return f"处理措施应为 {' / '.join(MEASURES)}，实际为 {measure!r}"
    if subject not in MEASURES[measure]:
        allowed = "、".join(SUBJECTS[s] for s in MEASURES[measure])
        return f"「{measure}」只适用于{allowed}，不适用于 {subject!r}"
    if not p.get("subject_id") or not p.get("valid_from"):
        return "缺少处理对象或生效日期"
    if measure == "暂停认定资格" and not p.get("valid_to"):
        return "暂停认定资格须给出结束日期（--to）"
    if p.get("valid_to") and p["valid_to"] < p["valid_from"]:
        return "结束日期早于生效日期"
    if measure in WITH_AMOUNT and p.get("amount_yuan") is None:
        return f"「{measure}」须给出金额（--amount）"
    if p.get("serious") and measure != "暂停医保处方权":
        return "--serious 只用于暂停医保处方权"
    return None


_IN_DISTRICT = """
select hospital_id as subject_id from stg_hospitals where district = $d
union
select e.expert_id from stg_experts as e
inner join stg_hospitals as h on h.hospital_id = e.hospital_id where h.district = $d
union
select c.person_id from stg_cases as c
inner join stg_hospitals as h on h.hospital_id = c.hospital_id where h.district = $d
"""


def sanction_rows(
    con: duckdb.DuckDBPyConnection, day: dt.date, district: str | None = None
) -> list[dict]:
    """Every sanction recorded, in record order, with whether it is in force on `day` and
    whether it ends within ENDING_DAYS; with `district`, only those on its hospitals, their
    doctors and the insured persons of their cases."""
    mine = None
    if district is not None:
        mine = {r[0] for r in con.execute(_IN_DISTRICT, {"d": district}).fetchall()}
    out = []
    for rec in log.load_records(con, "sanction"):
        p = rec.params()
        if mine is not None and p["subject_id"] not in mine:
            continue
        start = dt.date.fromisoformat(p["valid_from"])
        end = dt.date.fromisoformat(p["valid_to"]) if p.get("valid_to") else None
        out.append(
            {
                "sanction_id": rec.draw_id,
                "subject_type": p["subject_type"],
                "subject_id": p["subject_id"],
                "measure": p["measure"],
                "valid_from": start,
                "valid_to": end,
                "amount_yuan": p.get("amount_yuan"),
                "in_force": start <= day and (end is None or day <= end),
                "ending_soon": end is not None and day <= end <= day + dt.timedelta(ENDING_DAYS),
                "decided_by": rec.operator,
                "reason": rec.reason,
                "recorded_at": rec.created_at,
            }
        )
    return sorted(out, key=lambda r: r["sanction_id"])


# ---- commands ------------------------------------------------------------------------------------


def _date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} 日期格式应为 YYYY-MM-DD，实际为 {text!r}") from None


def cmd_sanction(args: argparse.Namespace) -> int:
    """Record a TY-PENALTY sanction; prints its record id.

    Example: python -m pipelines sanction --subject-type doctor --subject D0012 \\
        --measure 暂停医保处方权 --from 2026-12-01 --reason "违规出具认定意见" --by 张三
    """
    start = _date(args.start, "--from")
    con = open_for_writing(args)
    try:
        rec = record_sanction(
            con,
            args.subject_type,
            args.subject,
            args.measure,
            start,
            _date(args.end, "--to"),
            args.reason,
            args.by,
            serious=args.serious,
            amount=args.amount,
        )
    finally:
        con.close()
    p = rec.params()
    print(rec.draw_id)
    until = f" 至 {p['valid_to']}" if p["valid_to"] else ""
    print(f"已记录处理决定 {rec.draw_id}：{args.subject} {p['measure']}（{p['valid_from']}{until}）",
          file=sys.stderr)  # fmt: skip
    return 0


def _shown(row: dict, only: str | None) -> bool:
    if only == "in-force":
        return row["in_force"]
    if only == "ending":
        return row["in_force"] and row["ending_soon"]
    return True


def cmd_sanctions(args: argparse.Namespace) -> int:
    """Every sanction recorded (TY-PENALTY), in force or not at the evaluation time; with
    --only in-force those in force, with --only ending those in force ending within 30 days.

    Columns: sanction_id, subject_type, subject_id, measure, valid_from, valid_to, amount_yuan,
    in_force. Example: python -m pipelines sanctions --only ending --out 即将到期.csv
    """
    from pipelines.cliutil import evaluation
    from pipelines.output import write_csv
    from pipelines.rules.cli import open_db

    con = open_db(args.db)
    try:
        day = evaluation(con, args.as_of).eval_at.date()
        rows = [r for r in sanction_rows(con, day) if _shown(r, args.only)]
    finally:
        con.close()
    write_csv(args.out, COLUMNS, ([r[c] for c in COLUMNS] for r in rows))
    live = sum(r["in_force"] for r in rows)
    ending = sum(r["ending_soon"] for r in rows)
    print(f"截至 {day} 处理决定 {len(rows)} 项，在执行 {live} 项，{ENDING_DAYS} 天内到期 {ending} 项 → "
          f"{args.out}", file=sys.stderr)  # fmt: skip
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("sanction", parents=[common], help="记录处理决定 (TY-PENALTY)")
    s.add_argument("--subject-type", required=True, choices=list(SUBJECTS), help="处理对象类型")
    s.add_argument("--subject", required=True, help="医生编码 / 医院编码 / 身份证号")
    s.add_argument("--measure", required=True, choices=list(MEASURES), help="处理措施")
    s.add_argument("--from", dest="start", required=True, help="生效日期 YYYY-MM-DD")
    s.add_argument("--to", dest="end", default=None, help="结束日期（最后一日）YYYY-MM-DD")
    s.add_argument("--serious", action="store_true", help="情节严重（暂停医保处方权 5 年）")
    s.add_argument("--amount", default=None, help="追回金额（元）")
    s.add_argument("--reason", required=True, help="处理理由")
    s.add_argument("--by", required=True, help="决定人")
    s.set_defaults(func=cmd_sanction)
    a = sub.add_parser("sanctions", parents=[common], help="处理决定清单 (TY-PENALTY)")
    a.add_argument("--as-of", dest="as_of", help="评估时间（默认：数据截止时间）")
    a.add_argument("--out", required=True, help="输出 CSV 文件")
    a.add_argument("--only", choices=["in-force", "ending"], default=None,
                   help=f"只列在执行的 (in-force) 或 {ENDING_DAYS} 天内到期的 (ending)")  # fmt: skip
    a.set_defaults(func=cmd_sanctions)
