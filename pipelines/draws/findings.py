"""ZZ-SPOTCHECK findings: the retrieval list out, the filled-in list back, a summary per hospital.

Findings are append-only (`spot_check_findings`); importing a corrected list adds rows, and the
view `spot_check_findings_latest` keeps the latest finding per (draw, case). A file is imported
all or nothing: the first bad value stops it with its line number. Rows whose 抽查结论 is empty
(not checked yet) are skipped.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.db import begin, commit, sql
from pipelines.draws import log
from pipelines.draws.engine import current_state
from pipelines.errors import DataError, UsageError

if TYPE_CHECKING:
    import pyarrow as pa

RESULTS = ("合格", "不合格")
# TY-REVIEW findings are written 符合 / 不符合 (复核结论); stored in the spot-check words
REVIEW_WORDS = {"符合": "合格", "不符合": "不合格"}
HEADERS = {
    "case_id": ("申报编号", "case_id"),
    "result": ("抽查结论", "复核结论", "result"),
    "recover_yuan": ("追回金额", "追回金额（元）", "追回金额(元)", "recover_yuan"),
    "note": ("备注", "note"),
}
FINDING_KINDS = ("spot_check", "review_cases", "targeted")
_MONEY_NOISE = re.compile(r"[,，\s¥￥元]")


@dataclasses.dataclass(frozen=True)
class ImportResult:
    """How many findings were recorded and how many rows were skipped (no 抽查结论 yet)."""

    recorded: int
    skipped: int


def _picks_table(con: duckdb.DuckDBPyConnection, draw_id: str) -> pa.Table:
    import pyarrow as pa

    rec = log.get_record(con, draw_id)
    if rec.kind not in FINDING_KINDS:
        raise UsageError(f"记录 {draw_id} 不是病例抽查记录（类型 {rec.kind}）")
    picks = current_state(con, draw_id).picks
    return pa.table(
        {
            "case_id": pa.array([p.id for p in picks], pa.string()),
            "hospital_id": pa.array([p.hospital_id for p in picks], pa.string()),
            "rank": pa.array([p.rank for p in picks], pa.int64()),
        }
    )


def _query(
    con: duckdb.DuckDBPyConnection,
    draw_id: str,
    name: str,
    params: dict[str, Any],
    tables: dict[str, pa.Table] | None = None,
) -> pa.Table:
    """Run a draw query with the draw's picks as view draw_picks (and `tables` by their names)."""
    log.ensure_tables(con)
    picks = _picks_table(con, draw_id)
    cur = con.cursor()
    try:
        cur.register("draw_picks", picks)
        for view, table in (tables or {}).items():
            cur.register(view, table)
        return cur.execute(sql(name), params).to_arrow_table()
    finally:
        cur.close()


def retrieval_list(
    con: duckdb.DuckDBPyConnection, draw_id: str, district: str | None = None
) -> pa.Table:
    """The drawn cases of a draw with Chinese headers and empty finding columns (调阅清单);
    with `district`, only that district's hospitals (filtered in SQL)."""
    return _query(con, draw_id, "draw_retrieval_list", {"district": district})


def write_retrieval_list(con: duckdb.DuckDBPyConnection, draw_id: str, path: str | Path) -> int:
    """Write the retrieval list as .xlsx or as .csv with BOM (opens in Excel/WPS)."""
    from pipelines.sheets import write_sheet

    df = retrieval_list(con, draw_id).to_pandas()
    write_sheet(df, path, sheet="抽查名单")
    return len(df)


def _read_rows(path: Path) -> list[tuple[int, list[Any]]]:
    """(line number, cells) of every row of a CSV (UTF-8 or GB18030) or of an xlsx's first sheet."""
    if not path.exists():
        raise UsageError(f"文件不存在：{path}")
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        try:
            return [
                (i, list(r)) for i, r in enumerate(wb.worksheets[0].iter_rows(values_only=True), 1)
            ]
        finally:
            wb.close()
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DataError(f"{path.name}：无法识别文件编码（应为 UTF-8 或 GBK）")
    return list(enumerate(csv.reader(io.StringIO(text, newline="")), 1))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _money(value: Any, where: str) -> Decimal:
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = repr(value)
    else:
        text = _MONEY_NOISE.sub("", _cell(value))
    if not text:
        return Decimal("0.00")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise DataError(f"{where}：追回金额 {_cell(value)!r} 不是金额") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise DataError(f"{where}：追回金额 {_cell(value)!r} 应为不小于 0、最多两位小数的金额")
    return amount.quantize(Decimal("0.01"))


