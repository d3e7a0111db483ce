"""总览 — headline counts of what is loaded, then the period's KPIs and monthly trends.

Every KPI card is the total of a table that opens below it; the rule results come from the marts
(`pipelines.rules.refresh_marts`), which city roles can recompute here at an evaluation time
they pick (default: the data cut-off, DATA-CUTOFF).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import nav
from dashboard.charts import (
    action_labels,
    kind_labels,
    list_columns,
    monthly_bars,
    monthly_rates,
    rule_names,
    show,
    show_table,
)
from dashboard.common import (
    con,
    data_version,
    db_path,
    literal,
    mask_frame,
    need_data,
    num,
    page_header,
    pct,
    profile,
    profile_name,
    query,
    scope_district,
    table_exists,
    user,
)
from dashboard.consistency import gate
from dashboard.downloads import download_buttons, pdf_button
from dashboard.filters import (
    Filters,
    as_of_caption,
    eval_time,
    evaluation,
    profile_label,
    require_marts,
    sidebar_filters,
    stale_warning,
)
from dashboard.ty_home import ty_overview
from pipelines.errors import DataError
from pipelines.evaltime import warehouse_cutoff
from pipelines.report import monthly_report
from pipelines.rules import refresh_marts
from pipelines.rules.kpis import COUNTS, TY_SHAPE, VIOLATION_PREFIX, loaded_totals, shape

page_header(
    "门诊慢特病鉴定监管看板",
    "郑州：两名专家随机鉴定、8小时响应、2个工作日办结；太原：双随机、一公开。",
)


def calendar_warning() -> None:
    """Before the year turns, warn when next year's holiday arrangement is not in the calendar."""
    today = dt.date.today()
    if today.month < 11 or not table_exists("calendar_meta"):
        return
    last = query("select max(last_year) as last_year from calendar_meta").iloc[0]["last_year"]
    if pd.isna(last) or int(last) < today.year + 1:
        nxt = today.year + 1
        st.warning(
            f"工作日日历只覆盖到 {int(last) if not pd.isna(last) else '—'} 年，尚未包含 {nxt} 年的"
            f"节假日安排。国务院办公厅公布 {nxt} 年安排后，请补充到 "
            f"data/reference/calendar_overrides.csv 并重新计算；否则 {nxt} 年的办结时限无法计算。",
            icon=":material/event_busy:",
        )


def recompute(at: dt.datetime | None) -> None:
    """Rebuild the marts at evaluation time `at` (None: the data cut-off, DATA-CUTOFF); a data
    problem (e.g. a calendar gap) is shown as is."""
    label = "数据截止时间" if at is None else f"{at:%Y-%m-%d %H:%M:%S}"
    try:
        with st.spinner(f"正在按评估时间 {label} 重新计算规则结果……"):
            counts = refresh_marts(con(), at, profile(), commit_guard=gate().committing)
    except DataError as exc:
        st.error(f"重新计算失败：{literal(exc)}")
        return
    st.cache_data.clear()
    for key in PICKER_KEYS:  # the picker shows the new evaluation time after the rerun
        st.session_state.pop(key, None)
    when = eval_time(evaluation())
    strikes = query("select coalesce(sum(strikes), 0) as n from mart_expert_timeliness").n[0]
    st.session_state["home-refreshed"] = (
        f"已按评估时间 {when.eval_at:%Y-%m-%d %H:%M:%S} 重新计算：任务 "
        f"{num(counts.get('mart_task_timeline'))} 项，扣分 {num(strikes)} 次，违规 "
        f"{num(counts.get('mart_violations'))} 条。"
    )
    st.rerun()


PICKER_KEYS = ("home-eval-date", "home-eval-time")


def eval_picker(meta: pd.Series | None) -> None:
    """City roles pick the evaluation time (default: the marts' one, else the data cut-off) and
    recompute the marts at it, or reset it to the data cut-off."""
    if not user().perms.run_draws:
        st.caption("重新计算由市级用户执行。")
        return
    shown = eval_time(meta).eval_at if meta is not None else warehouse_cutoff(con())
    shown = shown or dt.datetime.now().replace(microsecond=0)
    a, b = st.columns([3, 2])
    day = a.date_input("评估日期", value=shown.date(), key="home-eval-date")
    time = b.time_input("评估时间", value=shown.time(), key="home-eval-time", step=60)
    if st.button("按所选时间计算", key="home-refresh", icon=":material/refresh:"):
        recompute(dt.datetime.combine(day, time))
    if st.button("恢复为数据截止时间", key="home-reset", icon=":material/history:"):
        recompute(None)


