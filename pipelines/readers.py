"""Read one input file (CSV in UTF-8/GBK, xlsx, parquet) into a DuckDB temp table of text.

Every reader produces the temp table `src` with a `line` column (the file's line or row number)
and one VARCHAR column per contract column (missing optional ones are NULL), plus a list of
rows the reader itself could not split (wrong field count) with their line numbers. DuckDB's own
GBK and Excel readers download extensions at first use, so those formats are decoded in Python
and handed to DuckDB in bulk (a transcoded file or an Arrow table), never row by row.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import io
import itertools
import os
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from tqdm import tqdm

from pipelines.errors import DataError
from pipelines.ingest_spec import TableSpec, header_map, normalise_header
from pipelines.rules.graph import sql_literal

if TYPE_CHECKING:
    import pyarrow as pa

CHUNK = 8 << 20
PROGRESS_MIN_BYTES = 32 << 20


@dataclass(frozen=True)
class Limits:
    """How large an input may be before it is refused, so that a broken or hostile file is
    named quickly instead of parsing for minutes (issue 15). The command line uses the
    defaults; the dashboard's upload passes PAGE_LIMITS.

    `line_bytes`: a CSV line, in bytes (DuckDB cuts a rejected line at 10,000 bytes, which can
    split a Chinese character: a longer bound would bring back its internal error);
    `field_chars`: a value of a contract column; `xlsx_bytes`: a workbook's worksheets and
    shared strings, unpacked; `xlsx_rows`: the rows of one worksheet."""

    line_bytes: int = 8192
    field_chars: int = 2000
    xlsx_bytes: int = 256 << 20
    xlsx_rows: int = 500_000

    def __post_init__(self) -> None:
        if not 0 < self.line_bytes <= 10_000:
            raise ValueError("line_bytes must be 1 .. 10000")


CLI_LIMITS = Limits()
PAGE_LIMITS = Limits(line_bytes=4096, field_chars=1000, xlsx_bytes=64 << 20, xlsx_rows=200_000)


class FileRejected(DataError):
    """The file cannot be used at all; nothing of it is loaded."""

    def __init__(self, file: str, problem: str):
        self.file = file
        self.problem = problem
        super().__init__(f"文件 {file} 无法导入：{problem}")


@dataclass
class ReadResult:
    """What a reader produced: rows in temp table `src`, plus rows it could not split."""

    parts: list[str]  # display names (a workbook may give several sheets)
    rows: int
    broken: list[tuple[int, str, str]] = field(default_factory=list)  # line, raw, problem
    ignored_columns: list[str] = field(default_factory=list)
    encoding: str = ""
    # For a workbook, one result per sheet: this (re)creates `src` for that sheet.
    materialise: Callable[[], None] | None = None


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


class _LineProgress:
    """Progress for a log or a pipe (no terminal): one plain line per tenth of the work."""

    def __init__(self, total: float, desc: str, unit: str):
        self.total, self.desc, self.unit = total, desc, unit
        self.done = 0.0
        self.tenths = 0
        self.t0 = time.monotonic()

    def update(self, n: float) -> None:
        self.done += n
        tenths = min(10, int(self.done * 10 // self.total)) if self.total else 10
        if tenths > self.tenths:
            self.tenths = tenths
            size = f"（{_mb(self.done)} / {_mb(self.total)}）" if self.unit == "B" else ""
            secs = time.monotonic() - self.t0
            print(f"{self.desc}：{tenths * 10}%{size}，{secs:.0f} 秒", file=sys.stderr, flush=True)

    def close(self) -> None:
        pass

    def __enter__(self) -> _LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _progress(total: float, desc: str, unit: str = "B", show: bool | None = None):
    """A bar on a terminal, plain lines in a log or pipe; nothing for small files."""
    if show is None:
        show = total >= PROGRESS_MIN_BYTES
    if show and not sys.stderr.isatty():
        return _LineProgress(total, desc, unit)
    return tqdm(
        total=total,
        unit=unit,
        unit_scale=unit == "B",
        desc=desc,
        disable=not show,
        leave=False,
        bar_format=None if unit == "B" else "{desc}: {percentage:3.0f}%|{bar}| {elapsed}",
    )


@contextmanager
def query_progress(con: duckdb.DuckDBPyConnection, desc: str, show: bool) -> Iterator[None]:
    """Show how far DuckDB is with the statement run inside the block (a thread polls it)."""
    if not show:
        yield
        return
    old = con.execute(
        "select current_setting('enable_progress_bar'), current_setting('enable_progress_bar_print')"
    ).fetchone()
    con.execute("set enable_progress_bar = true")
    con.execute("set enable_progress_bar_print = false")
    stop = threading.Event()
    bar = _progress(100, desc, unit="%", show=True)
    shown = [0.0]

    def poll() -> None:
        while not stop.wait(0.5):
            try:
                done = con.query_progress()
            except duckdb.Error:
                return
            if done > shown[0]:
                bar.update(done - shown[0])
                shown[0] = done

    thread = threading.Thread(target=poll, name="ingest-progress", daemon=True)
    thread.start()
    try:
        yield
        stop.set()
        thread.join()
        bar.update(100 - shown[0])
    finally:
        stop.set()
        thread.join()
        bar.close()
        try:
            con.execute(f"set enable_progress_bar = {str(bool(old[0])).lower()}")
            con.execute(f"set enable_progress_bar_print = {str(bool(old[1])).lower()}")
        except duckdb.Error:
            pass  # the statement failed and took the transaction with it: its error is the news


# What a file holds, by its first bytes (its name may say otherwise): 中文, English.
KINDS = {
    "text": ("文本（CSV）", "CSV text"),
    "xlsx": ("Excel 工作簿（xlsx）", "an Excel workbook (xlsx)"),
    "parquet": ("Parquet 文件", "a Parquet file"),
    "xls": ("旧版 Excel 工作簿（.xls）", "a legacy Excel workbook (.xls)"),
    "zip": ("zip 压缩包或 Word 等文档", "a zip archive or an office document"),
    "pdf": ("PDF 文档", "a PDF document"),
    "image": ("图片", "an image"),
    "archive": ("压缩包", "a compressed archive"),
    "utf16": ("UTF-16 编码的文本", "UTF-16 text"),
    "binary": ("二进制数据（含 NUL 字节）", "binary data (NUL bytes)"),
}
NATIVE = {"text": ".csv", "xlsx": ".xlsx", "parquet": ".parquet"}
_MAGIC = [
    (b"PAR1", "parquet"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
    (b"%PDF", "pdf"),
    (b"\x89PNG", "image"),
    (b"\xff\xd8\xff", "image"),
    (b"GIF8", "image"),
    (b"\x1f\x8b", "archive"),
    (b"Rar!", "archive"),
    (b"7z\xbc\xaf", "archive"),
    (b"\xff\xfe", "utf16"),
    (b"\xfe\xff", "utf16"),
]


def sniff(path: Path) -> str:
    """A key of KINDS: what the file's first bytes show it to be."""
    with path.open("rb") as fh:
        head = fh.read(64 << 10)
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError):
            return "zip"
        return "xlsx" if any(n.startswith("xl/") for n in names) else "zip"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if b"\x00" in head:
        # UTF-16 without a BOM: the zero high bytes of ASCII characters (digits, commas, line
        # ends), many and nearly all on one side; binary data has its zeros anywhere
        even, odd = head[0::2].count(0), head[1::2].count(0)
        many = max(even, odd) * 20 >= len(head)
        if many and min(even, odd) * 10 <= max(even, odd):
            return "utf16"
        # text with a stray NUL: read, and the row holding it is quarantined at its line
        return "text" if _is_text(head.replace(b"\x00", b"")) else "binary"
    return "text"


