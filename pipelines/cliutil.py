"""What every verb of `python -m pipelines` shares: time options, the evaluation time, the
common options (--db, --profile) and turning user errors into a message and an exit status.

A leaf module: it imports none of the command modules, so each of them (pipelines.ingest,
pipelines.rules.cli, pipelines.draws.cli, pipelines.decisions, pipelines.sanctions) imports it
freely, and only pipelines.cli imports the command modules.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import duckdb

from pipelines.config import DEFAULT_DB, DEFAULT_PROFILE, profile_names
from pipelines.errors import DataError, UsageError
from pipelines.evaltime import EvalTime, resolve


def parse_as_of(text: str | None) -> dt.datetime | None:
    """--as-of "YYYY-MM-DD HH:MM:SS" (seconds optional; a bare date is 00:00); None if absent
    (the evaluation time is then the data cut-off, see `evaluation`)."""
    if text is None:
        return None
    for f in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text.strip(), f)
        except ValueError:
            continue
    raise UsageError(f"--as-of 时间格式应为 YYYY-MM-DD HH:MM:SS，实际为 {text!r}")


def parse_time(text: str, option: str) -> dt.datetime:
    """A required time option ("YYYY-MM-DD HH:MM:SS", seconds optional, a bare date is 00:00)."""
    value = parse_as_of(text)
    if value is None:
        raise UsageError(f"{option} 不能为空")
    return value


def evaluation(con: duckdb.DuckDBPyConnection, text: str | None) -> EvalTime:
    """DATA-CUTOFF: the evaluation time of a command (--as-of, default the data cut-off); says
    on stderr when it lies after the cut-off (rule results are then those at the cut-off)."""
    when = resolve(con, parse_as_of(text))
    if (note := when.note()) is not None:
        print(f"注意：{note}", file=sys.stderr)
    return when


def common_parser() -> argparse.ArgumentParser:
    """The parent parser of every verb: the options each takes (--db, --profile)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", default=str(DEFAULT_DB), help="DuckDB 数据库文件 (默认: %(default)s)"
    )
    common.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        choices=profile_names(),
        help="规则配置 (默认: %(default)s)",
    )
    return common


DISK_PROBLEMS = {
    "No space left on device": "磁盘空间不足",
    "File too large": "磁盘空间不足或文件超过系统允许的大小",
    "Disk quota exceeded": "磁盘配额已满",
    "Read-only file system": "文件系统只读",
    "Permission denied": "没有写入权限",
}


def disk_problem(exc: BaseException) -> str | None:
    """A Chinese + English line if the error (or one it arose from) is a storage failure."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc)
        for needle, zh in DISK_PROBLEMS.items():
            if needle in text:
                where = text.split("Could not write file", 1)[-1].split(":", 1)[0].strip(' "')
                return f"{zh} ({needle})" + (f"，文件：{where}" if where != text else "")
        exc = exc.__cause__ or exc.__context__
    return None


def run_verb(args: argparse.Namespace) -> int:
    """Run the parsed verb (`args.func`); user errors become a message and an exit status:
    UsageError → 2, DataError (including a calendar gap) → 1, a full disk or unwritable file → 1."""
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"错误 (usage): {exc}", file=sys.stderr)
        return 2
    except DataError as exc:
        print(f"错误 (data): {exc}", file=sys.stderr)
        return 1
    except (duckdb.Error, OSError) as exc:
        problem = disk_problem(exc)
        if problem is None:
            raise
        print(
            f"错误 (disk): {problem}。本次操作未完成，也没有留下半截数据："
            "数据库保持操作前的状态；腾出空间或改正权限后重新运行即可。"
            "\nerror: storage failure, nothing half-written; free space and run again.",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("已中断，未写入任何结果。", file=sys.stderr)
        return 130
