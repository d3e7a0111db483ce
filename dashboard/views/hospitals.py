"""医院考核 — ZZ-HOSPITAL5 per year: each hospital's share of disqualified experts against the
profile's rate, the "one more" warnings, and the strikes (tasks, deadlines) behind every
disqualification. Reads mart_hospital_penalty, dim_experts (disqualifications) and
mart_strike_evidence.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard.charts import (
    CHART_BARS,
    action_labels,
    kind_labels,
    list_columns,
    penalty_rate,
    ratio_bars,
    show,
    show_table,
)
from dashboard.common import (
    OTHER_DISTRICT_CASE,
    case_id_in_scope,
    con,
    data_version,
    db_path,
    literal,
    mask_frame,
    need_data,
    num,
    page_header,
    profile,
    query,
    scope_district,
)
from dashboard.downloads import book_button, download_buttons
from dashboard.filters import evaluation_caption, require_marts, sidebar_filters
from pipelines.rules.lateness import late_hours


@st.cache_data(ttl=600, show_spinner=False)
def _year_end_book(year: int, eval_at: dt.datetime, version: str, path: str) -> dict:
    """The year-end evidence (computed once per data version, not on every run of the page)."""
    from pipelines.rules.evidence import year_end_evidence

    return year_end_evidence(con(), year, eval_at, profile())


page_header(
    "医院考核",
    "年度内被取消鉴定专家资格的人数占该院在库专家的比例，达到扣分线的医院在年终考核中扣分。",
)
if not need_data():
    st.stop()
meta = require_marts("mart_hospital_penalty", "mart_strike_evidence", "dim_experts")
evaluation_caption()
f = sidebar_filters(month=False)
year = f.year or int(meta.as_of.year)
rate = penalty_rate()
if f.year is None:
    st.info(f"未选择年度，显示规则评估时间所在的 {year} 年。")

w, p = f.where()
table = query(
    f"""
    select p.hospital_id as 医院编号, p.hospital_name as 医院, h.district as 区县,
           p.experts_total as 专家总数, p.experts_disqualified as 取消资格人数,
           round(p.ratio * 100, 1) as "取消资格比例（%）",
           case when p.penalized then '扣分' else '' end as 年终考核,
           case when p.one_more_penalized then '再取消1人即扣分' else '' end as 预警
    from mart_hospital_penalty as p
    inner join dim_hospitals as h using (hospital_id)
    where p.year = ? and {w}
    order by p.penalized desc, p.one_more_penalized desc, p.ratio desc, p.hospital_id
    """,
    [year, *p],
)
penalised = table[table["年终考核"] == "扣分"]
warned = table[table["预警"] != ""]

st.subheader(f"{year} 年度考核（扣分线 {rate:.0%}）")
k = st.columns(4)
k[0].metric("参与考核医院", num(len(table)), border=True)
k[1].metric("取消资格专家", num(table["取消资格人数"].sum()), border=True)
k[2].metric("扣分医院", num(len(penalised)), border=True)
k[3].metric("差一人即扣分医院", num(len(warned)), border=True)

PCT = list_columns(table)
with_disq = table[table["取消资格人数"] > 0]
if with_disq.empty:
    st.success(f"{year} 年所选范围内没有医院有专家被取消资格（各院比例均为 0.0%）。")
else:
    # a province has ~1,500 hospitals: the chart draws the highest shares, the table lists all
    bars = with_disq.sort_values("取消资格比例（%）", ascending=False, kind="stable")
    bars = bars.head(CHART_BARS)
    show(
        ratio_bars(
            bars.assign(
                ratio=bars["取消资格比例（%）"] / 100,
                label=bars["医院"]
                + "（"
                + bars["取消资格人数"].astype(str)
                + "/"
                + bars["专家总数"].astype(str)
                + "）",
                flag=bars["年终考核"] == "扣分",
            ),
            "label",
            "ratio",
            "flag",
            rate,
            f"有专家被取消资格的医院（括号内为 取消人数/专家总数；其余 {num(len(table) - len(with_disq))} 家为 0.0%）",
        ),
        key="hosp-chart",
    )
    if len(bars) < len(with_disq):
        st.caption(
            f"图中为取消资格比例最高的 {num(len(bars))} 家（共 {num(len(with_disq))} 家），"
            "全部医院见下表。"
        )

tab_all, tab_pen, tab_warn = st.tabs(
    [
        f"全部医院（{num(len(table))}）",
        f"扣分医院（{num(len(penalised))}）",
        f"差一人即扣分（{num(len(warned))}）",
    ]
)
with tab_all:
    st.caption("点击一行查看该院取消资格的依据（下方）。")
    clicked = show_table(
        table,
        hide_index=True,
        key="hosp-table",
        column_config=PCT,
        on_select="rerun",
        selection_mode="single-row",
    )
    download_buttons(table, "医院年终考核", str(year), key="hosp-dl-table")
with tab_pen:
    if penalised.empty:
        st.info(f"{year} 年所选范围内没有扣分医院。")
    else:
        show_table(penalised, hide_index=True, key="hosp-penalised", column_config=PCT)
with tab_warn:
    st.caption(f"这些医院再有 1 名专家被取消资格，比例即达到 {rate:.0%} 扣分线。")
    if warned.empty:
        st.info(f"{year} 年所选范围内没有差一人即扣分的医院。")
    else:
        show_table(warned, hide_index=True, key="hosp-warned", column_config=PCT)
        download_buttons(warned, "医院扣分预警", str(year), key="hosp-dl-warned")

# ---- evidence -----------------------------------------------------------------------------

st.subheader("取消资格依据")
if with_disq.empty:
    st.info("没有需要举证的取消资格记录。")
    st.stop()
names = dict(zip(with_disq["医院编号"], with_disq["医院"], strict=True))
rows = list(clicked.selection.rows) if clicked is not None else []
if rows and table.iloc[rows[0]]["医院编号"] in names:
    # a row of the hospital table clicked: its evidence below (ZZ-HOSPITAL5: evidence for every
    # penalty)
    st.session_state["hosp-evidence"] = table.iloc[rows[0]]["医院编号"]
elif rows:
    st.info(f"{literal(table.iloc[rows[0]]['医院'])} {year} 年没有专家被取消资格。")
hospital_id = st.selectbox(
    "选择医院",
    list(names),
    format_func=lambda h: f"{names[h]}（{h}）",
    key="hosp-evidence",
)
w, p = f.where(specialty="e.specialty")
case_sql, case_p = case_id_in_scope("s.case_id")
evidence = query(
    f"""
    select e.expert_id as 专家编号, e.expert_name as 姓名, e.specialty as 专科, e.title as 职称,
           e.disqualified_at as 取消资格时间,
           case e.disqualified_source when 'strike' then '超时扣分' else '专家登记册' end as 取消依据,
           s.strike_no as 年度扣分序号, s.action as 处理措施, s.task_id as 任务编号,
           {case_sql} as 申报编号, s.kind as 超时类型, s.pushed_at as 推送时间, s.deadline as 时限,
           case when s.kind = 'accept_timeout' then s.responded_at else s.completed_at end
               as 实际时间,
           {late_hours("s")} as "超时（小时）"
    from dim_experts as e
    inner join dim_hospitals as h on h.hospital_id = e.hospital_id
    left join mart_strike_evidence as s
        on s.expert_id = e.expert_id
        and s.status <> 'voided'
        and e.disqualified_source = 'strike'
        and s.strike_year = year(e.disqualified_at)
        and s.deadline <= e.disqualified_at
    where e.hospital_id = ?
        and e.disqualified_at >= make_timestamp(?, 1, 1, 0, 0, 0)
        and e.disqualified_at < make_timestamp(? + 1, 1, 1, 0, 0, 0)
        and {w}
    order by e.disqualified_at, e.expert_id, s.strike_no
    """,
    [*case_p, hospital_id, year, year, *p],
)
evidence = mask_frame(
    evidence.assign(
        处理措施=evidence["处理措施"].map(action_labels()),
        超时类型=evidence["超时类型"].map(kind_labels()),
    )
)
st.caption(
    f"{literal(names[hospital_id])} {year} 年被取消资格的专家 {num(evidence['专家编号'].nunique())} 名；"
    "每名专家列出导致取消资格的各次超时任务及其时限（登记册取消的无扣分记录）。"
)
show_table(
    evidence,
    hide_index=True,
    key="hosp-evidence-rows",
    column_config=list_columns(evidence),
)
download_buttons(evidence, f"取消资格依据_{names[hospital_id]}", str(year), key="hosp-dl-evidence")

st.subheader("年终考核依据（一份文件）")
st.caption(
    "扣分医院 → 各院当年被取消资格的专家 → 每名专家当年的全部超时记录（含申诉撤销的记录及其处理"
    "决定），用于年终考核和申诉答复。"
)
if penalised.empty:
    st.info(f"{year} 年所选范围内没有扣分医院。")
else:
    book = _year_end_book(year, meta.eval_at.to_pydatetime(), data_version(), str(db_path()))
    keep = set(penalised["医院编号"])
    book = {name: df[df["医院编码"].isin(keep)] for name, df in book.items()}
    if scope_district() is not None:  # other districts' case ids are not shown to a district
        ids = book["违规依据"]["申报编号"].dropna().unique().tolist()
        mine = set(
            query(
                "select c.case_id from dim_cases as c "
                "where c.district = ? and list_contains(?, c.case_id)",
                [scope_district(), ids],
            )["case_id"]
        )
        ev = book["违规依据"]
        book["违规依据"] = ev.assign(
            申报编号=ev["申报编号"].where(ev["申报编号"].isin(mine), OTHER_DISTRICT_CASE)
        )
    book_button(
        book,
        "年终考核依据",
        str(year),
        key="hosp-dl-book",
        title=f"{year} 年专家取消资格比例扣分依据（评估时间 {meta.eval_at:%Y-%m-%d %H:%M:%S}，"
        f"下载于 {dt.date.today()}）",
        label="下载年终考核依据 (xlsx)",
    )
