"""The DuckDB warehouse file: connect and make sure the schema and reference tables exist."""

from __future__ import annotations

import os
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
        load_catalogue(con)
        ensure_calendar(con)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _memory_config() -> dict[str, str]:
    """$MTB_DUCKDB_MEMORY (e.g. "3GB") caps DuckDB's memory; past it, work spills to disk."""
    limit = os.environ.get("MTB_DUCKDB_MEMORY")
    return {"memory_limit": limit} if limit else {}


def connect(path: str | Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (created with its schema unless read-only)."""
    db = Path(path) if path else DEFAULT_DB
    if read_only:
        if not db.exists():
            raise DataError(f"数据库文件不存在：{db}（请先运行 python -m pipelines ingest）")
        return duckdb.connect(str(db), read_only=True)
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(db), config=_memory_config())
    except (OSError, duckdb.IOException) as exc:
        raise DataError(f"无法打开数据库文件 {db}：{exc}") from exc
    init_schema(con)
    return con
