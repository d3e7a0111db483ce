"""专家时效 — who is about to miss a deadline, how fast experts respond and complete (ZZ-ACCEPT,
ZZ-COMPLETE), each expert's record and task timeline, and the ZZ-STRIKE action lists.

Everything is read from the engine's tables (mart_at_risk, mart_task_timeline,
mart_expert_timeliness, mart_strike_evidence, dim_experts, dim_hospitals): the page only shows.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.charts import (
    WARN,
    action_labels,
    histogram,
    kind_labels,
    list_columns,
    margin_scatter,
    no_none,
    show,
    show_table,
    status_labels,
)
from dashboard.common import (
    TABLE_ROWS,
    case_id_in_scope,
    con,
    data_version,
    db_path,
    head_note,
    list_head,
    list_rows,
    literal,
    mask_frame,
    need_data,
    num,
    page_header,
    profile,
    query,
)
from dashboard.downloads import download_buttons
from dashboard.filters import evaluation_caption, require_marts, sidebar_filters
from pipelines.rules.evidence import strike_histories
from pipelines.rules.kpis import RATES, with_rates
from pipelines.rules.lateness import late_hours, margin_hours

page_header("专家时效", "即将超时的任务、响应与办结用时、专家扣分记录与处理名单。")
if not need_data():
    st.stop()
meta = require_marts(
    "mart_at_risk", "mart_task_timeline", "mart_expert_timeliness", "mart_strike_evidence"
)
evaluation_caption()
f = sidebar_filters()
d = profile()["deadlines"]
accept_hours, workdays = d["accept_hours"], d["complete_workdays"]
kinds, statuses, actions = kind_labels(), status_labels(), action_labels()
RATE_LABELS = {"accept_on_time_rate": "响应按时率（%）", "complete_on_time_rate": "办结按时率（%）"}
RATE_COUNTS = [c for name in RATE_LABELS for c in RATES[name]]

# ---- at risk now --------------------------------------------------------------------------

st.subheader("当前风险任务（每日电话提醒名单）")
w, p = f.where(specialty="e.specialty")
case_sql, case_p = case_id_in_scope("r.case_id")
risk = query(
    f"""
    select r.status, cast(r.hours_left as double) as 剩余小时, r.deadline as 时限,
           r.kind as 类型, r.expert_id as 专家编号, r.expert_name as 姓名,
           r.phone as 联系电话, h.hospital_name as 医院, h.district as 区县,
           e.specialty as 专科, r.task_id as 任务编号, {case_sql} as 申报编号,
           r.pushed_at as 推送时间, r.responded_at as 受理时间
    from mart_at_risk as r
    inner join dim_experts as e using (expert_id)
    inner join dim_hospitals as h on h.hospital_id = r.hospital_id
    where {w}
    order by r.deadline, r.task_id
    """,
    [*case_p, *p],
)
risk = mask_frame(risk.assign(类型=risk["类型"].map(kinds)))
unconfirmed = risk[risk["status"] == "unconfirmed"].drop(columns="status")
risk = risk[risk["status"] != "unconfirmed"].drop(columns="status")
stamp = meta.eval_at.strftime("%Y%m%d%H%M")


def risk_list(rows, key: str) -> None:
    grid = no_none(rows)
    show_table(grid, hide_index=True, key=key, column_config=list_columns(grid))


if not unconfirmed.empty:
    st.subheader("待核实（已过期限，数据未显示）")
    st.caption(
        f"这些任务的时限在数据截止时间 {meta.data_cutoff:%Y-%m-%d %H:%M:%S} 之后、评估时间之前："
        "导出数据无法显示专家是否按时处理，很可能已超时，请先电话核实。不计入扣分与统计。"
    )
    risk_list(unconfirmed, "exp-unconfirmed")
    download_buttons(unconfirmed, "待核实任务名单", stamp, key="exp-dl-unconfirmed")
st.caption(
    f"以规则评估时间 {meta.eval_at:%Y-%m-%d %H:%M:%S} 为准：{profile()['risk']['accept_hours_ahead']} 小时内"
    f"到期的响应、{profile()['risk']['complete_workdays_ahead']} 个工作日内到期的办结。"
    "剩余小时 = 时限 − 评估时间；需按其他时间计算请在「总览」页选择评估时间。"
)
if risk.empty:
    st.success("当前没有即将超时的任务。")
else:
    st.metric("风险任务", num(len(risk)))
    risk_list(risk, "exp-risk")
    download_buttons(risk, "风险任务名单", stamp, key="exp-dl-risk")

# ---- distributions ------------------------------------------------------------------------

st.subheader(f"响应与办结用时分布：{f.period_label}")
w, p = f.where(hospital="t", at="t.pushed_at", specialty="t.specialty")
TASKS = f"""
    from mart_task_timeline as t
    where {w}
