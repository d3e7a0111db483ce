"""认定时效与专家组 (太原) — Taiyuan's measures per hospital: the certification cycle (TY-CYCLE),
publicity (TY-PUBLICITY), entry (TY-ENTRY), panel compliance (TY-PANEL), re-certification
timeliness (TY-RECERT) and the TY-PENALTY breaches, with the cases and requests behind them.

Reads mart_ty_hospital, mart_ty_cases, mart_ty_recerts and (for the on-time rates, defined once in
kpis.RATES) mart_ty_monthly_kpis only; a district user sees the
district's hospitals.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.charts import show_table
from dashboard.common import need_data, num, page_header, pct, query, scope_district
from dashboard.downloads import download_buttons
from dashboard.filters import evaluation_caption, require_marts
from pipelines.rules.kpis import rate

HOSPITAL_COLUMNS = {
    "hospital_id": "医院编码",
    "hospital_name": "医院名称",
    "district": "区县",
    "quota_cases": "定额认定病例",
    "cycle_late": "认定周期超时",
    "publicity_breaches": "公示不合规",
    "entry_late": "录入超时",
    "panel_breaches": "专家组不合规病例",
    "recerts": "重新认定",
    "recerts_late": "重新认定超时",
    "penalty_breaches": "违反处理决定",
}
TIME = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")


def scoped(mart: str, order: str) -> pd.DataFrame:
    """A Taiyuan mart's rows in the user's district (all for city roles)."""
    d = scope_district()
    where, params = ("district = ?", [d]) if d else ("true", [])
    return query(f"select * from {mart} where {where} order by {order}", params)


RATE_COUNTS = ("cycle_due", "cycle_on_time", "recerts_due", "recerts_on_time")


def due_counts() -> dict[str, dict[str, int]]:
    """hospital → the counts behind its on-time rates, over every month (mart_ty_monthly_kpis:
    a case not yet due is in neither count)."""
    d = scope_district()
    rows = query(
        "select hospital_id, metric, sum(value) as value from mart_ty_monthly_kpis "
        "where metric in (?, ?, ?, ?) and hospital_id is not null and (? is null or district = ?) "
        "group by all",
        [*RATE_COUNTS, d, d],
    )
    out: dict[str, dict[str, int]] = {}
    for hid, metric, value in rows.itertuples(index=False):
        out.setdefault(hid, {})[metric] = int(value)
    return out


def hospitals_section(h: pd.DataFrame) -> None:
    k = st.columns(5)
    k[0].metric("定额认定病例", num(h["quota_cases"].sum()), border=True)
    k[1].metric("认定周期超时", num(h["cycle_late"].sum()), border=True)
    k[2].metric("公示不合规", num(h["publicity_breaches"].sum()), border=True)
    k[3].metric("录入超时", num(h["entry_late"].sum()), border=True)
    k[4].metric("专家组不合规病例", num(h["panel_breaches"].sum()), border=True)
    table = h[list(HOSPITAL_COLUMNS)].rename(columns=HOSPITAL_COLUMNS)
    due = due_counts()  # the rates as 总览, kpis and the report define them (kpis.RATES)
    sums = [due.get(hid, {}) for hid in h["hospital_id"]]
    table.insert(5, "认定周期及时率", [pct(rate(d, "cycle_on_time_rate")) for d in sums])
    table.insert(11, "重新认定及时率", [pct(rate(d, "recert_on_time_rate")) for d in sums])
    show_table(table, hide_index=True, key="ty-hospitals")
    download_buttons(table, "太原各医院认定时效与专家组", key="ty-dl-hospitals")


def cases_section(c: pd.DataFrame) -> None:
    late = c[c["is_cycle_late"] | c["is_entry_late"]]
    st.caption(f"认定周期或录入超时的定额病例 {num(len(late))} 件（共 {num(len(c))} 件）。")
    table = late[
        ["case_id", "hospital_name", "submitted_at", "decided_at", "publicity_from",
         "publicity_to", "publicity_workdays", "entered_at", "cycle_deadline", "cycle_over",
         "entry_deadline", "entry_over", "benefit_start"]
    ].rename(columns={  # fmt: skip
        "case_id": "申报编号", "hospital_name": "医院", "submitted_at": "申报时间",
        "decided_at": "办结时间", "publicity_from": "公示开始", "publicity_to": "公示结束",
        "publicity_workdays": "公示工作日", "entered_at": "录入时间",
        "cycle_deadline": "认定周期时限", "cycle_over": "超出工作日（周期）",
        "entry_deadline": "录入时限", "entry_over": "超出工作日（录入）",
        "benefit_start": "待遇开始日期",
    })  # fmt: skip
    config = {c: TIME for c in ("申报时间", "办结时间", "录入时间", "认定周期时限", "录入时限")}
    show_table(table, hide_index=True, key="ty-cases", column_config=config)
    download_buttons(table, "太原定额认定超时病例", key="ty-dl-cases")


def recerts_section(r: pd.DataFrame) -> None:
    st.caption(
        f"重新认定申请 {num(len(r))} 件，超过时限 {num(int(r['is_late'].sum()))} 件"
        "（申请日后第 20 个工作日 24:00 前完成）。"
    )
    table = r[
        ["recert_id", "case_id", "hospital_name", "requested_at", "deadline", "completed_at",
         "outcome", "over"]
    ].rename(columns={  # fmt: skip
        "recert_id": "重新认定编号", "case_id": "申报编号", "hospital_name": "医院",
        "requested_at": "申请时间", "deadline": "完成时限", "completed_at": "完成时间",
        "outcome": "重新认定结果", "over": "超出工作日",
    })  # fmt: skip
    config = {c: TIME for c in ("申请时间", "完成时限", "完成时间")}
    show_table(table, hide_index=True, key="ty-recerts", column_config=config)
    download_buttons(table, "太原重新认定时效", key="ty-dl-recerts")


page_header(
    "认定时效与专家组",
    "太原市（并医险中心字〔2022〕108号）：定额病种认定周期不超过 20 个工作日、院内公示 5 个工作日、"
    "公示后 3 个工作日内录入、专家组不少于 2 名副高及以上本院专家、重新认定 20 个工作日内完成。",
)
if need_data():
    require_marts("mart_ty_hospital", "mart_ty_cases", "mart_ty_recerts", "mart_ty_monthly_kpis")
    evaluation_caption()
    tab = st.radio(
        "栏目",
        ["各医院", "超时病例", "重新认定"],
        horizontal=True,
        key="ty-section",
        label_visibility="collapsed",
    )
    if tab == "各医院":
        hospitals_section(scoped("mart_ty_hospital", "hospital_id"))
    elif tab == "超时病例":
        cases_section(scoped("mart_ty_cases", "case_id"))
    else:
        recerts_section(scoped("mart_ty_recerts", "recert_id"))
