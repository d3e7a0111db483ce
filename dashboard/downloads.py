"""Downloads that open in Excel and WPS: xlsx with Chinese headers and widths, CSV with BOM.

Text that a spreadsheet would run as a formula (starting with = + - @, tab or CR) is prefixed with
an apostrophe so a name like `=HYPERLINK(...)` is shown, never executed.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re

import pandas as pd
import streamlit as st

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _safe(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    return out


# Excel refuses these in a sheet name, and a name of more than 31 characters
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SHEET_MAX = 31
# and these in a file name on Windows (a hospital's name goes into both)
_FILE_FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


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


def to_xlsx(df: pd.DataFrame, sheet: str = "数据") -> bytes:
    """One sheet, frozen header, widths fitted to the content (Chinese counts double)."""
    buf = io.BytesIO()
    safe = _safe(df)
    sheet = sheet_name(sheet)
    with pd.ExcelWriter(
        buf, engine="xlsxwriter", datetime_format="yyyy-mm-dd hh:mm:ss", date_format="yyyy-mm-dd"
    ) as xw:
        safe.to_excel(xw, index=False, sheet_name=sheet)
        ws = xw.sheets[sheet]
        ws.freeze_panes(1, 0)
        for i, col in enumerate(safe.columns):
            # pandas 3 keeps NA as a float through astype(str): write it as the blank it is
            sample = [str(col), *("" if pd.isna(v) else str(v) for v in safe[col].head(500))]
            width = max(sum(2 if ord(ch) > 127 else 1 for ch in s) for s in sample)
            ws.set_column(i, i, min(max(width + 2, 8), 60))
    return buf.getvalue()


def to_csv_bom(df: pd.DataFrame) -> bytes:
    """UTF-8 with BOM so Excel and WPS show Chinese."""
    return _safe(df).to_csv(index=False).encode("utf-8-sig")


def file_stem(what: str, period: str | None = None) -> str:
    """抽查名单_2026Q3_20261005: what, the period, and the day it was made."""
    parts = [what, *([period] if period else []), dt.date.today().strftime("%Y%m%d")]
    return _FILE_FORBIDDEN.sub("_", "_".join(parts))


def _audit(what: str, file_name: str, rows: int, personal: str) -> None:
    from dashboard.common import con, user
    from pipelines.audit import log_download

    u = user()
    log_download(con(), u.username, u.role, what, file_name, rows, personal)


def download_buttons(
    df: pd.DataFrame, what: str, period: str | None = None, key: str = "dl"
) -> None:
    """An xlsx and a CSV button for the frame (same columns as on screen), each audited.

    Personal columns are masked unless the user's role allows the full view.
    """
    from dashboard.common import PERSONAL_COLUMNS, full_personal_data, mask_frame

    has_personal = any(c in PERSONAL_COLUMNS for c in df.columns)
    full = full_personal_data()
    df = mask_frame(df, full)
    personal = "none" if not has_personal else ("full" if full else "masked")
    stem = file_stem(what, period)
    # the files are built when a button is clicked, not on every run of the page
    c1, c2 = st.columns(2)
    c1.download_button(
        "下载 Excel (xlsx)",
        functools.partial(to_xlsx, df, what),
        file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}-xlsx",
        on_click=_audit,
        args=(what, f"{stem}.xlsx", len(df), personal),
    )
    c2.download_button(
        "下载 CSV",
        functools.partial(to_csv_bom, df),
        file_name=f"{stem}.csv",
        mime="text/csv",
        key=f"{key}-csv",
        on_click=_audit,
        args=(what, f"{stem}.csv", len(df), personal),
    )
