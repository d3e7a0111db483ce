"""The DuckDB warehouse file: connect and make sure the schema and reference tables exist."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import duckdb

from pipelines.catalogue import load_catalogue
from pipelines.config import DEFAULT_DB
from pipelines.errors import DataError
from pipelines.workcal import ensure_calendar

SQL_DIR = Path(__file__).resolve().parent / "sql"


def sql(name: str) -> str:
    """The text of `pipelines/sql/<name>.sql`."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def init_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables, refresh the catalogue and the calendar (one transaction)."""
    con.execute("begin transaction")
    try:
        con.execute(sql("schema"))
        con.execute(sql("draw_log_schema"))  # the decisions the rule models read live there
        load_catalogue(con)
        ensure_calendar(con)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


DEFAULT_MEMORY = "2GB"  # DuckDB's own default is 80 % of RAM: one batch stage took 3.6 GiB


def memory_limit() -> str:
    """DuckDB's memory cap, $MTB_DUCKDB_MEMORY (e.g. "3GB") or 2GB; past it, work spills to disk
    (a temp folder beside the database file), so every command stays within about 3 GB."""
    return os.environ.get("MTB_DUCKDB_MEMORY") or DEFAULT_MEMORY


def _set_memory_limit(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Set on the open database rather than passed as connect() configuration: a process may
    open the same file again (the dashboard, a test) and DuckDB refuses a second connection
    whose configuration differs from the first's."""
    try:
        con.execute("set memory_limit = ?", [memory_limit()])
    except duckdb.Error as exc:
        con.close()
        raise DataError(
            f"环境变量 MTB_DUCKDB_MEMORY 的值 {memory_limit()!r} 无效（应为如 2GB、512MB）："
            f"{str(exc).splitlines()[0]}"
        ) from exc
    return con


LOCK_WAIT_SECONDS = 120.0  # default of $MTB_LOCK_WAIT


def lock_wait() -> float:
    """How long to wait for another process's write lock on the file: $MTB_LOCK_WAIT seconds."""
    try:
        return max(0.0, float(os.environ.get("MTB_LOCK_WAIT", LOCK_WAIT_SECONDS)))
    except ValueError:
        return LOCK_WAIT_SECONDS


def _is_lock_conflict(exc: BaseException) -> bool:
    return "Could not set lock" in str(exc) or "Conflicting lock" in str(exc)


def _open(db: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, waiting its turn (bounded) while another process holds the file.

    DuckDB lets one process at a time open a file for writing; a second command (two supervisors'
    draws at the same moment, an ingest while a draw runs) waits up to `lock_wait()` seconds,
    retrying with growing pauses, instead of failing at once.
    """
    deadline = time.monotonic() + lock_wait()
    pause, told = 0.05, False
    while True:
        try:
            return _set_memory_limit(duckdb.connect(str(db), read_only=read_only))
        except duckdb.IOException as exc:
            if not _is_lock_conflict(exc) or time.monotonic() >= deadline:
                raise
            if not told:
                print(f"数据库文件 {db} 正被另一进程使用，等待其完成…", file=sys.stderr, flush=True)
                told = True
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 1.0)


def _lock_message(db: Path, exc: BaseException) -> str:
    pid = re.search(r"PID (\d+)", str(exc))
    holder = f"（进程 PID {pid.group(1)}）" if pid else ""
    return (
        f"数据库文件 {db} 正被另一进程{holder}以写方式占用，等待 {lock_wait():.0f} 秒后仍未释放。"
        "看板运行时请在看板的「数据」页导入，或关闭看板后再运行命令；"
        "可用环境变量 MTB_LOCK_WAIT 设置等待秒数。"
        f"(database file is locked by another process: {exc})"
    )


def connect(path: str | Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (created with its schema unless read-only)."""
    db = Path(path) if path else DEFAULT_DB
    if read_only:
        if not db.exists():
            raise DataError(f"数据库文件不存在：{db}（请先运行 python -m pipelines ingest）")
        try:
            return _open(db, read_only=True)
        except duckdb.IOException as exc:
            if _is_lock_conflict(exc):
                raise DataError(_lock_message(db, exc)) from exc
            raise
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        con = _open(db, read_only=False)
    except (OSError, duckdb.IOException) as exc:
        if _is_lock_conflict(exc):
            raise DataError(_lock_message(db, exc)) from exc
        raise DataError(f"无法打开数据库文件 {db}：{exc}") from exc
    init_schema(con)
    return con
