"""处理决定 (TY-PENALTY, 太原) — the sanctions the centre decided: those in force, those ending
within 30 days and all of them, and (city roles only) a form that records a new one, append-only
and hash-chained with who decided and why (pipelines.sanctions). District roles see their
district's sanctions and cannot record.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard.charts import show_table
from dashboard.common import (
    con,
    full_personal_data,
    literal,
    mask_id,
    need_data,
    num,
    page_header,
    profile,
    scope_district,
    user,
)
from dashboard.consistency import gate
from dashboard.downloads import download_buttons
from dashboard.filters import evaluation_caption, require_marts
from pipelines.errors import DataError, UsageError
from pipelines.rules import refresh_marts
from pipelines.sanctions import ENDING_DAYS, MEASURES, SUBJECTS, record_sanction, sanction_rows

COLUMNS = {
    "sanction_id": "处理决定编号",
    "subject_type": "处理对象类型",
    "subject_id": "处理对象",
    "measure": "处理措施",
    "valid_from": "生效日期",
    "valid_to": "结束日期（最后一日）",
    "amount_yuan": "金额（元）",
    "state": "状态",
    "decided_by": "决定人",
    "reason": "处理理由",
}
ENDING = f"{ENDING_DAYS} 天内到期"
VIEWS = ["在执行", ENDING, "全部"]


def may_record() -> bool:
    """City roles that may act (not district staff, not the read-only auditor)."""
    perms = user().perms
    return perms.all_districts and perms.run_draws


def frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=[*COLUMNS, "in_force", "ending_soon"])
    df = df.astype({"in_force": bool, "ending_soon": bool})
    df["state"] = df["in_force"].map({True: "在执行", False: "未生效或已结束"})
    df["subject_type"] = df["subject_type"].map(SUBJECTS)
    if not full_personal_data():
        person = df["subject_type"] == SUBJECTS["person"]
        df.loc[person, "subject_id"] = df.loc[person, "subject_id"].map(mask_id)
    return df


def list_section(day: dt.date) -> None:
    df = frame(sanction_rows(con(), day, scope_district()))
    k = st.columns(3)
    k[0].metric("在执行", num(df["in_force"].sum()), border=True)
    k[1].metric(literal(ENDING), num((df["in_force"] & df["ending_soon"]).sum()), border=True)
    k[2].metric("全部处理决定", num(len(df)), border=True)
    view = st.radio("范围", VIEWS, horizontal=True, key="sn-view", label_visibility="collapsed")
    if view == VIEWS[0]:
        df = df[df["in_force"]]
    elif view == VIEWS[1]:
        df = df[df["in_force"] & df["ending_soon"]]
    table = df[list(COLUMNS)].rename(columns=COLUMNS)
    show_table(table, hide_index=True, key="sn-table")
    download_buttons(table, f"处理决定_{view}", f"{day:%Y%m%d}", key="sn-dl")


def _record(values: dict) -> None:
    """Record the sanction, recompute the rule results at the marts' evaluation time, say so."""
    eval_at = evaluation_time()
    rec = record_sanction(con(), **values)
    with st.spinner("已记录，正在按原评估时间重新计算规则结果……"):
        refresh_marts(con(), eval_at, profile(), commit_guard=gate().committing)
    st.cache_data.clear()
    st.session_state["sn-said"] = f"已记录处理决定 {rec.draw_id}。"
    st.rerun()


def record_form() -> None:
    st.subheader("记录处理决定")
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox("处理对象类型", list(SUBJECTS), format_func=SUBJECTS.get, key="sn-type")
    measures = [m for m, kinds in MEASURES.items() if kind in kinds]
    measure = c2.selectbox("处理措施", measures, key="sn-measure")
    subject = c3.text_input("处理对象（医生编码 / 医院编码 / 身份证号）", key="sn-subject")
    d1, d2, d3 = st.columns(3)
    start = d1.date_input("生效日期", key="sn-from", format="YYYY-MM-DD")
    has_end = d2.checkbox("有结束日期（暂停认定资格必填）", key="sn-has-end")
    end = d2.date_input(
        "结束日期（最后一日）", key="sn-to", format="YYYY-MM-DD", disabled=not has_end
    )
    serious = d3.checkbox("情节严重（暂停医保处方权 5 年）", key="sn-serious")
    amount = d3.text_input("金额（元，追回时必填）", key="sn-amount")
    reason = st.text_area("处理理由（必填）", key="sn-reason")
    by = st.text_input("决定人（必填）", value=user().username, key="sn-by")
    if st.button("记录处理决定", type="primary", key="sn-record"):
        values = {
            "subject_type": kind, "subject_id": subject, "measure": measure,
            "valid_from": start, "valid_to": end if has_end else None,
            "reason": reason, "by": by, "serious": serious, "amount": amount or None,
        }  # fmt: skip
        try:
            _record(values)
        except (UsageError, DataError) as exc:
            st.error(literal(exc))


def evaluation_time() -> dt.datetime:
    meta = require_marts("mart_violations")
    return meta.eval_at.to_pydatetime()


page_header(
    "处理决定",
    "TY-PENALTY：市医保中心作出的处理决定（暂停医保处方权 6 个月、情节严重 5 年；暂停或取消认定资格；"
    "停止待遇并追回；追回基金；移交行政部门），只增不改，记录决定人与理由，并纳入审计日志的哈希链。",
)
if need_data():
    evaluation_caption()
    if said := st.session_state.pop("sn-said", None):
        st.success(literal(said))
    day = st.date_input(
        "查看日期", value=evaluation_time().date(), key="sn-day", format="YYYY-MM-DD"
    )
    list_section(day)
    if may_record():
        record_form()
    else:
        st.info(
            f"您的角色（{literal(user().role)}）可以查看处理决定，但不能记录：记录须由市级用户进行。"
        )
