"""The one writer of every spreadsheet a person opens (xlsx, CSV with BOM): dashboard downloads
and the command line's lists alike.

Text that a spreadsheet would run as a formula (starting with = + - @, tab or CR) is prefixed with
an apostrophe so a name like `=HYPERLINK(...)` is shown, never executed. The contract's
machine-readable CSVs (pipelines/output.py) keep values exact and are not written here.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # pandas imported where used: a command that needs none loads none
    import pandas as pd


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Excel refuses these in a sheet name, and a name of more than 31 characters
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SHEET_MAX = 31


def neutralise(value: object) -> object:
    """A value as a spreadsheet shows it: formula-looking text becomes plain text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _safe(df: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    return out


def sheet_name(name: str, taken: set[str] | None = None) -> str:
    """A name Excel accepts for a sheet: forbidden characters `[]:*?/\\` become `_`, at most
    31 characters, no leading or trailing apostrophe, never blank, and not one of ``taken``
    (compared as Excel does, ignoring case) — a clash gets `(2)`, `(3)`… within the 31."""
    base = _SHEET_FORBIDDEN.sub("_", str(name)).strip("'").strip() or "数据"
    taken_lower = {t.lower() for t in taken or ()}
    candidate, n = base[:_SHEET_MAX], 1
    while candidate.lower() in taken_lower:
        n += 1
        suffix = f"({n})"
        candidate = base[: _SHEET_MAX - len(suffix)] + suffix
    return candidate


def _sheet(xw: pd.ExcelWriter, df: pd.DataFrame, sheet: str, title: str | None) -> None:
    """One sheet that prints well: an optional title row above the header, the header frozen and
    repeated on every printed page, landscape, fitted to the page width, widths fitted to the
    content (Chinese counts double)."""
    import pandas as pd

    safe = _safe(df)
    top = 1 if title else 0
    safe.to_excel(xw, index=False, sheet_name=sheet, startrow=top)
    ws = xw.sheets[sheet]
    if title:
        ws.write(0, 0, title, xw.book.add_format({"bold": True, "font_size": 14}))
    ws.freeze_panes(top + 1, 0)
    ws.repeat_rows(top)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    for i, col in enumerate(safe.columns):
        # pandas 3 keeps NA as a float through astype(str): write it as the blank it is
        sample = [str(col), *("" if pd.isna(v) else str(v) for v in safe[col].head(500))]
        width = max(sum(2 if ord(ch) > 127 else 1 for ch in s) for s in sample)
        ws.set_column(i, i, min(max(width + 2, 8), 60))


def write_sheets(
    sheets: dict[str, pd.DataFrame], target: str | Path | BinaryIO, title: str | None = None
) -> None:
    """Several frames as the sheets of one xlsx (names made safe and unique), each with the title."""
    import pandas as pd

    with pd.ExcelWriter(
        target,
        engine="xlsxwriter",
        datetime_format="yyyy-mm-dd hh:mm:ss",
        date_format="yyyy-mm-dd",
    ) as xw:
        taken: set[str] = set()
        for name, df in sheets.items():
            sheet = sheet_name(name, taken)
            taken.add(sheet)
            _sheet(xw, df, sheet, title)


def to_xlsx(df: pd.DataFrame, sheet: str = "数据", title: str | None = None) -> bytes:
    """One sheet (see `_sheet`); `title` (e.g. the period and the download date) above the header."""
    buf = io.BytesIO()
    write_sheets({sheet: df}, buf, title=title)
    return buf.getvalue()


def to_csv_bom(df: pd.DataFrame) -> bytes:
    """UTF-8 with BOM so Excel and WPS show Chinese."""
    return _safe(df).to_csv(index=False).encode("utf-8-sig")


def write_sheet(df: pd.DataFrame, path: str | Path, sheet: str = "数据") -> Path:
    """Write the frame as .xlsx or (any other suffix) CSV with BOM, atomically."""
    target = Path(path)
    data = to_xlsx(df, sheet) if target.suffix.lower() == ".xlsx" else to_csv_bom(df)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
