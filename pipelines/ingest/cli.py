"""The verbs `ingest`, `refresh` (the marts after a load) and `quarantine` (export the rows
that could not be loaded)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.cliutil import disk_problem, parse_as_of
from pipelines.db import connect

if TYPE_CHECKING:  # the load's modules are imported by the verbs that load, not by every command
    from pipelines.ingest.store import FileReport


def print_reports(reports: list[FileReport], out=sys.stderr) -> None:
    head = f"{'文件':<28}{'表':<10}{'读取':>14}{'接受':>14}{'新增':>14}{'更新':>12}{'隔离':>12}"
    print(head, file=out)
    for r in reports:
        print(
            f"{r.file:<28}{r.table:<10}{r.read:>14,}{r.accepted:>14,}{r.new:>14,}"
            f"{r.updated:>12,}{r.quarantined:>12,}",
            file=out,
        )
        if r.ignored_columns:
            print(f"  忽略未识别的列：{'、'.join(r.ignored_columns)}", file=out)
        if r.warnings:
            print(f"  数据警告 {r.warnings:,} 条（已导入，请核实）", file=out)
    total_q = sum(r.quarantined for r in reports)
    if total_q:
        print(
            f"共 {total_q:,} 行进入隔离表（quarantine），可在「数据」页查看或用 quarantine 命令导出。",
            file=out,
        )
    total_w = sum(r.warnings for r in reports)
    if total_w:
        print(
            f"共 {total_w:,} 条数据警告（data_warnings：身份证校验位不符、时间晚于导入时间等），"
            "数据已导入，请核实。",
            file=out,
        )


def cmd_ingest(args: argparse.Namespace) -> int:
    """Load a folder of platform exports.

    Example: python -m pipelines ingest --db data/warehouse.duckdb exports/2026-10/
    """
    from pipelines.ingest.store import ingest
    from pipelines.readers import FileRejected

    paths = [Path(p) for p in args.paths]
    con = connect(args.db)
    try:
        reports = ingest(
            con,
            paths,
            loaded_by=args.loaded_by,
            log=lambda m: print(m, file=sys.stderr),
            cutoff=args.cutoff_dt,
        )
    except FileRejected as exc:
        print(f"错误：{exc}。本次导入未写入任何数据。", file=sys.stderr)
        return 1
    print_reports(reports)
    status = _refresh_after_load(con, args, loaded=True) if args.refresh else 0
    return _close(con, status)


def _close(con: duckdb.DuckDBPyConnection, status: int) -> int:
    """Close the warehouse; after a storage failure (status 1) the connection may already be
    invalidated, which is then reported, not raised."""
    try:
        con.close()
    except duckdb.Error as exc:
        if status == 0:
            raise
        print(f"（关闭数据库时：{exc}）", file=sys.stderr)
    return status


def _refresh_after_load(
    con: duckdb.DuckDBPyConnection, args: argparse.Namespace, loaded: bool = False
) -> int:
    """Recompute the marts the dashboard reads; a calendar gap is reported, not fatal.

    The load itself has landed before this runs. A storage failure here (disk full, read-only)
    is named and the exit status is 1 — the marts are stale until `refresh` is run again; any
    other failure is a warning (the pages compute from the loaded tables meanwhile).
    """
    from pipelines.config import load_profile
    from pipelines.rules import refresh_marts

    as_of = args.as_of_dt  # None: the data cut-off (DATA-CUTOFF)
    landed = "数据已导入并已保存，但" if loaded else ""
    again = f"python -m pipelines refresh --db {args.db}"
    try:
        refresh_marts(con, as_of, load_profile(args.profile))
        as_of, cutoff = con.execute("select eval_at, data_cutoff from mart_meta").fetchone()
    except Exception as exc:
        if (problem := disk_problem(exc)) is not None:
            print(
                f"错误 (disk): {problem}。{landed}统计表未能重算（保持上次的结果）。"
                f"腾出空间或改正权限后运行：{again}"
                "\nerror: storage failure while refreshing the marts; the loaded data is kept.",
                file=sys.stderr,
            )
            return 1
        print(f"警告：{landed}统计表未重算：{exc}（可稍后运行 {again}）", file=sys.stderr)
        return 0
    shown = f"{cutoff:%Y-%m-%d %H:%M:%S}" if cutoff is not None else "（无）"
    print(
        f"已按评估时间 {as_of:%Y-%m-%d %H:%M:%S} 重算统计表（数据截止时间 {shown}）。",
        file=sys.stderr,
    )
    for mart, year in con.execute("select mart, year from mart_gaps order by mart").fetchall():
        print(
            f"警告：{mart} 需要 {year} 年的工作日日历，未计算；"
            "请补充 data/reference/calendar_overrides.csv。",
            file=sys.stderr,
        )
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    """Recompute the marts the dashboard reads (after `ingest --no-refresh` or a failed refresh).

    Example: python -m pipelines refresh --db data/warehouse.duckdb --as-of "2026-11-20 23:59:59"
    """
    con = connect(args.db)
    status = _refresh_after_load(con, args)
    return _close(con, status)


def cmd_quarantine(args: argparse.Namespace) -> int:
    """Export the quarantine table (rows that could not be loaded) to CSV.

    Example: python -m pipelines quarantine --db data/warehouse.duckdb --out quarantine.csv
    """
    from pipelines.output import write_csv

    con = connect(args.db, read_only=True)
    cols = ["file_name", "table_name", "line", "column_name", "reason_zh", "reason_en", "raw"]
    rows = con.execute(
        f"select {', '.join(cols)} from quarantine order by table_name, file_name, line"
    ).fetchall()
    n = write_csv(args.out, cols, rows)
    print(f"已导出隔离行 {n:,} 行 → {args.out}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("ingest", parents=[common], help="导入医院、专家、申报、任务文件")
    p.add_argument("paths", nargs="+", metavar="DIR", help="文件夹或文件")
    p.add_argument("--loaded-by", default=None, help="导入人（默认：当前系统用户）")
    p.add_argument("--as-of", default=None, help="重算统计表的评估时间（默认：数据截止时间）")
    p.add_argument(
        "--cutoff",
        default=None,
        help='本次导出的数据截止时间 "YYYY-MM-DD HH:MM:SS"（默认：文件中最晚的事件时间）',
    )
    p.add_argument("--no-refresh", dest="refresh", action="store_false", help="导入后不重算统计表")

    def run(args: argparse.Namespace) -> int:
        args.as_of_dt = parse_as_of(args.as_of)
        args.cutoff_dt = parse_as_of(args.cutoff) if args.cutoff else None
        return cmd_ingest(args)

    p.set_defaults(func=run)
    r = sub.add_parser("refresh", parents=[common], help="重算统计表（看板读取的汇总表）")
    r.add_argument("--as-of", default=None, help="评估时间（默认：数据截止时间）")

    def run_refresh(args: argparse.Namespace) -> int:
        args.as_of_dt = parse_as_of(args.as_of) if args.as_of else None
        return cmd_refresh(args)

    r.set_defaults(func=run_refresh)
    q = sub.add_parser("quarantine", parents=[common], help="导出隔离表")
    q.add_argument("--out", required=True)
    q.set_defaults(func=cmd_quarantine)