def _is_text(head: bytes) -> bool:
    """Whether these first bytes of a file decode as UTF-8 or GB18030 (a character cut at the
    end of the sample is allowed)."""
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            return True
        except UnicodeDecodeError:
            pass
    return False


_NOT_A = {
    ".csv": "不是 CSV 文本表格",
    ".xlsx": "不是有效的 Excel (xlsx) 文件",
    ".parquet": "不是有效的 Parquet 文件",
}


def check_content(path: Path) -> None:
    """FileRejected unless the file holds what its extension says (CSV text, xlsx, parquet)."""
    if path.stat().st_size == 0:
        raise FileRejected(
            path.name, "空文件（0 字节，没有表头）（empty file: 0 bytes, no header）"
        )
    kind = sniff(path)
    suffix = path.suffix.lower()
    if NATIVE.get(kind) == suffix:
        return
    zh, en = KINDS[kind]
    not_a = _NOT_A.get(suffix, "无法读取")
    if kind in NATIVE:
        problem = (
            f"内容是{zh}，扩展名有误：请把扩展名改为 {NATIVE[kind]} 后重新导入"
            f"（wrong file extension: the {suffix} file holds {en}）"
        )
    elif kind == "xls":
        problem = (
            "内容是旧版 Excel 工作簿（.xls）：请在 Excel 或 WPS 中另存为 .xlsx 或 CSV 后重新导入"
            "（legacy .xls workbook: save it as .xlsx or CSV）"
        )
    elif kind == "utf16":
        problem = (
            "编码是 UTF-16（既不是 UTF-8 也不是 GBK/GB18030）：请另存为 UTF-8 或 GBK 编码的 CSV"
            "（UTF-16 text: save it as UTF-8 or GBK CSV）"
        )
    else:
        problem = f"这不是表格文件，内容是{zh}（not a table: the file holds {en}）"
    raise FileRejected(path.name, f"{not_a}：{problem}")


