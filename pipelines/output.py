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


def _as_text(table: pa.Table, column: str) -> str | None:
    """A DuckDB expression writing the column as `fmt` does ('' and null both as empty, which
    DuckDB's writer leaves unquoted), or None when only `fmt` is known to match."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind, name = table.schema.field(column).type, '"' + column.replace('"', '""') + '"'
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        # Python's writer leaves a lone \r unquoted, DuckDB's quotes it: rare, left to `fmt`
        has_cr = pc.any(pc.match_substring(table[column], "\r")).as_py()
        return None if has_cr else f"nullif({name}, '')"
    if pa.types.is_integer(kind):
        return f"cast({name} as varchar)"
    if pa.types.is_boolean(kind):
        return f"case when {name} then 'true' when not {name} then 'false' end"
    if pa.types.is_timestamp(kind) and kind.tz is None:
        return f"strftime({name}, '%Y-%m-%d %H:%M:%S')"
    if pa.types.is_date(kind):
        return f"strftime({name}, '%Y-%m-%d')"
    return None


def write_table(path: str | Path, table: pa.Table, columns: Sequence[str]) -> int:
    """The named columns of an Arrow table, written as `write_csv` writes them (same bytes), but
    set-based by DuckDB's CSV writer when every column's type allows (no per-row Python: a
    province's 350,000 strikes in a fraction of a second); atomically, like `write_csv`."""
    exprs = [_as_text(table, c) for c in columns]
    if len(columns) < 2 or any(e is None for e in exprs):  # csv quotes a lone empty field
        lists = [table.column(c).to_pylist() for c in columns]
        return write_csv(path, columns, zip(*lists, strict=True))
    import duckdb

    target = Path(path)
    tmp = _temp_beside(target)
    try:
        con = duckdb.connect()
        try:
            names = ['"' + c.replace('"', '""') + '"' for c in columns]
            select = ", ".join(f"{e} as {n}" for e, n in zip(exprs, names, strict=True))
            rel = con.from_arrow(table.select(list(columns))).project(select)
            rel.write_csv(tmp, header=True, sep=",", quotechar='"', escapechar='"')
        finally:
            con.close()
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return table.num_rows
