"""劳务费与归档 — the monthly review fee per expert for the bank transfer (ZZ-FEE, from mart_fees)
and the monthly archive of decided cases by disease × result (ZZ-ARCHIVE).

The archive is read from mart_archive_by_hospital (decisions by the evaluation time, per submitting
hospital) so that the district and hospital filters apply in SQL; summed over hospitals it equals
mart_archive.
"""

from __future__ import annotations

import streamlit as st

from dashboard.charts import list_columns, monthly_bars, show, show_table
from dashboard.common import literal, mask_frame, need_data, num, page_header, profile, query
from dashboard.downloads import download_buttons
from dashboard.filters import evaluation_caption, require_marts, sidebar_filters

page_header("劳务费与归档", "专家鉴定劳务费按办结月份逐月发放；申报按月、按病种和鉴定结果归档。")
if not need_data():
    st.stop()
require_marts("mart_fees", "mart_archive_by_hospital", "dim_experts", "dim_hospitals")
evaluation_caption()
f = sidebar_filters()

# ---- fees ---------------------------------------------------------------------------------

st.subheader(f"专家劳务费：{f.period_label}")
w, p = f.where(at="cast(fm.month || '-01' as date)", specialty="e.specialty")
fees = query(
    f"""
    select fm.month as 月份, fm.expert_id as 专家编号, fm.expert_name as 姓名,
           h.hospital_name as 医院, h.district as 区县, e.specialty as 专科,
           fm.reviews as 鉴定件数, fm.amount_yuan as "金额（元）"
    from mart_fees as fm
    inner join dim_experts as e using (expert_id)
    inner join dim_hospitals as h on h.hospital_id = fm.hospital_id
    where {w}
    order by fm.month, h.hospital_name, fm.expert_id
    """,
    p,
)
fees = mask_frame(fees)
st.caption(
    f"每完成一件鉴定（一名专家、一件申报）计 {profile()['fee']['yuan_per_review']} 元，"
    "不论结论；不受理或未完成的不计。金额取自规则计算结果。"
)
k = st.columns(4)
k[0].metric("月份数", num(fees["月份"].nunique()), border=True)
k[1].metric("专家人数", num(fees["专家编号"].nunique()), border=True)
k[2].metric("鉴定件数合计", num(fees["鉴定件数"].sum()), border=True)
k[3].metric("金额合计（元）", num(fees["金额（元）"].sum()), border=True)
if fees.empty:
    st.info("所选期间没有已办结的鉴定。")
else:
    show_table(fees, hide_index=True, key="fee-table", column_config=list_columns(fees))
    download_buttons(fees, "专家劳务费", f.period, key="fee-dl")
    by_month = (
        fees.groupby("月份", as_index=False)
        .agg(
            专家人数=("专家编号", "nunique"),
            鉴定件数=("鉴定件数", "sum"),
            金额=("金额（元）", "sum"),
        )
        .rename(columns={"金额": "金额（元）"})
    )
    with st.expander("按月合计（上方合计为本表之和）"):
        show_table(
            by_month,
            hide_index=True,
            key="fee-by-month",
            column_config=list_columns(by_month),
        )
    if len(by_month) > 1:
        show(
            monthly_bars(
                by_month, "月份", {"金额（元）": "金额（元）"}, "劳务费按月金额", y_title="元"
            ),
            key="fee-chart",
        )

# ---- archive ------------------------------------------------------------------------------

st.subheader(f"月度归档（病种 × 鉴定结果）：{f.period_label}")
w, p = f.where(at="cast(a.month || '-01' as date)", specialty="a.specialty")
archive = query(
    f"""
    select a.month as 月份, a.disease_name as 病种, a.specialty as 专科,
           a.settlement as 办结方式, a.outcome as 鉴定结果, sum(a.cases) as 件数
    from mart_archive_by_hospital as a
    inner join dim_hospitals as h using (hospital_id)
    where {w}
    group by all
    """,
    p,
)
st.caption("按鉴定结果的作出时间计入月份。")
if archive.empty:
    st.info("所选期间没有已出结果的申报。")
    st.stop()
results = sorted(archive["鉴定结果"].unique(), key=lambda r: (r != "符合", r))
pivot = (
    archive.pivot_table(
        index=["月份", "病种", "专科", "办结方式"],
        columns="鉴定结果",
        values="件数",
        aggfunc="sum",
        fill_value=0,
    )
    .reindex(columns=results, fill_value=0)
    .reset_index()
    .rename_axis(columns=None)
)
pivot["合计"] = pivot[results].sum(axis=1)
pivot = pivot.sort_values(["月份", "病种"]).reset_index(drop=True)
k = st.columns(len(results) + 1)
k[0].metric("归档件数", num(pivot["合计"].sum()), border=True)
for col, r in zip(k[1:], results, strict=True):
    col.metric(literal(r), num(pivot[r].sum()), border=True)
show_table(pivot, hide_index=True, key="archive-table", column_config=list_columns(pivot, *results))
download_buttons(pivot, "月度归档", f.period, key="archive-dl")
with st.expander("按病种汇总（不分月份）"):
    by_disease = (
        pivot.groupby(["病种", "专科", "办结方式"], as_index=False, dropna=False)[
            [*results, "合计"]
        ]
        .sum()
        .sort_values("合计", ascending=False)
    )
    show_table(
        by_disease,
        hide_index=True,
        key="archive-by-disease",
        column_config=list_columns(by_disease, *results),
    )