def detect_encoding(path: Path) -> str:
    """'utf-8' (with or without BOM) if the whole file decodes as UTF-8, else 'gb18030'."""
    size = path.stat().st_size
    dec = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh, _progress(size, f"检查编码 {path.name}") as bar:
        try:
            while chunk := fh.read(CHUNK):
                dec.decode(chunk)
                bar.update(len(chunk))
            dec.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
    first_utf8 = first_gbk = None
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if line_no == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            if raw.isascii():
                continue
            try:
                raw.decode("utf-8")
                first_utf8 = first_utf8 or line_no
                continue
            except UnicodeDecodeError:
                pass
            try:
                raw.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise FileRejected(
                    path.name,
                    f"第 {line_no} 行编码无法识别（既不是 UTF-8 也不是 GBK/GB18030）"
                    f"（line {line_no}: neither UTF-8 nor GBK/GB18030）",
                ) from exc
            first_gbk = first_gbk or line_no
            if first_utf8 and first_gbk:
                break
    if first_utf8 and first_gbk:
        raise FileRejected(
            path.name,
            f"编码混用：第 {first_utf8} 行是 UTF-8，第 {first_gbk} 行是 GBK；"
            "请统一另存为一种编码后重新导入"
            f"（mixed encodings: line {first_utf8} is UTF-8, line {first_gbk} is GBK）",
        )
    return "gb18030"


def _transcode(path: Path, encoding: str, tmpdir: Path) -> Path:
    out = tmpdir / (path.stem + ".utf8.csv")
    dec = codecs.getincrementaldecoder(encoding)()
    with (
        path.open("rb") as src,
        out.open("w", encoding="utf-8", newline="") as dst,
        _progress(path.stat().st_size, f"转码 {path.name}") as bar,
    ):
        while chunk := src.read(CHUNK):
            dst.write(dec.decode(chunk))
            bar.update(len(chunk))
        dst.write(dec.decode(b"", final=True))
    return out


