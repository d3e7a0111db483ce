"""规则核查 — the breaches mart_violations holds, counted per rule id, with the rows of each rule.

Every row is one breach found by an audit query of `pipelines/sql/audit_*.sql` at the evaluation
time; the page only filters and presents them.
"""

from __future__ import annotations

import streamlit as st

from dashboard.charts import count_bars, list_columns, rule_names, show, show_table
from dashboard.common import (
    case_id_in_scope,
    case_ids_in_text_in_scope,
    head_note,
    list_head,
    list_rows,
    literal,
    need_data,
    num,
    page_header,
    query,
)
from dashboard.downloads import download_buttons
from dashboard.filters import (
    VIOLATION_ROWS,
    evaluation_caption,
    require_marts,
    sidebar_filters,
    violation_where,
)

page_header("规则核查", "按规则列出截至评估时间发现的问题；选择一条规则查看全部问题行。")
if not need_data():
    st.stop()
require_marts("mart_violation_events", "dim_hospitals")
evaluation_caption()
f = sidebar_filters()
names = rule_names()
w, p = violation_where(f)
by_rule = query(
    f"""
    select v.rule_id as 规则编号, count(*) as 问题数,
           count(distinct v.hospital_id) as 涉及医院, count(distinct v.expert_id) as 涉及专家,
           count(distinct v.case_id) as 涉及申报
    {VIOLATION_ROWS}
    where {w}
    group by v.rule_id
    order by 问题数 desc, v.rule_id
    """,
    p,
)
by_rule.insert(1, "规则说明", by_rule["规则编号"].map(lambda r: names.get(r, r)))

st.subheader(f"各规则问题数：{f.period_label}")
k = st.columns(3)
k[0].metric("问题总数", num(by_rule["问题数"].sum()), border=True)
k[1].metric("涉及规则", num(len(by_rule)), border=True)
k[2].metric(
    "问题最多的规则",
    by_rule["规则说明"].iloc[0] if len(by_rule) else "—",
    border=True,
    help=f"规则编号 {literal(by_rule['规则编号'].iloc[0])}" if len(by_rule) else None,
)
st.caption(
    "问题按相关任务的推送时间或申报的提交时间计入期间；没有发生时间的（如专家资格）按评估时间计入。"
)
if by_rule.empty:
    st.success("所选范围内没有发现问题。")
    st.stop()

show(
    count_bars(
        by_rule.assign(label=by_rule["规则编号"] + " " + by_rule["规则说明"]),
        "label",
        "问题数",
        "各规则问题数",
    ),
    key="vio-chart",
)
show_table(
    by_rule,
    hide_index=True,
    key="vio-by-rule",
    column_config=list_columns(by_rule),
)
download_buttons(by_rule, "规则核查汇总", f.period, key="vio-dl-summary")

st.subheader("问题明细")
rule = st.selectbox(
    "选择规则",
    by_rule["规则编号"].tolist(),
    format_func=lambda r: f"{r} {names.get(r, r)}",
    key="vio-rule",
)
case_sql, case_p = case_id_in_scope("v.case_id")
rows_sql = f"""
    select v.rule_id as 规则编号, v.detail as 问题说明, {case_sql} as 申报编号,
           v.task_id as 任务编号, v.expert_id as 专家编号, h.hospital_name as 医院,
           h.district as 区县, v.occurred_at as 发生时间,
           v.hospital_id as 医院编号
    {VIOLATION_ROWS}
    where v.rule_id = ? and {w}
    order by 发生时间 nulls last, v.case_id, v.task_id, v.expert_id
    """
rows_p = [*case_p, rule, *p]
# a rule about cases has no task or expert: leave out the columns it never fills
filled = query(f"select count(任务编号) as 任务编号, count(专家编号) as 专家编号, "
               f"count(申报编号) as 申报编号 from ({rows_sql})", rows_p).iloc[0]  # fmt: skip
unfilled = [c for c in ("任务编号", "专家编号", "申报编号") if filled[c] == 0]


def shown(df):
    df["问题说明"] = case_ids_in_text_in_scope(df["问题说明"])
    return df.drop(columns=unfilled)


rows, total = list_head(rows_sql, rows_p)
rows = shown(rows)
st.caption(f"{literal(rule)} {literal(names.get(rule, rule))}：{num(total)} 条。")
show_table(
    rows,
    hide_index=True,
    key="vio-rows",
    column_config=list_columns(
        rows,
        问题说明=st.column_config.TextColumn(width="large"),
        规则编号=st.column_config.TextColumn(pinned=True),
    ),
)
head_note(len(rows), total)
every = list_rows(rows_sql, rows_p)
download_buttons(
    rows, f"规则核查_{rule}", f.period, key="vio-dl-rows", every=(lambda: shown(every()), total)
)
