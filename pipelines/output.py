"""Contract CSV output (shared/CONTRACT.md "Commands"): UTF-8, header, canonical names.

Timestamps `YYYY-MM-DD HH:MM:SS`, dates `YYYY-MM-DD`, booleans `true`/`false`, null as empty.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import tempfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: a verb that writes no table loads neither
    import duckdb
    import pyarrow as pa


def fmt(value: Any) -> str:
    """One value as the contract writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        return repr(value) if value != int(value) else str(int(value))
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _temp_beside(target: Path) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    return tmp


def write_csv(path: str | Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write rows atomically (temp file + rename) so a crash never leaves half a file."""
    target = Path(path)
    n = 0
    tmp = _temp_beside(target)
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(columns)
            for row in rows:
                w.writerow([fmt(v) for v in row])
                n += 1
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
_INTEGERS |= {"U" + t for t in _INTEGERS}
_TIMESTAMPS = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _as_text(kind: str, name: str) -> str | None:
    """A DuckDB expression writing a column of that type as `fmt` does ('' and null both as
    empty, which DuckDB's writer leaves unquoted), or None when only `fmt` is known to match."""
    if kind == "VARCHAR":
        return f"nullif({name}, '')"
    if kind in _INTEGERS:
        return f"cast({name} as varchar)"
    if kind == "BOOLEAN":
        return f"case when {name} then 'true' when not {name} then 'false' end"
    if kind in _TIMESTAMPS:
        return f"strftime({name}, '%Y-%m-%d %H:%M:%S')"
    if kind == "DATE":
        return f"strftime({name}, '%Y-%m-%d')"
    return None


def _texts(con: duckdb.DuckDBPyConnection, source: str, columns: Sequence[str]) -> list | None:
    """Each column's `_as_text`, or None when one has none (or holds a lone \r, which Python's
    writer leaves unquoted and DuckDB's quotes: rare, left to `fmt`)."""
    names = [_quoted(c) for c in columns]
    cursor = con.execute(f"select {', '.join(names)} from {source} limit 0")
    kinds = [str(d[1]) for d in cursor.description]
    exprs = [_as_text(k, n) for k, n in zip(kinds, names, strict=True)]
    text = [n for k, n in zip(kinds, names, strict=True) if k == "VARCHAR"]
    if any(e is None for e in exprs) or len(columns) < 2:  # csv quotes a lone empty field
        return None
    if text:
        probe = ", ".join(f"coalesce(bool_or(contains({n}, chr(13))), false)" for n in text)
        if any(con.execute(f"select {probe} from {source}").fetchone()):
            return None
    return [f"{e} as {n}" for e, n in zip(exprs, names, strict=True)]


def write_rows(
    path: str | Path, con: duckdb.DuckDBPyConnection, source: str, columns: Sequence[str]
) -> int:
    """The named columns of a table or view of `con`, in its order, written as `write_csv`
    writes them (same bytes) but set-based by DuckDB's CSV writer when every column's type
    allows (no per-row Python: a province's 350,000 strikes in a fraction of a second);
    atomically, like `write_csv`."""
    exprs = _texts(con, source, columns)
    if exprs is None:
        rows = con.execute(f"select {', '.join(map(_quoted, columns))} from {source}").fetchall()
        return write_csv(path, columns, rows)
    target = Path(path)
    tmp = _temp_beside(target)
    try:
        rel = con.sql(f"select {', '.join(exprs)} from {source}")
        rel.write_csv(tmp, header=True, sep=",", quotechar='"', escapechar='"')
        n = con.execute(f"select count(*) from {source}").fetchone()[0]
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


def write_table(path: str | Path, table: pa.Table, columns: Sequence[str]) -> int:
    """The named columns of an Arrow table, written as `write_rows` writes them."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("arrow_rows", table.select(list(columns)))
        return write_rows(path, con, "arrow_rows", columns)
    finally:
        con.close()