"""
step_a, cap_a = 0.5, 3 * accept_hours
resp = query(
    f"""
    select least(floor(t.response_hours / ?) * ?, ?) as bin, count(*) as n
    {TASKS} and t.response_hours is not null
    group by bin order by bin
    """,
    [step_a, step_a, cap_a, *p],
)
step_c, lo_c, hi_c = 6, -24 * (workdays + 3), 48
comp = query(
    f"""
    select greatest(least(floor(t.completed_after_hours / ?) * ?, ?), ?) as bin, count(*) as n
    {TASKS} and t.completed_after_hours is not null
    group by bin order by bin
    """,
    [step_c, step_c, hi_c, lo_c, *p],
)
open_counts = query(
    f"""
    select count(*) filter (where t.accept_status = 'late') as accept_late,
           count(*) filter (where t.accept_status = 'overdue') as accept_overdue,
           count(*) filter (where t.complete_status = 'late') as complete_late,
           count(*) filter (where t.complete_status = 'overdue') as complete_overdue
    {TASKS}
    """,
    p,
).iloc[0]
a, b = st.columns(2)
with a:
    show(
        histogram(
            resp,
            "bin",
            "n",
            step_a,
            "推送至响应用时",
            accept_hours,
            f"{accept_hours}小时时限",
            "用时（小时）",
            late_note=f"超时响应 {num(open_counts.accept_late)} 项",
        ),
        key="exp-hist-accept",
    )
    st.caption(
        f"每格 {step_a} 小时，{cap_a} 小时及以上并入最后一格；另有 "
        f"{num(open_counts.accept_overdue)} 项逾期仍未响应（未计入图中）。"
    )
with b:
    show(
        histogram(
            comp,
            "bin",
            "n",
            step_c,
            "办结时间距时限",
            0,
            f"时限（受理后第{workdays}个工作日24:00）",
            "距时限（小时，负数为提前）",
            late_note=f"超时办结 {num(open_counts.complete_late)} 项",
        ),
        key="exp-hist-complete",
    )
    st.caption(
        f"每格 {step_c} 小时，超出 {lo_c}～{hi_c} 小时的并入两端；另有 "
        f"{num(open_counts.complete_overdue)} 项逾期仍未办结（未计入图中）。"
    )

# ---- per expert ---------------------------------------------------------------------------

st.subheader(f"专家时效一览：{f.period_label}")
w_t, p_t = f.where(hospital="t", at="cast(t.month || '-01' as date)")
w_x, p_x = f.where(specialty="x.specialty")
experts = query(
    f"""
    with t as (
        select t.expert_id, sum(t.tasks) as tasks, sum(t.strikes) as strikes,
               {", ".join(f"sum(t.{c}) as {c}" for c in RATE_COUNTS)}
        from mart_expert_timeliness as t
        where {w_t}
        group by t.expert_id
    )
    select x.expert_id as 专家编号, x.expert_name as 姓名, x.hospital_name as 医院,
           x.district as 区县, x.specialty as 专科, x.title as 职称,
           coalesce(t.tasks, 0) as 任务数, {", ".join(f"t.{c}" for c in RATE_COUNTS)},
           coalesce(t.strikes, 0) as 扣分次数,
           case when x.disqualified_at is not null then '已取消资格' else '在库' end as 状态,
           x.disqualified_at as 取消资格时间
    from dim_experts as x
    inner join dim_hospitals as h on h.hospital_id = x.hospital_id
    left join t using (expert_id)
    where {w_x}
    order by 扣分次数 desc, 任务数 desc, x.expert_id
    """,
    [*p_t, *p_x],
)
experts = with_rates(experts, RATE_LABELS, after="任务数")
experts = mask_frame(experts)
k = st.columns(4)
k[0].metric("专家", num(len(experts)))
k[1].metric("有任务的专家", num((experts["任务数"] > 0).sum()))
k[2].metric("有扣分的专家", num((experts["扣分次数"] > 0).sum()))
k[3].metric("已取消资格", num((experts["状态"] == "已取消资格").sum()))
shown = experts.head(TABLE_ROWS)  # a province has 20,000 experts: the grid shows the first
grid = no_none(shown)
show_table(grid, hide_index=True, key="exp-table", column_config=list_columns(grid))
st.caption(
    "按时率的分母为已到期的任务（未到期、办理中的不计）；状态以规则评估时间为准。"
    + (
        f"表中按扣分次数、任务数显示前 {num(len(shown))} 名（共 {num(len(experts))} 名），"
        "完整名单请下载。"
        if len(shown) < len(experts)
        else ""
    )
)
download_buttons(experts, "专家时效一览", f.period, key="exp-dl-table")

# ---- an expert's timeline -----------------------------------------------------------------

st.subheader("专家任务时间线（扣分依据）")
with_tasks = experts[experts["任务数"] > 0]
choices = with_tasks.head(TABLE_ROWS)
if choices.empty:
    st.info("所选范围内没有专家任务。")
else:
    labels = dict(
        zip(
            choices["专家编号"],
            choices["专家编号"]
            + " "
            + choices["姓名"].fillna("")
            + "（"
            + choices["医院"]
            + "）· 扣分 "
            + choices["扣分次数"].astype(str)
            + " 次",
            strict=True,
        )
    )
    c1, c2 = st.columns([3, 1])
    expert_id = c1.selectbox(
        "选择专家", list(labels), format_func=labels.get, key="exp-timeline-expert"
    )
    typed = c2.text_input("或输入专家编号", key="exp-timeline-id").strip()
    if typed:
        if typed in set(with_tasks["专家编号"]):
            expert_id = typed
        else:
            st.warning(f"所选范围内没有专家编号为 {literal(typed)} 且有任务的专家。")
    if len(choices) < len(with_tasks):
        st.caption(
            f"列表按扣分次数、任务数列出前 {num(len(choices))} 名（有任务的共 "
            f"{num(len(with_tasks))} 名）；其他专家请输入专家编号。"
        )
    w, p = f.where(hospital="t", at="t.pushed_at")
    case_sql, case_p = case_id_in_scope("t.case_id")
    tl = query(
        f"""
        select t.task_id as 任务编号, {case_sql} as 申报编号, t.pushed_at as 推送时间,
               t.accept_deadline as 响应时限, t.responded_at as 响应时间, t.response as 响应,
               t.accept_status as 响应情况, t.complete_deadline as 办结时限,
               t.completed_at as 办结时间, t.complete_status as 办结情况,
               t.strike_no as 年度扣分序号, t.strike_kind as 扣分原因, t.strike_action as 处理措施
        from mart_task_timeline as t
        where t.expert_id = ? and {w}
        order by t.pushed_at, t.task_id
        """,
        [*case_p, expert_id, *p],
    )
    margins = query(
        f"""
        with t as (select * from mart_task_timeline as t where t.expert_id = ? and {w})
        select task_id as 任务编号, '响应' as 类型, accept_deadline as 时限,
               {margin_hours("t", "accept")} as "余量（小时）", is_accept_strike as 是否扣分
        from t
        union all
        select task_id, '办结', complete_deadline, {margin_hours("t", "complete")},
               is_complete_strike
        from t where complete_deadline is not null
        """,
        [expert_id, *p],
    )
    is_strike = tl["年度扣分序号"].notna()
    tl = tl.assign(
        响应情况=tl["响应情况"].map(statuses),
        办结情况=tl["办结情况"].map(statuses),
        扣分原因=tl["扣分原因"].map(kinds),
    )
    strike = (
        "第" + tl["年度扣分序号"].astype("Int64").astype(str) + "次·" + tl["处理措施"].map(actions)
    )
    tl.insert(0, "扣分", strike.where(is_strike, ""))
    tl = tl.drop(columns=["年度扣分序号", "处理措施"])
    st.caption(
        f"{f.period_label}共 {num(len(tl))} 项任务，其中扣分 {num(is_strike.sum())} 项（红色标出）。"
    )
    limit = 24 * (workdays + 1)
    show(margin_scatter(margins, "各项时限的余量（负数为超时）", limit), key="exp-timeline-chart")
    st.caption(
        f"每个点是一项任务的响应或办结时限；超过 ±{limit} 小时的画在图边缘，悬停可见实际值。"
    )
    only = st.toggle("只看扣分任务", key="exp-timeline-only")
    shown = tl[tl["扣分"] != ""] if only else tl
    grid = no_none(shown)
    show_table(
        # the strike as a red label in the first column marks the rows experts will dispute
        grid.assign(扣分=shown["扣分"].map(lambda v: [v] if v else [])),
        hide_index=True,
        key="exp-timeline",
        column_config=list_columns(
            grid,
            扣分=st.column_config.MultiselectColumn(
                options=sorted(set(tl["扣分"]) - {""}), color=WARN, pinned=True, width="medium"
            ),
        ),
    )
    download_buttons(shown, f"专家任务记录_{expert_id}", f.period, key="exp-dl-timeline")

# ---- action lists -------------------------------------------------------------------------

st.subheader(f"扣分处理名单：{f.period_label}")
st.caption(
    "每行一次扣分（按所超时限计入期间），附该专家本年度至此的全部扣分任务与时限，供通知与核对。"
)
w, p = f.where(at="s.deadline", specialty="e.specialty")
case_sql, case_p = case_id_in_scope("s.case_id")
STRIKES = f"""
    with s as (
        select s.* from mart_strike_evidence as s
        inner join dim_experts as e using (expert_id)
        inner join dim_hospitals as h on h.hospital_id = s.hospital_id
        where s.status <> 'voided' and ({w})
    )
    select s.expert_id as 专家编号, e.expert_name as 姓名, h.hospital_name as 医院,
           h.district as 区县, e.specialty as 专科, s.strike_year as 年度, s.strike_no as 年度扣分序号,
           s.task_id as 任务编号, {case_sql} as 申报编号, s.kind as 超时类型,
           s.deadline as 时限, s.pushed_at as 推送时间,
           case when s.kind = 'accept_timeout' then s.responded_at else s.completed_at end
               as 实际时间,
           {late_hours("s")} as "超时（小时）"
    from s
    inner join dim_experts as e using (expert_id)
    inner join dim_hospitals as h on h.hospital_id = s.hospital_id
    where s.action = ?
    order by s.deadline, s.task_id
    """


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def _histories(task_ids: str, version: str, path: str) -> pd.DataFrame:
    """The strike histories of a grid's rows, their task ids one a line (one string: Streamlit
    hashes a tuple of 2,000 ids element by element, ~0.05 s), read once per data version."""
    return strike_histories(con(), task_ids.split("\n"))


def with_history(rows: pd.DataFrame, shown: bool = True) -> pd.DataFrame:
    """A list as shown (`shown`: its head, cached) and downloaded: kinds in Chinese, the expert's
    strikes of the year up to each one, personal columns masked unless the role allows."""
    ids = rows["任务编号"].tolist()
    found = (
        _histories("\n".join(ids), data_version(), str(db_path()))
        if shown
        else strike_histories(con(), ids)
    )
    history = found.set_index("task_id")["history"]
    return mask_frame(
        rows.assign(
            超时类型=rows["超时类型"].map(kinds), 本年度扣分记录=rows["任务编号"].map(history)
        )
    )


LISTS = {"sms": "短信通知名单", "notify_hospital": "通报医院名单", "disqualify": "取消资格名单"}
counts = {a: list_head(STRIKES, [*p, *case_p, a]) for a in LISTS}
tabs = st.tabs([f"{name}（{num(counts[a][1])}）" for a, name in LISTS.items()])
for tab, (action, name) in zip(tabs, LISTS.items(), strict=True):
    with tab:
        head, total = counts[action]
        st.caption(f"处理措施：{actions[action]}")
        if head.empty:
            st.info("所选期间没有此类扣分。")
            continue
        grid = no_none(with_history(head))
        show_table(
            grid, hide_index=True, key=f"exp-list-{action}", column_config=list_columns(grid)
        )
        head_note(len(head), total)
        every = list_rows(STRIKES, [*p, *case_p, action])
        download_buttons(
            grid,
            name,
            f.period,
            key=f"exp-dl-{action}",
            every=(lambda e=every: with_history(e(), shown=False), total),
        )