def _map_header(file: str, cells: list[str], spec: TableSpec) -> tuple[dict[int, str], list[str]]:
    """Column index → canonical name; rejects duplicated and missing required columns."""
    hmap = header_map(spec)
    found: dict[int, str] = {}
    seen: dict[str, str] = {}
    ignored: list[str] = []
    for i, raw in enumerate(cells):
        key = normalise_header(str(raw) if raw is not None else "")
        name = hmap.get(key)
        if name is None:
            if key:
                ignored.append(str(raw).strip())
            continue
        if name in seen:
            raise FileRejected(
                file,
                f"表头重复：{seen[name]!r} 与 {str(raw).strip()!r} 都是列 {name}"
                f"（duplicated header: two columns are {name}）",
            )
        seen[name] = str(raw).strip()
        found[i] = name
    if not found:
        shown = "、".join(ignored[:8]) or "（空）"
        raise FileRejected(
            file,
            f"表头中没有可识别的列名，这不是「{spec.zh}」（{spec.name}）表格；表头为：{shown}"
            f"（not a {spec.name} table: no known column in the header）",
        )
    missing = [c for c in spec.columns if c.required and c.name not in seen]
    if missing:
        names = "、".join(f"{c.zh}({c.name})" for c in missing)
        hint = _spelling_hint(ignored, missing)
        raise FileRejected(
            file,
            f"缺少必填列：{names}{hint}"
            f"（missing required column: {', '.join(c.name for c in missing)}）",
        )
    return found, ignored


def _spelling_hint(ignored: list[str], missing: list) -> str:
    """'；未识别的列「hospitl_name」是否应为「hospital_name」？' for near misses of missing columns."""
    if not ignored:
        return ""
    spellings = {}
    for c in missing:
        spellings[c.name.lower()] = c.name
        spellings[c.zh] = c.zh
    guesses = []
    for raw in ignored:
        close = difflib.get_close_matches(normalise_header(raw), list(spellings), n=1, cutoff=0.6)
        if close:
            guesses.append(f"「{raw}」是否应为「{spellings[close[0]]}」")
    if guesses:
        return "；表头中未识别的列" + "，".join(guesses) + "？"
    return "；表头中未识别的列：" + "、".join(ignored[:8])


def blank_to_null(x: str) -> str:
    """SQL: the text with surrounding spaces removed, NULL if nothing is left.

    Same as nullif(trim(x), '') but trims only the values that need it: trim is the costliest
    step of reading a large file, and nearly no value has spaces around it.
    """
    return (
        f"case when starts_with({x}, ' ') or ends_with({x}, ' ') "
        f"then nullif(trim({x}), '') else nullif({x}, '') end"
    )


BEIJING_US = 8 * 3600 * 10**6  # Asia/Shanghai is UTC+8 all year (no daylight saving since 1991)


def beijing_sql(tz_value: str) -> str:
    """SQL: a TIMESTAMPTZ as Beijing wall time (arithmetic on the instant: no session time zone)."""
    return f"make_timestamp(epoch_us({tz_value}) + {BEIJING_US})"


# Parquet column types kept as they are for a column of this kind (no round trip through text).
NATIVE_TYPES = {
    "time": ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE"),
    "date": ("DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"),
    "number": ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT"),
}


def _integral_text(col: str) -> str:
    """SQL: a float or decimal as text, without a fraction when it is a whole number."""
    return (
        f"coalesce(case when {col} = trunc({col}) then cast(try_cast({col} as hugeint) as varchar)"
        f" end, cast({col} as varchar))"
    )


def _select_list(
    found: dict[int, str],
    spec: TableSpec,
    src_cols: list[str],
    types: dict[str, str] | None = None,
) -> str:
    """Each contract column from its source column: text trimmed (NULL when blank); a Parquet
    column already typed as its kind needs (`types`, e.g. TIMESTAMP for a time) is kept typed."""
    by_name = {v: src_cols[k] for k, v in found.items()}
    types = types or {}
    parts = []
    for c in spec.columns:
        if c.name in by_name:
            col = '"' + by_name[c.name].replace('"', '""') + '"'
            native = types.get(by_name[c.name], "").upper()
            if native == "TIMESTAMP WITH TIME ZONE" and c.kind in ("time", "date"):
                # an instant (Parquet isAdjustedToUTC): shown as Beijing wall time
                parts.append(f"{beijing_sql(col)} as {c.name}")
                continue
            if (
                native in NATIVE_TYPES.get(c.kind, ())
                or native.startswith("DECIMAL")
                and (c.kind == "number")
            ):
                parts.append(f"{col} as {c.name}")
                continue
            if native in ("FLOAT", "DOUBLE") or native.startswith("DECIMAL"):
                # an id or a code written as a float: 1.0 is the id 1 (as for an Excel cell)
                parts.append(f"{_integral_text(col)} as {c.name}")
                continue
            parts.append(f"{blank_to_null(f'cast({col} as varchar)')} as {c.name}")
        else:
            parts.append(f"cast(null as varchar) as {c.name}")
    return ", ".join(parts)


