"""Supervisors' decisions on the rules' results: strike disputes and platform outages
(ZZ-DISPUTE) and the action ledger (ZZ-ACTION).

Each decision is an append-only record in the hash-chained draw_log (kinds strike_decision,
outage, action_done), checked by `verify-log`; the rule models read them through the views of
`draw_log_schema.sql`, so a voided strike disappears from numbering, actions, disqualifications,
ZZ-STRIKE-AFTER and ZZ-HOSPITAL5 alike. Commands: dispute, outage, actions, action-done.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING

import duckdb

from pipelines.config import Profile, load_profile
from pipelines.draws import log
from pipelines.errors import DataError, UsageError
from pipelines.rules.graph import execute

if TYPE_CHECKING:
    import pyarrow as pa

DECISIONS = {"void": "void", "uphold": "uphold", "撤销": "void", "维持": "uphold"}
DECISION_ZH = {"void": "撤销", "uphold": "维持"}
ACTIONS = ("sms", "notify_hospital", "disqualify")
ACTION_ZH = {"sms": "短信通知", "notify_hospital": "通报所在医院", "disqualify": "取消鉴定专家资格"}
STATUS_ZH = {"pending": "待处置", "done": "已处置", "voided": "已撤销"}
LEDGER_COLUMNS = ["expert_id", "strike_no", "task_id", "action", "status", "done_at", "done_by"]


def required(value: str | None, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise UsageError(f"{what}不能为空")
    return value


def record_decision(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    params: dict[str, str],
    by: str,
    reason: str,
    at: dt.datetime | None,
) -> log.DrawRecord:
    """Append a decision record: its content in `parameters`, who in `operator`, why in `reason`."""
    fields = {"parameters": log.canonical_json(params), "operator": by, "reason": reason}
    return log.append(con, kind, lambda _c: fields, at)


def _task_exists(con: duckdb.DuckDBPyConnection, task_id: str) -> None:
    query = "select count(*) from stg_tasks where task_id = $task_id"
    if not execute(con, query, {"task_id": task_id}).fetchone()[0]:
        raise DataError(f"任务 {task_id} 不在已导入的任务日志中")


def record_dispute(
    con: duckdb.DuckDBPyConnection,
    task_id: str,
    decision: str,
    reason: str,
    by: str,
    at: dt.datetime | None = None,
) -> log.DrawRecord:
    """ZZ-DISPUTE: record 维持 (uphold) or 撤销 (void) on the strike of a task."""
    task_id = required(task_id, "任务编号")
    code = DECISIONS.get((decision or "").strip().lower()) or DECISIONS.get(
        (decision or "").strip()
    )
    if code is None:
        raise UsageError(f"申诉处理结果应为 void（撤销）或 uphold（维持），实际为 {decision!r}")
    reason, by = required(reason, "处理理由"), required(by, "决定人")
    _task_exists(con, task_id)
    return record_decision(
        con, "strike_decision", {"task_id": task_id, "decision": code}, by, reason, at
    )


def record_outage(
    con: duckdb.DuckDBPyConnection,
    start: dt.datetime,
    end: dt.datetime,
    reason: str,
    by: str,
    at: dt.datetime | None = None,
) -> log.DrawRecord:
    """ZZ-DISPUTE: a platform outage voids every strike pushed or due inside [start, end]."""
    if end < start:
        raise UsageError(
            f"故障结束时间 {end:%Y-%m-%d %H:%M:%S} 早于开始时间 {start:%Y-%m-%d %H:%M:%S}"
        )
    reason, by = required(reason, "故障说明"), required(by, "登记人")
    params = {"from": f"{start:%Y-%m-%d %H:%M:%S}", "to": f"{end:%Y-%m-%d %H:%M:%S}"}
    return record_decision(con, "outage", params, by, reason, at)


def action_ledger(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.datetime | None,
    profile: Profile,
    status: str | None = None,
) -> pa.Table:
    """ZZ-ACTION: every action item with its status (pending / done / voided)."""
    from pipelines.rules.engine import run

    return run(
        con, "mart_action_ledger", profile, as_of, where={"status": status} if status else None
    )


def record_action_done(
    con: duckdb.DuckDBPyConnection,
    task_id: str,
    action: str,
    by: str,
    note: str,
    profile: Profile,
    as_of: dt.datetime | None = None,
    at: dt.datetime | None = None,
) -> log.DrawRecord:
    """ZZ-ACTION: record an action item done (who, when, how); it must be a current item."""
    task_id, by, note = (
        required(task_id, "任务编号"),
        required(by, "处置人"),
        required(note, "处置说明"),
    )
    if action not in ACTIONS:
        raise UsageError(f"处置措施应为 {' / '.join(ACTIONS)}，实际为 {action!r}")
    from pipelines.evaltime import resolve

    items = action_ledger(con, resolve(con, as_of).eval_at, profile).to_pylist()
    item = next((i for i in items if i["task_id"] == task_id and i["action"] == action), None)
    if item is None:
        raise DataError(f"任务 {task_id} 没有「{ACTION_ZH[action]}」处置事项（未超时，或措施不同）")
    if item["status"] == "voided":
        raise DataError(f"任务 {task_id} 的违规已撤销，无需处置")
    return record_decision(con, "action_done", {"task_id": task_id, "action": action}, by, note, at)


def check_record(rec: log.DrawRecord) -> str | None:
    """What is wrong with a decision record's content (verify-log), or None."""
    p = rec.params()
    if not (rec.operator or "").strip() or not (rec.reason or "").strip():
        return "缺少决定人或理由"
    if rec.kind == "strike_decision":
        if not p.get("task_id") or p.get("decision") not in DECISION_ZH:
            return "申诉处理记录缺少任务编号或处理结果"
    elif rec.kind == "outage":
        if dt.datetime.fromisoformat(p["to"]) < dt.datetime.fromisoformat(p["from"]):
            return "故障时段的结束早于开始"
    elif rec.kind == "action_done" and (not p.get("task_id") or p.get("action") not in ACTIONS):
        return "处置登记缺少任务编号或措施"
    elif rec.kind == "sanction":
        from pipelines.sanctions import check_sanction

        return check_sanction(p)
    elif rec.kind == "appeal_finding":
        from pipelines.draws.review_results import check_appeal_finding

        return check_appeal_finding(p)
    return None


