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
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
from tqdm import tqdm

from pipelines.errors import DataError
from pipelines.ingest_spec import TableSpec, header_map, normalise_header

CHUNK = 8 << 20
PROGRESS_MIN_BYTES = 32 << 20


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


def _progress(total: int, desc: str) -> tqdm:
    return tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        desc=desc,
        disable=total < PROGRESS_MIN_BYTES,
        leave=False,
    )


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
                    path.name, f"第 {line_no} 行编码无法识别（既不是 UTF-8 也不是 GBK/GB18030）"
                ) from exc
            first_gbk = first_gbk or line_no
            if first_utf8 and first_gbk:
                break
    if first_utf8 and first_gbk:
        raise FileRejected(
            path.name,
            f"编码混用：第 {first_utf8} 行是 UTF-8，第 {first_gbk} 行是 GBK；"
            "请统一另存为一种编码后重新导入",
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
                file, f"表头重复：{seen[name]!r} 与 {str(raw).strip()!r} 都是列 {name}"
            )
        seen[name] = str(raw).strip()
        found[i] = name
    missing = [c for c in spec.columns if c.required and c.name not in seen]
    if missing:
        names = "、".join(f"{c.zh}({c.name})" for c in missing)
        raise FileRejected(file, f"缺少必填列：{names}")
    return found, ignored


def _select_list(found: dict[int, str], spec: TableSpec, src_cols: list[str]) -> str:
    by_name = {v: src_cols[k] for k, v in found.items()}
    parts = []
    for c in spec.columns:
        if c.name in by_name:
            parts.append(f"nullif(trim(cast(\"{by_name[c.name]}\" as varchar)), '') as {c.name}")
        else:
            parts.append(f"cast(null as varchar) as {c.name}")
    return ", ".join(parts)


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", "\t", ";", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_csv(
    con: duckdb.DuckDBPyConnection, path: Path, spec: TableSpec, tmpdir: Path
) -> ReadResult:
    if path.stat().st_size == 0:
        raise FileRejected(path.name, "空文件（没有表头）")
    encoding = detect_encoding(path)
    source = path if encoding == "utf-8" else _transcode(path, encoding, tmpdir)
    with source.open(encoding="utf-8-sig", newline="") as fh:
        first = fh.readline()
    if not first.strip():
        raise FileRejected(path.name, "第 1 行为空：缺少表头")
    delim = _sniff_delimiter(first)
    cells = next(csv.reader(io.StringIO(first), delimiter=delim))
    found, ignored = _map_header(path.name, cells, spec)
    ncols = len(cells)
    src_cols = [f"c{i}" for i in range(ncols)]
    columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in src_cols) + "}"
    con.execute("drop table if exists reject_errors")
    con.execute("drop table if exists reject_scans")
    con.execute(
        f"""
        create or replace temp table src as
        select row_number() over () + 1 as line, {_select_list(found, spec, src_cols)}
        from read_csv(?, header = true, auto_detect = false, columns = {columns},
                      delim = ?, quote = '"', escape = '"', strict_mode = true,
                      store_rejects = true, null_padding = false)
        """,
        [str(source), delim],
    )
    rejects = con.execute(
        """
        select line, csv_line, error_type
        from (select distinct line, csv_line, error_type from reject_errors)
        order by line
        """
    ).fetchall()
    if rejects:
        # Accepted row k sits on line k + 1 + (rejected lines before it): reject j (1-based,
        # by line) has line_j - 1 - j accepted rows before it.
        con.execute("create or replace temp table rej_pos (before_ord bigint)")
        con.executemany(
            "insert into rej_pos values (?)",
            [(int(line) - 1 - j,) for j, (line, _, _) in enumerate(rejects, start=1)],
        )
        con.execute(
            "update src set line = line + (select count(*) from rej_pos where before_ord < line - 1)"
        )
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


def read_xlsx(
    con: duckdb.DuckDBPyConnection, path: Path, spec: TableSpec, tmpdir: Path
) -> list[ReadResult]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileRejected(path.name, f"不是有效的 Excel (xlsx) 文件：{exc}") from exc
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
                problems.append(f"工作表「{ws.title}」未找到表头")
                continue
            cells = [_cell_text(v) or "" for v in head[header_idx]]
            try:
                found, ign = _map_header(f"{path.name}「{ws.title}」", cells, spec)
            except FileRejected as exc:
                problems.append(exc.problem)
                continue
            ignored += ign
            lines: list[int] = []
            cols: dict[str, list[str | None]] = {c.name: [] for c in spec.columns}
            for offset, row in enumerate(rows, start=header_idx + 2):
                if row is None or all(v is None or str(v).strip() == "" for v in row):
                    continue
                lines.append(offset)
                for c in spec.columns:
                    idx = next((k for k, v in found.items() if v == c.name), None)
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
        raise FileRejected(path.name, "；".join(problems) or "工作簿中没有数据表")
    sel = ", ".join(f"nullif(trim({c.name}), '') as {c.name}" for c in spec.columns)

    def loader(table: pa.Table) -> Callable[[], None]:
        def materialise() -> None:
            con.register("xlsx_in", table)
            con.execute(f"create or replace temp table src as select line, {sel} from xlsx_in")
            con.unregister("xlsx_in")

        return materialise

    # Each sheet is its own part with its own row numbers.
    return [
        ReadResult([part], t.num_rows, [], ignored, "xlsx", loader(t))
        for part, t in zip(parts, tables, strict=True)
    ]


def read_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, spec: TableSpec, tmpdir: Path
) -> ReadResult:
    try:
        names = [
            r[0]
            for r in con.execute(
                "select name from parquet_schema(?) where num_children is null", [str(path)]
            ).fetchall()
        ]
    except duckdb.Error as exc:
        raise FileRejected(path.name, f"不是有效的 Parquet 文件：{exc}") from exc
    found, ignored = _map_header(path.name, names, spec)
    src_cols = list(names)
    con.execute(
        f"""
        create or replace temp table src as
        select file_row_number + 1 as line, {_select_list(found, spec, src_cols)}
        from read_parquet(?, file_row_number = true)
        """,
        [str(path)],
    )
    n = con.execute("select count(*) from src").fetchone()[0]
    return ReadResult([path.name], n, [], ignored, "parquet")


READERS = {".csv": read_csv, ".xlsx": read_xlsx, ".parquet": read_parquet}


def read_file(con: duckdb.DuckDBPyConnection, path: Path, spec: TableSpec) -> list[ReadResult]:
    """Read a file into parts (a workbook's sheets; else one part, already in temp table `src`).

    FileRejected if the file cannot be used at all.
    """
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise FileRejected(
            path.name, f"不支持的文件类型 {path.suffix!r}（支持 .csv / .xlsx / .parquet）"
        )
    with tempfile.TemporaryDirectory(prefix="mtb-ingest-") as tmp:
        try:
            res = reader(con, path, spec, Path(tmp))
            return res if isinstance(res, list) else [res]
        except duckdb.InvalidInputException as exc:
            raise FileRejected(path.name, f"无法解析为表格：{str(exc).splitlines()[0]}") from exc
        except OSError as exc:
            raise FileRejected(path.name, f"无法读取：{os.strerror(exc.errno or 0)}") from exc