def drop_src(con: duckdb.DuckDBPyConnection) -> None:
    """Remove the previous file's `src`, a temp table (CSV, xlsx) or a temp view (Parquet)."""
    for kind in con.execute(
        "select table_type from information_schema.tables "
        "where table_catalog = 'temp' and table_name = 'src'"
    ).fetchall():
        con.execute("drop view src" if kind[0] == "VIEW" else "drop table src")


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", "\t", ";", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _blank_rows(path: Path) -> list[int]:
    """Row numbers (header = 1) of the empty lines, which DuckDB skips but a spreadsheet counts.

    A byte scan finds whether there can be any before the last row (empty lines at the end of
    the file, the common case, change no row's number); only then is the file walked as CSV
    (an empty line inside a quoted field is not a row).
    """
    with path.open("rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        while end > 0:
            start = max(0, end - CHUNK)
            fh.seek(start)
            kept = fh.read(end - start).rstrip(b"\r\n")
            if kept:
                end = start + len(kept)
                break
            end = start
        fh.seek(0)
        done, tail = 0, b""
        while done < end:
            chunk = fh.read(min(CHUNK, end - done))
            done += len(chunk)
            buf = tail + chunk
            if b"\n\n" in buf or b"\n\r\n" in buf or b"\r\r" in buf:
                break
            tail = buf[-2:]
        else:
            return []
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [n for n, row in enumerate(csv.reader(fh, strict=False), start=1) if not row]


SKIPPED_AS_LITERAL = 20_000  # 20,000 numbers parse in ≈ 0.1 s, 1,000,000 in ≈ 5 s


def _number_lines(con: duckdb.DuckDBPyConnection, skipped: list[int]) -> None:
    """Turn `src.line` from 1 + the row's ordinal into its line in the file.

    `skipped` are the lines that gave no row (empty, or rejected by the CSV reader). The j-th
    skipped line s_j has s_j - 1 - j rows before it, so a row with ordinal k sits on line
    k + 1 + (the number of skipped lines with s_j - 1 - j < k): an as-of join, set-based.
    """
    if not skipped:
        return
    lines = sorted(set(skipped))
    con.execute("create or replace temp table skipped_lines (line bigint)")
    if len(lines) <= SKIPPED_AS_LITERAL:
        # one list literal: registering an Arrow table (or binding a parameter) makes DuckDB
        # import pandas (≈ 0.5 s), more than parsing a few thousand numbers
        listed = ", ".join(str(int(n)) for n in lines)
        con.execute(f"insert into skipped_lines select unnest([{listed}]::bigint[])")
    else:  # a file with very many empty or rejected lines: parsing them would cost seconds
        import pyarrow as pa  # Arrow and numpy only where used: every command imports this module

        con.register("skipped_in", pa.table({"line": pa.array(lines, pa.int64())}))
        con.execute("insert into skipped_lines select line from skipped_in")
        con.unregister("skipped_in")
    con.execute(
        """
        create or replace temp table src as
        with pos as (
            select line - 1 - row_number() over (order by line) as before_ord,
                   row_number() over (order by line) as j
            from skipped_lines
        ), steps as (select before_ord, max(j) as j from pos group by before_ord)
        select src.* replace (src.line + coalesce(steps.j, 0) as line)
        from src asof left join steps on src.line - 1 > steps.before_ord
        """
    )


def long_line(path: Path, limit: int) -> tuple[int, int] | None:
    """(line, bytes) of the first line longer than `limit` bytes (its end of line not counted),
    None if there is none: numpy finds the line ends of each chunk, so this is a quick pass."""
    import numpy as np

    line, carry = 1, 0  # carry: bytes of the current line in earlier chunks
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10)
            if ends.size:
                lengths = np.diff(ends, prepend=-1) - 1  # without the \n
                lengths[0] += carry
                over = np.flatnonzero(lengths > limit + 1)  # a \r before the \n is allowed
                if over.size:
                    return line + int(over[0]), int(lengths[over[0]])
                line += int(ends.size)
                carry = len(chunk) - int(ends[-1]) - 1
            else:
                carry += len(chunk)
            if carry > limit + 1:
                return line, carry
    return None