# ---- commands ------------------------------------------------------------------------------------


def open_for_writing(args: argparse.Namespace) -> duckdb.DuckDBPyConnection:
    """The warehouse for writing a decision; a missing file is a data error, not a new database."""
    from pathlib import Path

    from pipelines.db import connect

    if not Path(args.db).exists():
        raise DataError(f"数据库文件不存在：{args.db}（请先运行 python -m pipelines ingest）")
    return connect(args.db)


def recompute_marts(con: duckdb.DuckDBPyConnection, profile: str) -> None:
    """After a decision, recompute the dashboard's tables at their evaluation time (as the page
    does after its own decision), so the dashboard's next page run shows it (issue 13)."""
    from pipelines.rules import refresh_marts

    present = con.execute(
        "select count(*) from information_schema.tables "
        "where table_name = 'mart_meta' and table_catalog = current_database()"
    ).fetchone()[0]
    if present:
        row = con.execute("select coalesce(eval_at, as_of) from mart_meta").fetchone()
        refresh_marts(con, row[0] if row else None, load_profile(profile))


def cmd_dispute(args: argparse.Namespace) -> int:
    """Record a dispute decision (ZZ-DISPUTE) on a task's strike: void (撤销) or uphold (维持).

    Example: python -m pipelines dispute --task T000123 --decision void \\
        --reason "平台推送失败，专家未收到" --by 张三
    """
    con = open_for_writing(args)
    try:
        rec = record_dispute(con, args.task, args.decision, args.reason, args.by)
        recompute_marts(con, args.profile)
    finally:
        con.close()
    print(rec.draw_id)
    code = rec.params()["decision"]
    print(f"已记录：任务 {args.task} 的违规{DECISION_ZH[code]}（{rec.draw_id}）", file=sys.stderr)
    return 0


