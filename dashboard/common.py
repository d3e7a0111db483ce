"""Shared pieces of every page: the warehouse connection, cached queries, formatting, masking.

Pages hold no business logic: they call pipelines functions or read the marts those functions
materialise, filter, show and download.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from pipelines.config import DEFAULT_DB, DEFAULT_PROFILE, load_profile
from pipelines.rules.kpis import loaded_cases


def _cli_option(name: str, default: str) -> str:
    return _parsed_option(name, default, tuple(sys.argv[1:]))


@functools.lru_cache(maxsize=64)
def _parsed_option(name: str, default: str, argv: tuple[str, ...]) -> str:
    """Parsed once per arguments (argparse costs ~2 ms a call, dozens of calls a page run)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(f"--{name}", default=default)
    args, _ = parser.parse_known_args(list(argv))
    return getattr(args, name)


def db_path() -> Path:
    """The warehouse file: `-- --db PATH` after `streamlit run`, else $MTB_DB, else the default."""
    return Path(_cli_option("db", os.environ.get("MTB_DB", str(DEFAULT_DB))))


def profile_name() -> str:
    return _cli_option("profile", os.environ.get("MTB_PROFILE", DEFAULT_PROFILE))


def profile():
    return load_profile(profile_name())


@st.cache_resource
def _connection(path: str) -> duckdb.DuckDBPyConnection:
    from pipelines.db import connect

    return connect(path)


def con() -> duckdb.DuckDBPyConnection:
    """A cursor (one per query / thread) on this page run's snapshot when served
    (dashboard/consistency.py), else on the process-wide connection."""
    from dashboard.consistency import gate, reads_snapshots

    if reads_snapshots():
        return gate().cursor()
    return _connection(str(db_path())).cursor()


# Rows a page's grid (and a choice list) shows at most; the downloads always hold every row.
TABLE_ROWS = 2000

_VERSION_PARTS = {
    "mart_meta": "select cast(max(refreshed_at) as varchar) from mart_meta",
    "draw_log": "select cast(count(*) as varchar) from draw_log",
    "spot_check_findings": "select cast(count(*) as varchar) from spot_check_findings",
}
_present: dict[str, set[str]] = {}  # per warehouse: the tables above that exist (never dropped)


_by_snapshot: dict[str, str] = {}  # snapshot name -> its data version (a snapshot never changes)


def data_version() -> str:
    """Changes whenever a load, a mart refresh or a draw lands, so cached reads are redone.

    Served from snapshots, computed once per snapshot: a snapshot published for a write that
    changes none of it (the download log) keeps the cached reads."""
    from dashboard.consistency import gate, reads_snapshots

    if not reads_snapshots():
        return _content_version()
    name = gate().pinned().name
    if name not in _by_snapshot:
        if len(_by_snapshot) > 100:
            _by_snapshot.clear()
        _by_snapshot[name] = _content_version()
    return _by_snapshot[name]


def _content_version() -> str:
    """One statement per call (every cached read asks): the tables created later than the schema
    are looked up only until all of them exist."""
    c = con()
    path = str(db_path())
    present = _present.get(path, set())
    if len(present) < len(_VERSION_PARTS):
        present = {
            r[0]
            for r in c.execute(
                "select table_name from information_schema.tables where table_name in (?, ?, ?) "
                "and table_catalog = current_database()",
                list(_VERSION_PARTS),
            ).fetchall()
        }
        _present[path] = present
    parts = ["select cast(coalesce(max(load_id), 0) as varchar) from load_log"]
    parts += [q for t, q in _VERSION_PARTS.items() if t in present]
    row = c.execute("select " + ", ".join(f"({q})" for q in parts)).fetchone()
    return "|".join(str(v) for v in row)


@st.cache_data(ttl=600, show_spinner=False)
def _query(sql: str, params: tuple, version: str, path: str) -> pd.DataFrame:
    return con().execute(sql, list(params)).df()


def query(sql: str, params: list | tuple = ()) -> pd.DataFrame:
    """A cached read; the cache key includes the data version."""
    return _query(sql, tuple(params), data_version(), str(db_path()))


def list_head(sql: str, params: list | tuple = ()) -> tuple[pd.DataFrame, int]:
    """A list too long for a grid: its first TABLE_ROWS rows in the order of its SQL (which ends
    with its `order by`) and how many rows it has, both cached reads. The grid shows the head
    (`head_note` under it); the download reads every row (`list_rows`)."""
    total = int(query(f"select count(*) as n from ({sql})", params)["n"].iloc[0])
    return query(f"{sql}\nlimit {TABLE_ROWS}", params), total


def list_rows(sql: str, params: list | tuple = ()) -> Callable[[], pd.DataFrame]:
    """Every row of a list, read when called (a download button's click) from this run's data."""
    cursor, args = con(), list(params)
    return lambda: cursor.execute(sql, args).df()


def head_note(shown: int, total: int) -> None:
    """The Chinese note under a grid showing only the first rows of a list."""
    if shown < total:
        st.caption(f"表中显示前 {num(shown)} 行（共 {num(total)} 行），完整名单请下载。")


def table_exists(name: str) -> bool:
    return bool(
        con()
        .execute("select count(*) from information_schema.tables where table_name = ?", [name])
        .fetchone()[0]
    )


# ---- formatting -------------------------------------------------------------------------