def _check_lines(path: Path, limit: int) -> None:
    if (found := long_line(path, limit)) is not None:
        line, size = found
        raise FileRejected(
            path.name,
            f"第 {line} 行过长（{size:,} 字节以上，上限 {limit:,} 字节）：请检查该行是否缺少换行或"
            f"混入了其他内容（line {line} is longer than {limit:,} bytes）",
        )


def read_csv(
    con: duckdb.DuckDBPyConnection, path: Path, spec: TableSpec, tmpdir: Path, limits: Limits
) -> ReadResult:
    """Read a CSV file into temp table `src` (text, one row per data line, line numbers kept).

    UTF-8 first, as DuckDB reads it (it flags any line that is not valid UTF-8): a UTF-8 file
    costs no pass of its own. Otherwise the whole file is checked line by line in Python (GBK /
    GB18030, or a clear message naming the lines of mixed encodings), transcoded, and read again.
    A line longer than `limits.line_bytes` rejects the file, naming the line.
    """
    _check_lines(path, limits.line_bytes)
    if (res := _read_csv_source(con, path, path, spec, "utf-8")) is not None:
        return res
    encoding = detect_encoding(path)
    source = path if encoding == "utf-8" else _transcode(path, encoding, tmpdir)
    res = _read_csv_source(con, path, source, spec, encoding, keep_invalid=True)
    assert res is not None
    return res


def _read_csv_source(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: Path,
    spec: TableSpec,
    encoding: str,
    keep_invalid: bool = False,
) -> ReadResult | None:
    """`source` (UTF-8 text of `path`) into `src`; None if it is not UTF-8 (unless keep_invalid)."""
    size = path.stat().st_size
    try:
        with source.open(encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
    except UnicodeDecodeError:
        if keep_invalid:
            raise
        return None
    if not first.strip():
        raise FileRejected(path.name, "第 1 行为空：缺少表头（line 1 is empty: no header）")
    delim = _sniff_delimiter(first)
    cells = next(csv.reader(io.StringIO(first), delimiter=delim))
    found, ignored = _map_header(path.name, cells, spec)
    ncols = len(cells)
    src_cols = [f"c{i}" for i in range(ncols)]
    columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in src_cols) + "}"
    con.execute("drop table if exists reject_errors")
    con.execute("drop table if exists reject_scans")
    drop_src(con)
    with query_progress(con, f"解析 {path.name}", show=size >= PROGRESS_MIN_BYTES):
        con.execute(
            f"""
            create or replace temp table src as
            select row_number() over () + 1 as line, {_select_list(found, spec, src_cols)}
            from read_csv({sql_literal(str(source))}, header = true, auto_detect = false,
                          columns = {columns}, delim = {sql_literal(delim)}, quote = '"',
                          escape = '"', strict_mode = true, store_rejects = true,
                          null_padding = false)
            """
        )
    rejects = con.execute(
        """
        select line, csv_line, error_type
        from (select distinct line, csv_line, error_type from reject_errors)
        order by line
        """
    ).fetchall()
    if not keep_invalid and any(etype == "INVALID ENCODING" for _l, _r, etype in rejects):
        return None
    _number_lines(con, [int(r[0]) for r in rejects] + _blank_rows(source))
    n = con.execute("select count(*) from src").fetchone()[0]
    broken = [
        (int(line), str(raw), f"字段数与表头不一致（{etype}）") for line, raw, etype in rejects
    ]
    return ReadResult([path.name], n, broken, ignored, encoding)