def _header(rows: list[tuple[int, list[Any]]], name: str) -> tuple[int, dict[str, int]]:
    """The header row (the first with 申报编号 / case_id) and the column of each field."""
    for i, (_, cells) in enumerate(rows):
        names = [_cell(c) for c in cells]
        cols = {
            field: next((names.index(a) for a in aliases if a in names), -1)
            for field, aliases in HEADERS.items()
        }
        if cols["case_id"] >= 0:
            if cols["result"] < 0:
                raise DataError(f"{name}：缺少“抽查结论”列")
            return i, cols
    raise DataError(f"{name}：未找到表头（应含“申报编号”“抽查结论”“追回金额”“备注”列）")


def parse_findings(path: str | Path, picked: set[str]) -> tuple[list[dict[str, Any]], int]:
    """Validated findings of a filled-in list (line, case_id, result, recover_yuan, note)."""
    p = Path(path)
    rows = _read_rows(p)
    start, cols = _header(rows, p.name)
    seen: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    skipped = 0
    for line, cells in rows[start + 1 :]:

        def get(field: str, cells: list[Any] = cells) -> Any:
            j = cols[field]
            return cells[j] if 0 <= j < len(cells) else None

        case_id, result = _cell(get("case_id")), _cell(get("result"))
        result = REVIEW_WORDS.get(result, result)
        where = f"{p.name} 第 {line} 行"
        if not case_id and not result:
            continue
        if not case_id:
            raise DataError(f"{where}：缺少申报编号")
        if case_id not in picked:
            raise DataError(f"{where}：申报编号 {case_id} 不在本次抽查名单中")
        if case_id in seen:
            raise DataError(f"{where}：申报编号 {case_id} 与第 {seen[case_id]} 行重复")
        seen[case_id] = line
        if not result:
            skipped += 1
            continue
        if result not in RESULTS:
            raise DataError(
                f"{where}：抽查结论应为“合格”或“不合格”（季度复核也可写“符合”或“不符合”），实际为 {result!r}"
            )
        amount = _money(get("recover_yuan"), where)
        if result == "合格" and amount > 0:
            raise DataError(f"{where}：抽查结论为合格，追回金额应为 0，实际为 {amount}")
        note = _cell(get("note")) or None
        out.append(
            {
                "line": line,
                "case_id": case_id,
                "result": result,
                "recover_yuan": amount,
                "note": note,
            }
        )
    return out, skipped


def import_findings(
    con: duckdb.DuckDBPyConnection,
    draw_id: str,
    path: str | Path,
    *,
    recorded_by: str | None = None,
    at: dt.datetime | None = None,
) -> ImportResult:
    """Append the findings of a filled-in retrieval list (xlsx or CSV) to a draw, all or nothing."""
    log.ensure_tables(con)
    picked = set(_picks_table(con, draw_id).column("case_id").to_pylist())
    findings, skipped = parse_findings(path, picked)
    when = at or dt.datetime.now()
    begin(con)
    try:
        for f in findings:
            con.execute(
                "insert into spot_check_findings values "
                "(nextval('seq_spot_check_finding'), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    draw_id,
                    f["case_id"],
                    f["result"],
                    f["recover_yuan"],
                    f["note"],
                    recorded_by,
                    when,
                    Path(path).name,
                    f["line"],
                ],
            )
        commit(con)
    except BaseException:
        con.execute("rollback")
        raise
    return ImportResult(recorded=len(findings), skipped=skipped)


def findings_summary(
    con: duckdb.DuckDBPyConnection, draw_id: str, district: str | None = None
) -> pa.Table:
    """Per hospital: drawn, checked, 合格, 不合格 and the amount to recover (latest findings);
    with `district`, only that district's hospitals (filtered in SQL)."""
    params = {"draw_id": draw_id, "district": district}
    return _query(con, draw_id, "draw_findings_summary", params)
