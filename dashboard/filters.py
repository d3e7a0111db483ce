"""Filters shared by the monitoring pages (period, district, hospital, specialty) and mart status.

Every condition a page puts in its SQL comes from `Filters.where`, which always starts with the
user's district scope (`dashboard.common.district_filter`): a district user's rows are limited in
the query itself, never by hiding them on screen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard.common import district_filter, literal, query, scope_district, table_exists
from pipelines.evaltime import EvalTime

ALL = "全部"


@dataclass(frozen=True)
class Filters:
    """What the user picked; None means no restriction."""

    year: int | None = None
    month: int | None = None
    district: str | None = None
    hospital_id: str | None = None
    specialty: str | None = None

    @property
    def period(self) -> str | None:
        """For file names: 2026-10, 2026, or None for all time."""
        if self.year is None:
            return None
        return f"{self.year}-{self.month:02d}" if self.month else str(self.year)

    @property
    def month_key(self) -> str | None:
        """The chosen month as the marts write it (2026-10), or None."""
        return f"{self.year}-{self.month:02d}" if self.year and self.month else None

    @property
    def period_label(self) -> str:
        if self.year is None:
            return "全部时间"
        return f"{self.year}年{self.month}月" if self.month else f"{self.year}年"

    def bounds(self, use_month: bool = True) -> tuple[dt.datetime, dt.datetime] | None:
        """[start, end) of the chosen period, or None when no year is chosen."""
        if self.year is None:
            return None
        if self.month and use_month:
            start = dt.datetime(self.year, self.month, 1)
            end = dt.datetime(self.year + self.month // 12, self.month % 12 + 1, 1)
            return start, end
        return dt.datetime(self.year, 1, 1), dt.datetime(self.year + 1, 1, 1)

    def where(
        self,
        hospital: str = "h",
        at: str | None = None,
        specialty: str | None = None,
        use_month: bool = True,
    ) -> tuple[str, list]:
        """SQL condition and parameters: scope, district, hospital, specialty, period.

        `hospital` is the alias of a joined dim_hospitals (or a mart with hospital_id, district); `at` the time column the period applies
        to; `specialty` the specialty column. Conditions whose column is not given are skipped.
        """
        scope_sql, scope_params = district_filter(hospital)
        conds, params = [scope_sql], list(scope_params)
        if self.district:
            conds.append(f"{hospital}.district = ?")
            params.append(self.district)
        if self.hospital_id:
            conds.append(f"{hospital}.hospital_id = ?")
            params.append(self.hospital_id)
        if specialty and self.specialty:
            conds.append(f"{specialty} = ?")
            params.append(self.specialty)
        span = self.bounds(use_month)
        if at and span:
            conds.append(f"{at} >= ? and {at} < ?")
            params.extend(span)
        return " and ".join(conds), params


def _options(sql: str, params: list) -> list:
    return query(sql, params).iloc[:, 0].tolist()


def _select(label: str, options: list, key: str, default=ALL, **kwargs):
    """A selectbox whose choice survives page switches and falls back when no longer offered."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default if default in options else options[0]
    else:
        # re-assigning keeps Streamlit from dropping the value when the page changes
        st.session_state[key] = st.session_state[key]
    return st.selectbox(label, options, key=key, **kwargs)


def sidebar_filters(month: bool = True, specialty: bool = True) -> Filters:
    """The filter widgets in the sidebar (same keys on every page, so choices carry over)."""
    scope_sql, scope_params = district_filter("h")
    years = _options(
        f"""
        select distinct cast(year(h.submitted_at) as integer) as y
        from dim_cases as h
        where {scope_sql} and h.submitted_at is not null
        order by y desc
        """,
        scope_params,
    )
    meta = evaluation()
    if meta is not None and meta.as_of.year not in years:
        years = sorted({*years, meta.as_of.year}, reverse=True)
    districts = _options(
        f"select distinct h.district from dim_hospitals as h where {scope_sql} order by 1",
        scope_params,
    )
    locked = scope_district() is not None
    with st.sidebar:
        st.subheader("筛选")
        year = _select(
            "年度",
            [ALL, *years],
            "f-year",
            default=meta.as_of.year if meta is not None else ALL,
            format_func=lambda y: y if y == ALL else f"{y}年",
        )
        chosen_month = ALL
        if month:
            chosen_month = _select(
                "月份",
                [ALL, *range(1, 13)],
                "f-month",
                format_func=lambda m: m if m == ALL else f"{m}月",
                disabled=year == ALL,
            )
        district = _select(
            "区县",
            districts if locked else [ALL, *districts],
            "f-district",
            disabled=locked,
            help="区县用户只能查看本区县的数据。" if locked else None,
        )
        hosp_sql, hosp_params = scope_sql, list(scope_params)
        if district != ALL:
            hosp_sql += " and h.district = ?"
            hosp_params.append(district)
        hospitals = query(
            f"""
            select h.hospital_id, h.hospital_name from dim_hospitals as h
            where {hosp_sql} order by h.hospital_name, h.hospital_id
            """,
            hosp_params,
        )
        names = dict(zip(hospitals.hospital_id, hospitals.hospital_name, strict=True))
        hospital = _select(
            "医院", [ALL, *names], "f-hospital", format_func=lambda k: names.get(k, k)
        )
        chosen_specialty = ALL
        if specialty:
            specialties = _options(
                "select distinct specialty from ref_diseases where specialty is not null "
                "order by 1",
                [],
            )
            chosen_specialty = _select("专科", [ALL, *specialties], "f-specialty")
    return Filters(
        year=None if year == ALL else int(year),
        month=None if year == ALL or chosen_month == ALL else int(chosen_month),
        district=None if district == ALL else district,
        hospital_id=None if hospital == ALL else hospital,
        specialty=None if chosen_specialty == ALL else chosen_specialty,
    )