def _cell_text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _two_row_header(cells: list[str], below: list[str], hmap: dict[str, str]) -> list[str] | None:
    """The header when the row below holds more column names (a header with merged group cells,
    多级表头): a name below replaces the group title above it; None if the row below is data."""
    above = {hmap.get(normalise_header(c)) for c in cells} - {None}
    more = [c for c in below if hmap.get(normalise_header(c)) not in (None, *above)]
    if not more:
        return None
    width = max(len(cells), len(below))
    return [
        below[i] if i < len(below) and below[i].strip() else (cells[i] if i < len(cells) else "")
        for i in range(width)
    ]


def _check_unpacked_size(path: Path, limit: int) -> None:
    """FileRejected if the workbook's worksheets and strings unpack to more than `limit` bytes
    (a few MB of xlsx can hold hundreds of MB of XML)."""
    try:
        with zipfile.ZipFile(path) as zf:
            size = sum(
                i.file_size
                for i in zf.infolist()
                if i.filename.startswith(("xl/worksheets/", "xl/sharedStrings"))
            )
    except (zipfile.BadZipFile, OSError):
        return  # load_workbook names the problem
    if size > limit:
        raise FileRejected(
            path.name,
            f"工作簿解压后 {_mb(size)}，超过上限 {_mb(limit)}：请拆分后导入，或另存为 CSV"
            f"（the workbook unpacks to {_mb(size)}, more than {_mb(limit)}）",
        )


def _too_many_rows(file: str, sheet: str, limit: int) -> FileRejected:
    return FileRejected(
        file,
        f"工作表「{sheet}」超过 {limit:,} 行：请拆分后导入，或另存为 CSV"
        f"（sheet {sheet} has more than {limit:,} rows）",
    )


def read_xlsx(
    con: duckdb.DuckDBPyConnection, path: Path, spec: TableSpec, tmpdir: Path, limits: Limits
) -> list[ReadResult]:
    import pyarrow as pa
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _check_unpacked_size(path, limits.xlsx_bytes)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise FileRejected(
            path.name, f"不是有效的 Excel (xlsx) 文件：{exc}（not a valid xlsx workbook）"
        ) from exc
    hmap = header_map(spec)
    tables: list[pa.Table] = []
    parts: list[str] = []
    ignored: list[str] = []
    problems: list[str] = []
    try:
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            head: list[tuple] = []
            header_idx = None
            for i, row in enumerate(rows):
                head.append(row)
                hits = sum(1 for v in row if normalise_header(_cell_text(v) or "") in hmap)
                if hits and header_idx is None and hits >= 2:
                    header_idx = i
                    break
                if i >= 20:
                    break
            if header_idx is None:
                problems.append(
                    f"工作表「{ws.title}」未找到表头（sheet {ws.title}: no header row）"
                )
                continue
            cells = [_cell_text(v) or "" for v in head[header_idx]]
            first_line = header_idx + 2  # spreadsheet row of the first data row
            pending: list[tuple] = []
            nxt = next(rows, None)
            if nxt is not None:
                merged = _two_row_header(cells, [_cell_text(v) or "" for v in nxt], hmap)
                if merged is not None:
                    cells, first_line = merged, first_line + 1
                else:
                    pending.append(nxt)
            # A sheet with a header that cannot be used rejects the whole file: never drop
            # a sheet of data silently.
            found, ign = _map_header(f"{path.name}「{ws.title}」", cells, spec)
            ignored += ign
            index = {name: i for i, name in found.items()}
            lines: list[int] = []
            cols: dict[str, list[str | None]] = {c.name: [] for c in spec.columns}
            if (ws.max_row or 0) - first_line + 1 > limits.xlsx_rows:
                raise _too_many_rows(path.name, ws.title, limits.xlsx_rows)
            last = first_line + limits.xlsx_rows - 1  # the sheet's size may be missing or wrong
            for offset, row in enumerate(itertools.chain(pending, rows), start=first_line):
                if offset > last:
                    raise _too_many_rows(path.name, ws.title, limits.xlsx_rows)
                if row is None or all(v is None or str(v).strip() == "" for v in row):
                    continue
                lines.append(offset)
                for c in spec.columns:
                    idx = index.get(c.name)
                    val = _cell_text(row[idx]) if idx is not None and idx < len(row) else None
                    cols[c.name].append(val)
            tbl = pa.table(
                {"line": pa.array(lines, pa.int64())}
                | {k: pa.array(v, pa.string()) for k, v in cols.items()}
            )
            tables.append(tbl)
            parts.append(f"{path.name}「{ws.title}」" if len(wb.worksheets) > 1 else path.name)
    finally:
        wb.close()
    if not tables:
        raise FileRejected(
            path.name, "；".join(problems) or "工作簿中没有数据表（no sheet with a table）"
        )
    sel = ", ".join(f"{blank_to_null(c.name)} as {c.name}" for c in spec.columns)

    def loader(table: pa.Table) -> Callable[[], None]:
        def materialise() -> None:
            con.register("xlsx_in", table)
            drop_src(con)
            con.execute(f"create or replace temp table src as select line, {sel} from xlsx_in")
            con.unregister("xlsx_in")

        return materialise

    # Each sheet is its own part with its own row numbers.
    return [
        ReadResult([part], t.num_rows, [], ignored, "xlsx", loader(t))
        for part, t in zip(parts, tables, strict=True)
    ]


