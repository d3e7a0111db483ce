"""总览 — headline counts of what is loaded, then the period's KPIs and trends."""

from __future__ import annotations

import streamlit as st

from dashboard.common import need_data, num, page_header, pct, query

page_header(
    "门诊慢特病鉴定监管看板",
    "郑州：两名专家随机鉴定、8小时响应、2个工作日办结；太原：双随机、一公开。",
)

heads = query(
    """
    select
        (select count(*) from stg_hospitals) as hospitals,
        (select count(*) from stg_experts) as experts,
        (select count(*) from stg_cases) as cases,
        (select count(*) from stg_tasks) as tasks,
        (select count(*) from stg_cases where outcome = '符合') as approved,
        (select count(*) from stg_cases where outcome is not null) as decided,
        (select count(*) from quarantine) as quarantined,
        (select min(submitted_at) from stg_cases) as first_at,
        (select max(submitted_at) from stg_cases) as last_at
    """
).iloc[0]

c = st.columns(6)
c[0].metric("定点医疗机构", num(heads.hospitals))
c[1].metric("鉴定专家", num(heads.experts))
c[2].metric("申报件数", num(heads.cases))
c[3].metric("专家鉴定任务", num(heads.tasks))
c[4].metric("鉴定通过率", pct(heads.approved / heads.decided if heads.decided else None))
c[5].metric("隔离行（未导入）", num(heads.quarantined))

if need_data():
    st.caption(f"申报时间范围：{heads.first_at:%Y-%m-%d} 至 {heads.last_at:%Y-%m-%d}")