# the mart's metric names → the names this page's table and charts use
PAGE_NAMES = {
    "cases_submitted": "applications",
    "cases_decided": "decided",
    "cases_approved": "approved",
    "experts_disqualified": "disqualified",
    **{f"strikes_{code}": code for code in action_labels()},
}
# the monthly table's columns, in order (the rates are inserted between them below)
PAGE_COLUMNS = [
    "applications", "decided", "approved", "accept_due", "accept_on_time", "complete_due",
    "complete_on_time", *action_labels(), "disqualified", "tasks_pushed", "fee_reviews", "fee_yuan",
]  # fmt: skip


def month_sums(f: Filters, mart: str = "mart_monthly_kpis") -> pd.DataFrame:
    """month, metric, n: the mart (mart_monthly_kpis, or Taiyuan's) summed over the filters (the
    chosen year, all months)."""
    w, p = f.where(hospital="k", specialty="k.specialty")
    year = "true" if f.year is None else "k.month like ?"
    return query(
        f"""
        select k.month, k.metric, sum(k.value) as n
        from {mart} as k
        where {w} and {year}
        group by k.month, k.metric
        """,
        [*p, *([] if f.year is None else [f"{f.year}-%"])],
    )


def report_button(f: Filters, meta: pd.Series) -> None:
    """The monthly report (PDF for leadership) of the chosen month (else the evaluation time's)
    for the chosen district (else the user's district, else the city)."""
    when = eval_time(meta)
    month = f.month_key or f"{when.eval_at:%Y-%m}"
    district = f.district or scope_district()
    scope = district or "全市"
    y, m = month.split("-")
    pdf_button(
        lambda: monthly_report(con(), profile(), when, month, district),
        f"月度监管报告_{scope}",
        month,
        key="home-report",
        label=f"下载{y}年{int(m)}月监管月报（PDF，{scope}）",
    )


@st.cache_data(ttl=600, show_spinner=False)
def _loaded_totals(district: str | None, version: str, path: str) -> dict:
    """What is loaded (read once per data version, not on every run of the page)."""
    return loaded_totals(con(), district)


calendar_warning()

heads = pd.Series(_loaded_totals(scope_district(), data_version(), str(db_path())))

c = st.columns(6)
c[0].metric("定点医疗机构", num(heads.hospitals))
c[1].metric("鉴定专家", num(heads.experts))
c[2].metric("申报件数", num(heads.cases))
c[3].metric("专家鉴定任务", num(heads.tasks))
c[4].metric("鉴定通过率", pct(heads.approved / heads.decided if heads.decided else None))
# quarantined rows are raw lines with no trustworthy hospital: shown to city roles only
c[5].metric(
    "隔离行（未导入）",
    num(heads.quarantined) if scope_district() is None else "—",
    help=None if scope_district() is None else "隔离行无法归属区县，仅对市级用户显示。",
)

if not need_data():
    st.stop()
st.caption(
    f"申报时间范围：{heads.first_at:%Y-%m-%d} 至 {heads.last_at:%Y-%m-%d}"
    + ("" if scope_district() is None else f"（{literal(scope_district())}）")
)

if msg := st.session_state.pop("home-refreshed", None):
    st.success(msg)

meta = evaluation()
if meta is None:
    st.warning("规则结果（时限、扣分、违规、劳务费等）尚未计算，以下指标暂不可用。")
    eval_picker(None)
    st.stop()

left, right = st.columns([2, 1], vertical_alignment="center")
left.info(as_of_caption(), icon=":material/schedule:")
stale_warning()
with right:
    eval_picker(meta)
if meta.profile != profile().name:
    st.warning(
        f"规则结果按「{literal(profile_label(meta.profile))}」配置计算，当前看板使用"
        f"「{literal(profile().label)}」配置，请重新计算。"
    )

require_marts("mart_monthly_kpis", "mart_hospital_penalty", "mart_at_risk")

f = sidebar_filters()
if shape(profile()) is TY_SHAPE:  # Taiyuan's measures (mart_ty_monthly_kpis)
    require_marts(TY_SHAPE.mart)
    ty_overview(month_sums(f, TY_SHAPE.mart), f)
    report_button(f, meta)
    st.stop()
d = profile()["deadlines"]
acc_label = f"{d['accept_hours']}小时响应按时率"
cmp_label = f"{d['complete_workdays']}个工作日办结按时率"
actions = action_labels()