def read_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, spec: TableSpec, tmpdir: Path, limits: Limits
) -> ReadResult:
    try:
        names = [
            r[0]
            for r in con.execute(
                f"select name from parquet_schema({sql_literal(str(path))}) "
                "where num_children is null"
            ).fetchall()
        ]
    except duckdb.Error as exc:
        raise FileRejected(path.name, f"不是有效的 Parquet 文件：{exc}") from exc
    found, ignored = _map_header(path.name, names, spec)
    src_cols = list(names)
    types = dict(
        con.execute(
            "select column_name, column_type from "
            f"(describe from read_parquet({sql_literal(str(path))}))"
        ).fetchall()
    )
    # A view, not a copy: Parquet is columnar and compressed, so the checks read the file itself
    # (each column once), and columns that are already typed stay typed.
    drop_src(con)
    literal = "'" + str(path).replace("'", "''") + "'"
    con.execute(
        f"""
        create temp view src as
        select file_row_number + 1 as line, {_select_list(found, spec, src_cols, types)}
        from read_parquet({literal}, file_row_number = true, hive_partitioning = false)
        """
    )
    n = con.execute("select count(*) from src").fetchone()[0]
    return ReadResult([path.name], n, [], ignored, "parquet")


READERS = {".csv": read_csv, ".xlsx": read_xlsx, ".parquet": read_parquet}


def read_file(
    con: duckdb.DuckDBPyConnection, path: Path, spec: TableSpec, limits: Limits = CLI_LIMITS
) -> list[ReadResult]:
    """Read a file into parts (a workbook's sheets; else one part, already in temp table `src`).

    FileRejected if the file cannot be used at all, or is larger than `limits` allow.
    """
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise FileRejected(
            path.name,
            f"不支持的文件类型 {path.suffix!r}（支持 .csv / .xlsx / .parquet）"
            f"（unsupported file type {path.suffix!r}）",
        )
    with tempfile.TemporaryDirectory(prefix="mtb-ingest-") as tmp:
        try:
            check_content(path)
            res = reader(con, path, spec, Path(tmp), limits)
            return res if isinstance(res, list) else [res]
        except duckdb.InvalidInputException as exc:
            raise FileRejected(
                path.name,
                f"无法解析为表格：{str(exc).splitlines()[0]}（not readable as a table）",
            ) from exc
        except OSError as exc:
            raise FileRejected(
                path.name,
                f"无法读取：{os.strerror(exc.errno or 0)}（cannot read the file）",
            ) from exc