# ---- the marts' evaluation time ----------------------------------------------------------------


def marts_ready() -> bool:
    return table_exists("mart_meta")


def evaluation() -> pd.Series | None:
    """mart_meta's row (as_of = facts instant, eval_at, data_cutoff, profile, refreshed_at), or
    None when the marts were never built."""
    if not marts_ready():
        return None
    meta = query("select as_of, eval_at, data_cutoff, profile, refreshed_at from mart_meta")
    return None if meta.empty else meta.iloc[0]


def eval_time(meta: pd.Series) -> EvalTime:
    """The evaluation time the marts were computed at and the cut-off they saw (DATA-CUTOFF)."""
    cutoff = None if pd.isna(meta.data_cutoff) else meta.data_cutoff.to_pydatetime()
    return EvalTime(meta.eval_at.to_pydatetime(), cutoff)


def today() -> dt.date:
    """Today's date (a function, so tests can set it)."""
    return dt.date.today()


def _stamp(t: dt.datetime | None) -> str:
    return "—" if t is None else f"{t:%Y-%m-%d %H:%M:%S}"


def profile_label(name: str) -> str:
    """The profile's Chinese name (郑州市 / 太原市) for a profile id stored with the marts."""
    from pipelines.config import load_profile, profile_names

    return load_profile(name).label if name in profile_names() else name


def as_of_caption() -> str:
    meta = evaluation()
    if meta is None:
        return "规则结果尚未计算。"
    when = eval_time(meta)
    text = (
        f"数据截止时间：{_stamp(when.cutoff)}；评估时间：{_stamp(when.eval_at)}"
        f"（规则配置 {literal(profile_label(meta.profile))}，计算于 {meta.refreshed_at:%Y-%m-%d %H:%M}）"
    )
    return text if (note := when.note()) is None else f"{text}  \n{note}"


def stale_warning() -> None:
    """A banner when the data cut-off is more than 2 calendar days before today (DATA-CUTOFF)."""
    meta = evaluation()
    if meta is None or (days := eval_time(meta).stale_days(today())) is None:
        return
    st.warning(
        f"数据截止时间 {_stamp(eval_time(meta).cutoff)} 已是 {days} 天前：看板显示的是该时刻导出的"
        "数据，之后的响应、办结与新申报均未包含。请导入最新的平台导出数据。",
        icon=":material/history:",
    )


def evaluation_caption() -> None:
    """The cut-off and evaluation time under a page's title, and the stale-export banner."""
    st.caption(as_of_caption())
    stale_warning()


def require_marts(*tables: str) -> pd.Series:
    """Stop the page with a clear message when the rule results it reads are not there: never
    computed, or left out because they need a year the working-day calendar does not cover."""
    meta = evaluation()
    if meta is None:
        st.warning(
            "规则结果（超时、扣分、违规等）尚未计算。请在「总览」页由市级用户点击「重新计算」。"
        )
        st.page_link("views/home.py", label="前往总览", icon=":material/dashboard:")
        st.stop()
    gaps = query("select mart, year from mart_gaps") if table_exists("mart_gaps") else None
    missing = [t for t in tables if not table_exists(t)]
    if missing:
        years = sorted({int(y) for y in gaps["year"]}) if gaps is not None and len(gaps) else []
        if years:
            st.error(
                f"本页需要 {'、'.join(str(y) for y in years)} 年的工作日日历，但日历尚未包含该年，"
                "相关结果未计算。请在 data/reference/calendar_overrides.csv 中补充该年国务院公布的"
                "节假日安排（见 data/reference/README.md），然后在「总览」页重新计算。其他页面不受影响。"
            )
        else:
            st.warning("本页所需的规则结果尚未计算。请在「总览」页重新计算。")
        st.stop()
    return meta


# ---- rows shared by several pages ---------------------------------------------------------------

VIOLATION_ROWS = """
    from mart_violation_events as v
    left join dim_hospitals as h on h.hospital_id = v.hospital_id
"""


def violation_where(f: Filters) -> tuple[str, list]:
    """Conditions on VIOLATION_ROWS: a breach falls in the period of the instant the engine counts
    it at (mart_violation_events.counted_at: its task's push, else its case's submission, else the
    evaluation time)."""
    return f.where(at="v.counted_at", specialty="v.specialty")