# ---- monthly rows: every KPI card below is the sum of these rows over the period -------------
# the numbers are the engine's (mart_monthly_kpis, the same the `kpis` command and the monthly
# report show): the page only sums them over the filters

kpi = month_sums(f)
monthly = (
    kpi[~kpi["metric"].str.startswith(VIOLATION_PREFIX)]
    .pivot_table(index="month", columns="metric", values="n", aggfunc="sum", fill_value=0)
    .reindex(columns=COUNTS, fill_value=0)
    .rename(columns=PAGE_NAMES)[PAGE_COLUMNS]
    .reset_index()
    .sort_values("month")
)
counts = [c for c in monthly.columns if c != "month"]
monthly[counts] = monthly[counts].astype("int64")
period_rows = monthly[monthly["month"] == f.month_key] if f.month_key else monthly
tot = period_rows[counts].sum() if not period_rows.empty else pd.Series(0, index=counts)


def share(a: str, b: str) -> float | None:
    return tot[a] / tot[b] if tot[b] else None


# ---- year-level and "now" numbers ---------------------------------------------------------

year = f.year or int(meta.as_of.year)
w_pen, p_pen = f.where()
penalty = query(
    f"""
    select p.hospital_id as 医院编号, p.hospital_name as 医院, h.district as 区县,
           p.experts_total as 专家总数, p.experts_disqualified as 取消资格,
           round(p.ratio * 100, 1) as "取消资格比例（%）",
           case when p.penalized then '扣分' else '差一人即扣分' end as 考核结果
    from mart_hospital_penalty as p
    inner join dim_hospitals as h using (hospital_id)
    where p.year = ? and (p.penalized or p.one_more_penalized) and {w_pen}
    order by p.penalized desc, p.ratio desc, p.hospital_id
    """,
    [year, *p_pen],
)
in_period = kpi["month"] == f.month_key if f.month_key else pd.Series(True, index=kpi.index)
vio = (
    kpi[in_period & kpi["metric"].str.startswith(VIOLATION_PREFIX)]
    .assign(rule_id=lambda x: x["metric"].str.removeprefix(VIOLATION_PREFIX))
    .groupby("rule_id", as_index=False)["n"]
    .sum()
    .sort_values(["n", "rule_id"], ascending=[False, True])
)
w_risk, p_risk = f.where(specialty="e.specialty")
risk = query(
    f"""
    select r.deadline as 时限, r.hours_left as 剩余小时, r.kind, r.task_id as 任务编号,
           r.expert_id as 专家编号, r.expert_name as 姓名, h.hospital_name as 医院, h.district as 区县
    from mart_at_risk as r
    inner join dim_experts as e using (expert_id)
    inner join dim_hospitals as h on h.hospital_id = r.hospital_id
    where {w_risk} and r.status = 'at_risk'
    order by r.deadline, r.task_id
    """,
    p_risk,
)

# ---- KPI cards ----------------------------------------------------------------------------

st.subheader(f"本期指标：{f.period_label}")
k = st.columns(5)
k[0].metric("本期申报件数", num(tot["applications"]), border=True)
k[1].metric("本期已出结果", num(tot["decided"]), border=True)
k[2].metric("本期鉴定通过率", pct(share("approved", "decided")), border=True)
k[3].metric(acc_label, pct(share("accept_on_time", "accept_due")), border=True)
k[4].metric(cmp_label, pct(share("complete_on_time", "complete_due")), border=True)

k = st.columns(5)
for i, (code, label) in enumerate(action_labels(short=True).items()):
    k[i].metric(f"扣分·{label}", num(tot[code]), border=True, help=actions[code])
k[4].metric(
    "取消资格专家", num(tot["disqualified"]), border=True, help="含超时第3次取消及登记册取消"
)

k = st.columns(4)
n_pen = int((penalty["考核结果"] == "扣分").sum())
k[0].metric(f"年终考核扣分医院（{year}年）", num(n_pen), border=True)
k[1].metric("差一人即扣分医院", num(len(penalty) - n_pen), border=True)
k[2].metric("规则核查问题", num(vio["n"].sum()), border=True, help="截至规则评估时间仍存在的问题")
k[3].metric(
    "当前风险任务",
    num(len(risk)),
    border=True,
    help="评估时间起即将超过时限的任务；不含「待核实」任务（见「专家时效」）",
)

report_button(f, meta)