def cmd_outage(args: argparse.Namespace) -> int:
    """Declare a platform outage (ZZ-DISPUTE): strikes pushed or due inside it are voided.

    Example: python -m pipelines outage --from "2026-10-08 08:00" --to "2026-10-08 18:00" \\
        --reason "平台升级" --by 张三
    """
    from pipelines.cliutil import parse_time

    start, end = parse_time(args.start, "--from"), parse_time(args.end, "--to")
    con = open_for_writing(args)
    try:
        rec = record_outage(con, start, end, args.reason, args.by)
        recompute_marts(con, args.profile)
    finally:
        con.close()
    print(rec.draw_id)
    print(f"已登记系统故障时段 {start} 至 {end}（{rec.draw_id}）", file=sys.stderr)
    return 0


def cmd_actions(args: argparse.Namespace) -> int:
    """The action ledger (ZZ-ACTION): each strike's action with its status.

    Columns: expert_id, strike_no, task_id, action, status, done_at, done_by.
    Example: python -m pipelines actions --status pending --out 待处置.csv
    """
    from pipelines.rules.cli import export

    table, as_of = export(
        args,
        LEDGER_COLUMNS,
        lambda con, profile, at: action_ledger(con, at, profile, args.status),
    )
    counts = {s: 0 for s in STATUS_ZH}
    for s in table.column("status").to_pylist():
        counts[s] += 1
    said = "，".join(f"{STATUS_ZH[s]} {n:,}" for s, n in counts.items())
    print(
        f"截至 {as_of:%Y-%m-%d %H:%M:%S} 处置事项 {table.num_rows:,} 项（{said}）→ {args.out}",
        file=sys.stderr,
    )
    return 0


def cmd_action_done(args: argparse.Namespace) -> int:
    """Record an action item done (ZZ-ACTION): who, when (now), how.

    Example: python -m pipelines action-done --task T000123 --action sms --by 张三 \\
        --note "短信平台已发送"
    """
    con = open_for_writing(args)
    try:
        rec = record_action_done(
            con, args.task, args.action, args.by, args.note, load_profile(args.profile)
        )
        recompute_marts(con, args.profile)
    finally:
        con.close()
    print(rec.draw_id)
    print(
        f"已登记：任务 {args.task} 的{ACTION_ZH[args.action]}已处置（{rec.draw_id}）",
        file=sys.stderr,
    )
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("dispute", parents=[common], help="违规申诉处理：撤销或维持 (ZZ-DISPUTE)")
    p.add_argument("--task", required=True, help="任务编号")
    p.add_argument("--decision", required=True, help="void（撤销）/ uphold（维持）")
    p.add_argument("--reason", required=True, help="处理理由")
    p.add_argument("--by", required=True, help="决定人")
    p.set_defaults(func=cmd_dispute)
    o = sub.add_parser("outage", parents=[common], help="登记系统故障时段 (ZZ-DISPUTE)")
    o.add_argument("--from", dest="start", required=True, help='开始 "YYYY-MM-DD HH:MM:SS"')
    o.add_argument("--to", dest="end", required=True, help='结束 "YYYY-MM-DD HH:MM:SS"')
    o.add_argument("--reason", required=True, help="故障说明")
    o.add_argument("--by", required=True, help="登记人")
    o.set_defaults(func=cmd_outage)
    a = sub.add_parser("actions", parents=[common], help="处置台账 (ZZ-ACTION)")
    a.add_argument("--status", choices=list(STATUS_ZH), default=None, help="只列出此状态")
    a.add_argument("--as-of", dest="as_of", help="评估时间（默认：数据截止时间）")
    a.add_argument("--out", required=True, help="输出 CSV 文件")
    a.set_defaults(func=cmd_actions)
    d = sub.add_parser("action-done", parents=[common], help="登记处置完成 (ZZ-ACTION)")
    d.add_argument("--task", required=True, help="任务编号")
    d.add_argument("--action", required=True, choices=list(ACTIONS), help="处置措施")
    d.add_argument("--by", required=True, help="处置人")
    d.add_argument("--note", required=True, help="处置说明，如：短信平台已发送")
    d.set_defaults(func=cmd_action_done)
