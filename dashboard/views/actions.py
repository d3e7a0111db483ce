"""处置台账 — the action ledger (ZZ-ACTION) and strike disputes (ZZ-DISPUTE).

The weekly lists (短信通知 / 通报所在医院 / 取消资格) show pending items by default, filtered by
the strike's date range; a city user marks one item or the whole list done, records a dispute
decision on a strike from its evidence, or declares a platform outage. Every decision is a
hash-chained draw_log record (pipelines.decisions); the rule results are then recomputed at the
same evaluation time so every page shows the decision.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard.charts import list_columns, show_table
from dashboard.common import (
    con,
    district_filter,
    literal,
    mask_frame,
    need_data,
    num,
    page_header,
    profile,
    query,
    user,
)
from dashboard.consistency import gate
from dashboard.downloads import download_buttons
from dashboard.filters import evaluation_caption, require_marts
from pipelines.decisions import (
    ACTION_ZH,
    STATUS_ZH,
    record_action_done,
    record_dispute,
    record_outage,
)
from pipelines.errors import DataError, UsageError
from pipelines.rules import refresh_marts
from pipelines.rules.evidence import ACTION_ZH as STRIKE_ACTION_ZH
from pipelines.rules.evidence import KIND_ZH
from pipelines.rules.evidence import STATUS_ZH as EVIDENCE_STATUS_ZH

STRIKE = "\u0336"  # combining long stroke overlay: a struck-through text in any table or sheet

page_header(
    "处置台账",
    "每次超时违规对应一项处置：第1次短信通知、第2次通报所在医院、第3次取消鉴定专家资格。"
    "申诉撤销的违规不再计入，其后的违规序号依次提前。",
)
if not need_data():
    st.stop()
require_marts("mart_action_ledger", "mart_strike_evidence")
evaluation_caption()
eval_at = query("select coalesce(eval_at, as_of) as t from mart_meta").iloc[0]["t"]
may_decide = user().perms.run_draws


def struck(text: object) -> str:
    return "".join(ch + STRIKE for ch in str(text))


def recompute_after(message: str) -> None:
    """Recompute the rule results at the same evaluation time, then show the message."""
    with st.spinner("已记录，正在按原评估时间重新计算规则结果……"):
        refresh_marts(con(), eval_at.to_pydatetime(), profile(), commit_guard=gate().committing)
    st.cache_data.clear()
    st.session_state["actions-said"] = message
    st.rerun()


if said := st.session_state.pop("actions-said", None):
    st.success(literal(said))

# ---- the weekly lists ----------------------------------------------------------------------------

today = dt.date.today()
monday = today - dt.timedelta(days=today.weekday())
c1, c2, c3 = st.columns([1, 1, 2])
status_zh = c1.selectbox("状态", list(STATUS_ZH.values()), index=0, key="act-status")
action_zh = c2.selectbox("处置措施", list(ACTION_ZH.values()), index=0, key="act-action")
span = c3.radio(
    "违规时间",
    ["本周一以来", "上周", "全部", "自定义"],
    index=2,
    horizontal=True,
    key="act-span",
)
if span == "本周一以来":
    start, end = monday, today
elif span == "上周":
    start, end = monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)
elif span == "自定义":
    picked = st.date_input("起止日期", (monday, today), key="act-range")
    start, end = (picked[0], picked[-1]) if picked else (monday, today)
else:
    start, end = None, None

status = next(k for k, v in STATUS_ZH.items() if v == status_zh)
action = next(k for k, v in ACTION_ZH.items() if v == action_zh)
scope_sql, scope_params = district_filter("h")
ledger = query(
    f"""
    select a.expert_id as 专家编码, e.expert_name as 专家姓名, e.phone as 联系电话,
           h.hospital_name as 医院, h.district as 区县, a.strike_no as 违规序号,
           a.task_id as 任务编号, a.case_id as 申报编号, a.deadline as 超时期限,
           a.done_at as 处置时间, a.done_by as 处置人, a.note as 处置说明
    from mart_action_ledger as a
    left join dim_experts as e using (expert_id)
    left join dim_hospitals as h on h.hospital_id = e.hospital_id
    where a.status = ? and a.action = ? and {scope_sql}
      and (cast(? as date) is null or cast(a.deadline as date) >= cast(? as date))
      and (cast(? as date) is null or cast(a.deadline as date) <= cast(? as date))
    order by a.deadline, a.task_id
    """,
    [status, action, *scope_params, start, start, end, end],
)
period = "全部" if start is None else f"{start:%Y%m%d}-{end:%Y%m%d}"
st.subheader(f"{action_zh}：{status_zh} {num(len(ledger))} 项")
shown = mask_frame(ledger)
picked_rows = show_table(
    shown,
    hide_index=True,
    key="act-table",
    column_config=list_columns(shown),
    on_select="rerun" if may_decide and status == "pending" else "ignore",
    selection_mode="multi-row",
)
title = (
    f"{action_zh}名单（{status_zh}，违规时间 {'全部' if start is None else f'{start} 至 {end}'}）"
    f" 下载于 {today}"
)
download_buttons(ledger, f"{action_zh}名单", period, key="act-dl", title=title)

if may_decide and status == "pending" and len(ledger):
    rows = list(picked_rows.selection.rows) if picked_rows is not None else []
    with st.form("act-done-form"):
        st.markdown(
            f"**登记处置完成**（已选 {num(len(rows))} 项；不选则为整个列表 {num(len(ledger))} 项）"
        )
        note = st.text_input(
            "处置说明", value="短信平台已发送" if action == "sms" else "", key="act-note"
        )
        go = st.form_submit_button("标记为已处置", type="primary")
    if go:
        targets = ledger.iloc[rows] if rows else ledger
        try:
            for task_id in targets["任务编号"]:
                record_action_done(
                    con(),
                    task_id,
                    action,
                    user().username,
                    note,
                    profile(),
                    eval_at.to_pydatetime(),
                )
        except (UsageError, DataError) as exc:
            st.error(f"未能登记：{literal(exc)}")
        else:
            recompute_after(f"已登记 {num(len(targets))} 项{action_zh}为已处置。")

# ---- disputes ------------------------------------------------------------------------------------

st.divider()
st.subheader("违规依据与申诉处理")
expert_id = st.text_input(
    "专家编码", key="act-expert", placeholder="输入专家编码查看其全部超时记录"
)
if expert_id.strip():
    ev = query(
        f"""
        select v.strike_year as 年度, v.strike_no as 违规序号, v.task_id as 任务编号,
               v.case_id as 申报编号, v.kind, v.pushed_at as 推送时间, v.responded_at as 响应时间,
               v.completed_at as 完成时间, v.deadline as 期限, v.action, v.status,
               coalesce(v.decision_reason, v.outage_reason) as 申诉处理理由,
               v.decided_by as 决定人, v.decided_at as 决定时间
        from mart_strike_evidence as v
        left join dim_hospitals as h on h.hospital_id = v.hospital_id
        where v.expert_id = ? and {scope_sql}
        order by v.deadline, v.task_id
        """,
        [expert_id.strip(), *scope_params],
    )
    if ev.empty:
        st.info("该专家没有超时记录（或不在您的辖区）。")
    else:
        ev["违规类型"] = ev.pop("kind").map(KIND_ZH)
        ev["处理措施"] = ev.pop("action").map(STRIKE_ACTION_ZH)
        ev["状态"] = ev.pop("status").map(EVIDENCE_STATUS_ZH)
        voided = ev["状态"] == EVIDENCE_STATUS_ZH["voided"]
        ev.loc[voided, "任务编号"] = ev.loc[voided, "任务编号"].map(struck)
        show_table(ev, hide_index=True, key="act-evidence", column_config=list_columns(ev))
        st.caption("已撤销的违规以删除线显示，不计入违规序号、处置、取消资格和医院考核。")
        download_buttons(ev, f"违规依据_{expert_id.strip()}", key="act-ev-dl")
        if may_decide:
            tasks = ev.loc[~voided, "任务编号"].tolist() + [
                t.replace(STRIKE, "") for t in ev.loc[voided, "任务编号"]
            ]
            with st.form("act-dispute-form"):
                st.markdown("**记录申诉处理结果**（后一次决定覆盖前一次，均留存于记录链）")
                task_id = st.selectbox("任务编号", tasks, key="act-dispute-task")
                decision = st.radio(
                    "处理结果", ["维持", "撤销"], horizontal=True, key="act-decision"
                )
                reason = st.text_input("理由", key="act-reason")
                ok = st.form_submit_button("记录处理结果", type="primary")
            if ok:
                try:
                    rec = record_dispute(con(), task_id, decision, reason, user().username)
                except (UsageError, DataError) as exc:
                    st.error(f"未能记录：{literal(exc)}")
                else:
                    recompute_after(f"已记录：任务 {task_id} 的违规{decision}（{rec.draw_id}）。")

if may_decide:
    with st.expander("登记系统故障时段（时段内推送或到期的违规一律撤销）"):
        with st.form("act-outage-form"):
            d1 = st.date_input("开始日期", key="act-out-d1")
            t1 = st.time_input("开始时间", dt.time(0, 0), key="act-out-t1", step=60)
            d2 = st.date_input("结束日期", key="act-out-d2")
            t2 = st.time_input("结束时间", dt.time(23, 59), key="act-out-t2", step=60)
            why = st.text_input("故障说明", key="act-out-reason")
            declare = st.form_submit_button("登记故障时段")
        if declare:
            try:
                rec = record_outage(
                    con(),
                    dt.datetime.combine(d1, t1),
                    dt.datetime.combine(d2, t2),
                    why,
                    user().username,
                )
            except (UsageError, DataError) as exc:
                st.error(f"未能登记：{literal(exc)}")
            else:
                recompute_after(f"已登记系统故障时段（{rec.draw_id}）。")