# ---- the rows behind the cards ------------------------------------------------------------

table = monthly.rename(
    columns={
        "month": "月份",
        "applications": "申报件数",
        "decided": "已出结果",
        "approved": "通过",
        "accept_due": "应响应任务",
        "accept_on_time": "按时响应",
        "complete_due": "应办结任务",
        "complete_on_time": "按时办结",
        "disqualified": "取消资格专家",
        "tasks_pushed": "推送任务",
        "fee_reviews": "鉴定例数（劳务费）",
        "fee_yuan": "鉴定劳务费（元）",
        **{code: f"扣分·{label}" for code, label in actions.items()},
    }
)
table.insert(4, "通过率（%）", (monthly["approved"] / monthly["decided"] * 100).round(1))
table.insert(
    7, "响应按时率（%）", (monthly["accept_on_time"] / monthly["accept_due"] * 100).round(1)
)
table.insert(
    10, "办结按时率（%）", (monthly["complete_on_time"] / monthly["complete_due"] * 100).round(1)
)
table_format = {
    c: st.column_config.NumberColumn(format="%.1f" if "%" in c else "localized")
    for c in table.columns
    if c != "月份"
}

with st.expander("指标明细（按月）：上方指标卡为所选期间各月合计", expanded=False):
    shown = table[table["月份"] == f.month_key] if f.month_key else table
    show_table(shown, hide_index=True, key="home-monthly", column_config=table_format)
    st.caption(
        "申报按提交时间、任务按推送时间、扣分按所超时限、取消资格按取消时间计入月份；"
        "按时率的分母不含尚未到期的任务。"
    )
    download_buttons(shown, "监管指标月度明细", f.period, key="home-dl-monthly")

with st.expander(f"年终考核扣分与预警医院（{year}年，共 {num(len(penalty))} 家）"):
    show_table(
        penalty,
        hide_index=True,
        key="home-penalty",
        column_config=list_columns(penalty),
    )
    if nav.shown("hospitals.py", profile_name()):
        st.page_link(
            "views/hospitals.py", label="到「医院考核」查看依据", icon=":material/local_hospital:"
        )

with st.expander(f"规则核查问题（共 {num(vio['n'].sum())} 条）"):
    names = rule_names()
    show_table(
        pd.DataFrame(
            {
                "规则": vio["rule_id"],
                "规则说明": vio["rule_id"].map(lambda r: names.get(r, r)),
                "问题数": vio["n"],
            }
        ),
        hide_index=True,
        key="home-violations",
        column_config=list_columns(pd.DataFrame(columns=["问题数"])),
    )
    st.page_link("views/violations.py", label="到「规则核查」查看明细", icon=":material/rule:")

with st.expander(f"当前风险任务（共 {num(len(risk))} 项）"):
    kinds = kind_labels()
    shown_risk = risk.assign(kind=risk["kind"].map(kinds)).rename(columns={"kind": "类型"})
    show_table(
        mask_frame(shown_risk),
        hide_index=True,
        key="home-risk",
        column_config=list_columns(shown_risk),
    )
    if nav.shown("experts.py", profile_name()):
        st.page_link(
            "views/experts.py", label="到「专家时效」查看并下载名单", icon=":material/timer:"
        )

# ---- monthly trends -----------------------------------------------------------------------

st.subheader("月度趋势" + (f"（{f.year}年）" if f.year else ""))
if monthly.empty:
    st.info("所选范围内没有数据。")
else:
    trend = monthly.assign(
        approval=monthly["approved"] / monthly["decided"].where(monthly["decided"] > 0),
        accept_rate=monthly["accept_on_time"]
        / monthly["accept_due"].where(monthly["accept_due"] > 0),
        complete_rate=monthly["complete_on_time"]
        / monthly["complete_due"].where(monthly["complete_due"] > 0),
    )
    a, b = st.columns(2)
    with a:
        show(
            monthly_bars(
                trend, "month", {"applications": "申报件数", "approved": "鉴定通过"}, "申报与通过"
            ),
            key="home-chart-cases",
        )
    with b:
        show(
            monthly_rates(
                trend,
                "month",
                {"approval": "鉴定通过率", "accept_rate": acc_label, "complete_rate": cmp_label},
                "通过率与时效",
            ),
            key="home-chart-rates",
        )
    show(
        monthly_bars(
            trend, "month", actions, "超时扣分（按处理措施）", stacked=True, y_title="扣分次数"
        ),
        key="home-chart-strikes",
    )