def num(n: Any) -> str:
    """12,345 (thousands separators)."""
    if n is None or (isinstance(n, float) and pd.isna(n)):
        return "—"
    return f"{int(n):,}"


def pct(x: Any) -> str:
    """A share as a percentage with one decimal: 0.0523 → 5.2%."""
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "—"
    return f"{float(x) * 100:.1f}%"


def cn_date(d: dt.date | dt.datetime | None) -> str:
    return "—" if d is None else f"{d.year}年{d.month}月{d.day}日"


# ---- personal data -------------------------------------------------------------------------


def mask_id(pid: str | None) -> str | None:
    """410105199001011234 → 410105********1234."""
    if pid is None or (isinstance(pid, float) and pd.isna(pid)):
        return None
    s = str(pid)
    return s[:6] + "*" * max(len(s) - 10, 0) + s[-4:] if len(s) > 10 else "*" * len(s)


def mask_name(name: str | None) -> str | None:
    """张三 → 张*; 欧阳娜娜 → 欧***."""
    if name is None or (isinstance(name, float) and pd.isna(name)):
        return None
    s = str(name)
    return s[:1] + "*" * (len(s) - 1) if s else s


def mask_phone(phone: str | None) -> str | None:
    """13812345678 → 138****5678; a short number keeps only its last 2 digits."""
    if phone is None or (isinstance(phone, float) and pd.isna(phone)):
        return None
    s = str(phone)
    return s[:3] + "*" * (len(s) - 7) + s[-4:] if len(s) >= 11 else "*" * (len(s) - 2) + s[-2:]


_MASKS = {
    "person_id": mask_id,
    "身份证号": mask_id,
    "person_name": mask_name,
    "姓名": mask_name,
    "phone": mask_phone,
    "联系电话": mask_phone,
}
PERSONAL_COLUMNS = tuple(_MASKS)


def user():
    """The logged-in user (the app shows only the login form until there is one)."""
    from dashboard.auth import current_user

    u = current_user()
    if u is None:
        st.stop()
    return u


def scope_district() -> str | None:
    """The district the user is limited to (enforced in every query), or None for all."""
    return user().scope_district


def full_personal_data() -> bool:
    return user().perms.full_personal_data


def district_filter(hospital_alias: str = "h") -> tuple[str, list]:
    """SQL condition and parameters limiting rows to the user's district (true for city roles)."""
    d = scope_district()
    if d is None:
        return "true", []
    return f"{hospital_alias}.district = ?", [d]


OTHER_DISTRICT_CASE = "其他区县病例"


def case_id_in_scope(column: str) -> tuple[str, list]:
    """SQL expression and parameters showing the case id in `column` (a select list item): for a
    district user, a case submitted by a hospital outside the district (reviewed by one of the
    district's experts) is shown as 「其他区县病例」 instead of its id; unchanged for city roles."""
    d = scope_district()
    if d is None:
        return column, []
    return (
        f"""case when {column} is null or {column} in (
                select sc.case_id from dim_cases as sc where sc.district = ?)
            then {column} else '{OTHER_DISTRICT_CASE}' end""",
        [d],
    )


_ID_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")


def case_ids_in_text_in_scope(texts: pd.Series) -> pd.Series:
    """Texts (e.g. a violation's detail naming earlier cases) with every case id of another
    district replaced by 「其他区县病例」 for a district user; unchanged for city roles."""
    d = scope_district()
    if d is None or texts.empty:
        return texts
    tokens = sorted({t for text in texts.dropna() for t in _ID_TOKEN.findall(str(text))})
    if not tokens:
        return texts
    foreign = set(
        query(
            "select c.case_id from dim_cases as c "
            "where list_contains(?, c.case_id) and c.district is distinct from ?",
            [tokens, d],
        )["case_id"]
    )
    if not foreign:
        return texts
    pattern = re.compile("|".join(re.escape(t) for t in sorted(foreign, key=len, reverse=True)))
    return texts.map(lambda t: t if pd.isna(t) else pattern.sub(OTHER_DISTRICT_CASE, str(t)))


def mask_frame(df: pd.DataFrame, full: bool | None = None) -> pd.DataFrame:
    """Mask the personal columns of a frame unless the role allows the full view."""
    if full is None:
        full = full_personal_data()
    if full:
        return df
    out = df.copy()
    for col in out.columns:
        if col in _MASKS:
            out[col] = out[col].map(_MASKS[col])
    return out


# ---- text from data and forms --------------------------------------------------------------

# Every ASCII punctuation character may be backslash-escaped in Markdown (CommonMark); escaping
# all of them also stops Streamlit's own syntax (`:red[…]`, `:material/…:`, `$…$`).
_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def literal(value: Any) -> str:
    """A value from data or a form, to be put into Markdown (st.markdown, st.caption, a label,
    a message): shown literally — no image fetched, no link, no bold, no HTML."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    return _MD_SPECIAL.sub(r"\\\1", str(value)).replace("\n", " ")


def page_header(title: str, caption: str | None = None) -> None:
    st.title(title)
    if caption:
        st.caption(caption)


def need_data() -> bool:
    """Stop the page with a clear message when nothing has been loaded yet."""
    if loaded_cases(con()) == 0:
        st.info(
            "数据库中还没有申报数据。请在「数据」页上传平台导出文件，或运行 `make run` 生成演示数据。"
        )
        return False
    return True
