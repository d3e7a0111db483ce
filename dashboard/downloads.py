"""Audited download buttons: xlsx with Chinese headers and widths, CSV with BOM.

The files themselves are made by pipelines/sheets.py, the one writer of every spreadsheet the
product makes (formulas neutralised), so the command line's lists are the same.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable

import pandas as pd
import streamlit as st

from pipelines.sheets import to_csv_bom, to_xlsx

# Windows refuses these in a file name (a hospital's name goes into it)
_FILE_FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


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
    df: pd.DataFrame,
    what: str,
    period: str | None = None,
    key: str = "dl",
    title: str | None = None,
    every: tuple[Callable[[], pd.DataFrame], int] | None = None,
) -> None:
    """An xlsx and a CSV button for the frame (same columns as on screen), each audited.

    Personal columns are masked unless the user's role allows the full view. `title` (what,
    the period, the download date) goes above the xlsx's header for printing. `every` (rows
    read on the click, their number) is the whole list when the frame holds only its head.
    """
    from dashboard.common import PERSONAL_COLUMNS, full_personal_data, mask_frame

    has_personal = any(c in PERSONAL_COLUMNS for c in df.columns)
    full = full_personal_data()
    read, rows = every or ((lambda: df), len(df))
    personal = "none" if not has_personal else ("full" if full else "masked")
    stem = file_stem(what, period)

    def masked() -> pd.DataFrame:
        return mask_frame(read(), full)

    # the files are built when a button is clicked, not on every run of the page
    c1, c2 = st.columns(2)
    c1.download_button(
        "下载 Excel (xlsx)",
        lambda: to_xlsx(masked(), what, title),
        file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}-xlsx",
        on_click=_audit,
        args=(what, f"{stem}.xlsx", rows, personal),
    )
    c2.download_button(
        "下载 CSV",
        lambda: to_csv_bom(masked()),
        file_name=f"{stem}.csv",
        mime="text/csv",
        key=f"{key}-csv",
        on_click=_audit,
        args=(what, f"{stem}.csv", rows, personal),
    )


def book_button(
    sheets: dict[str, pd.DataFrame],
    what: str,
    period: str | None,
    key: str,
    title: str | None = None,
    label: str = "下载 Excel (xlsx)",
) -> None:
    """One audited xlsx of several sheets (personal columns masked unless the role allows)."""
    from dashboard.common import PERSONAL_COLUMNS, full_personal_data, mask_frame
    from pipelines.sheets import write_sheets

    full = full_personal_data()
    masked = {name: mask_frame(df, full) for name, df in sheets.items()}
    has_personal = any(c in PERSONAL_COLUMNS for df in sheets.values() for c in df.columns)
    personal = "none" if not has_personal else ("full" if full else "masked")
    stem = file_stem(what, period)

    def build() -> bytes:
        buf = io.BytesIO()
        write_sheets(masked, buf, title=title)
        return buf.getvalue()

    st.download_button(
        label,
        build,
        file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=key,
        on_click=_audit,
        args=(what, f"{stem}.xlsx", sum(len(df) for df in sheets.values()), personal),
    )


def pdf_button(
    build: Callable[[], bytes], what: str, period: str | None, key: str, label: str
) -> None:
    """One audited PDF, built when the button is clicked (no personal data in it)."""
    stem = file_stem(what, period)
    st.download_button(
        label,
        build,
        file_name=f"{stem}.pdf",
        mime="application/pdf",
        key=key,
        on_click=_audit,
        args=(what, f"{stem}.pdf", 0, "none"),
    )
