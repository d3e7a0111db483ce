"""季度复核 (TY-REVIEW) — Taiyuan's quarterly "double random, one public" review and its appeals.

The calendar of the review month with where a chosen day stands (review_step), the quarter's
plan — cases drawn per hospital, experts per specialty, who reviews which case — and the
appeal panels. Each draw freezes its lists (digests shown) before the seed is typed in; the
page calls pipelines.draws for every step.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import draw_widgets as dw
from dashboard.appraise_view import estimates_section
from dashboard.charts import list_columns, show_table
from dashboard.common import con, literal, need_data, num, page_header, profile, user
from dashboard.downloads import book_button, download_buttons, pdf_button
from dashboard.uploads import save_uploads
from pipelines.config import load_profile
from pipelines.draws import (
    current_state,
    draw,
    draw_review_experts,
    freeze_appeal,
    freeze_review,
    review_calendar,
    review_step,
)
from pipelines.draws.engine import supervisor_name
from pipelines.draws.findings import import_findings
from pipelines.draws.reference import approved_span
from pipelines.draws.review import case_diseases, quarter_of
from pipelines.draws.review_results import (
    OPINIONS,
    public_results,
    record_appeal_finding,
    write_public_pdf,
)
from pipelines.draws.spotcheck import check_rate, percent

ACTIVE = profile()
TY_ENABLED = bool(ACTIVE.data.get("taiyuan_rules", {}).get("enabled"))
TY = ACTIVE if TY_ENABLED else load_profile("taiyuan")
RULES = TY["taiyuan_rules"]
RESULT_COUNTS = ("符合", "不符合", "申诉成立")
SECTIONS = ["复核日历", "季度复核抽取", "申诉专家抽取", "复核结果与公示"]

page_header(
    "季度复核",
    "TY-REVIEW：每季度第一个月复核上一季度认定的病例——“双随机”（随机抽取病例、随机抽取专家）、"
    "“一公开”（抽取过程与结果公开）；申诉病种由 3 名随机抽取的专家二次复核。",
)
if not TY_ENABLED:
    st.info(
        f"当前规则配置为{ACTIVE.label}，未启用太原季度复核。本页按太原市规则配置（并医险中心字〔2022〕108号）"
        f"的数值运行：复核日历、按医院抽取病例 {percent(check_rate(str(RULES['review_rate']), TY))}、"
        f"每专业至少 {RULES['min_experts_per_specialty']} 名专家且每人不超过 "
        f"{RULES['cases_per_expert']} 件、申诉 {RULES['appeal_panel_size']} 名专家，以及该配置的专家资格条件；"
        f"抽取记录中注明所用配置（{literal(TY.label)}）。"
    )


def review_quarters() -> list:
    """Quarters whose review has cases to draw (the quarter after each quarter of data)."""
    first, last = approved_span(con())
    today = quarter_of(dt.date.today())
    start = quarter_of(first).next() if first else today
    end = max(quarter_of(last).next(), today) if last else today
    return dw.quarters_between(start.first_day, end.first_day)


def quarter_box(label: str, key: str, where=st):
    """A review quarter, the current one by default."""
    options = {q.label: q for q in QUARTERS}
    current = quarter_of(dt.date.today()).label
    if key not in st.session_state:
        st.session_state[key] = current if current in options else next(iter(options))
    return options[where.selectbox(label, list(options), key=key)]


def calendar_section() -> None:
    c1, c2 = st.columns(2)
    q = quarter_box("复核季度", "rv-cal-q", c1)
    day = c2.date_input("查看日期", value=dt.date.today(), key="rv-day", format="YYYY-MM-DD")
    prev = q.previous()
    st.caption(
        f"{q.label} 复核在 {q.first_day:%Y-%m-%d} 起的第一个月进行，复核 {prev.label}"
        f"（{prev.first_day:%Y-%m-%d} 至 {prev.last_day:%Y-%m-%d}）认定通过的病例。"
    )
    step = review_step(day, TY)
    if step is not None:
        st.success(
            f"{day:%Y-%m-%d} 处于 {step.quarter.label} 复核：{step.step}"
            f"（{step.first_day:%Y-%m-%d} 至 {step.last_day:%Y-%m-%d}）"
        )
    else:
        st.info(f"{day:%Y-%m-%d} 不在复核安排的日期内（复核在每季度第一个月的 1–30 日）。")
    rows = []
    for i, s in enumerate(review_calendar(q, TY), start=1):
        status = "已结束" if day > s.last_day else ("进行中" if day >= s.first_day else "未开始")
        rows.append(
            {
                "步骤": i,
                "日期": f"{s.first_day:%Y-%m-%d} 至 {s.last_day:%Y-%m-%d}",
                "工作内容": s.step,
                "状态": status,
            }
        )
    show_table(pd.DataFrame(rows), hide_index=True, key="rv-calendar")


def _reset_plan() -> None:
    for k in ("rv-cases-frozen", "rv-pool-frozen", "rv-case-draw", "rv-plan", "rv-seed"):
        st.session_state.pop(k, None)
    st.session_state.pop("rv-expert-seed", None)


def plan_setup() -> None:
    q = quarter_box("复核季度", "rv-plan-q")
    c1, c2 = st.columns(2)
    c1.text_input("操作人", value=user().username, disabled=True, key="rv-operator")
    supervisor = c2.text_input("监督人（必填）", key="rv-supervisor")
    if st.button("冻结复核病例与专家名单", type="primary", key="rv-freeze"):
        try:
            cases, pool = freeze_review(
                con(),
                q,
                dt.datetime.now().replace(microsecond=0),
                TY,
                operator=user().username,
                supervisor=supervisor_name(supervisor, required=True),
            )
        except dw.ERRORS as exc:
            st.error(literal(exc))
            return
        st.session_state["rv-cases-frozen"] = cases.draw_id
        st.session_state["rv-pool-frozen"] = pool.draw_id
        st.rerun()


def plan_frozen(cases_id: str, pool_id: str) -> None:
    """Both lists frozen: sizes and digests first, then the seeds."""
    cases, pool = dw.record(cases_id), dw.record(pool_id)
    cp, pp = cases.params(), pool.params()
    by_specialty = "、".join(f"{s} {n}" for s, n in pp["strata_sizes"].items())
    dw.projector(
        dw.frozen_block(
            cases,
            f"{cp['quarter']} 季度复核 · 第一随机：病例",
            "认定通过病例",
            f"<div class='note'>{dw.esc(cp['filter'])}；按医院各抽 "
            f"{percent(check_rate(cp['rate'], TY))}，共 {num(sum(cp['k'].values()))} 件</div>",
        )
    )
    dw.projector(
        dw.frozen_block(
            pool,
            f"{pp['quarter']} 季度复核 · 第二随机：专家",
            "候选专家",
            f"<div class='note'>按专业：{dw.esc(by_specialty)}</div>"
            f"<div class='note'>不作为候选 {num(len(pp['exclusions']))} 人（原因见抽取记录）</div>",
        )
    )
    dw.publish_buttons(cases, "复核病例", cp["quarter"], key="rv-cases-frozen-pub")
    dw.publish_buttons(pool, "复核专家", pp["quarter"], key="rv-pool-frozen-pub")
    if cases.population_size == 0:
        st.warning("上一季度没有认定通过的病例，无需复核抽取。")
        st.button("放弃，重新设置", key="rv-reset", on_click=_reset_plan)
        return
    st.subheader("确定随机种子并抽取")
    c1, c2 = st.columns(2)
    seed = c1.text_input("病例抽取种子", key="rv-seed", placeholder="例如 48213907561239847702")
    expert_seed = c2.text_input("专家抽取种子（留空则与病例抽取种子相同）", key="rv-expert-seed")
    b1, b2 = st.columns([1, 2])
    if b1.button("锁定种子并抽取", type="primary", key="rv-draw"):
        who = {"operator": user().username, "supervisor": cases.supervisor}
        try:
            case_draw = st.session_state.get("rv-case-draw")
            if case_draw is None:
                case_draw = draw(con(), cases_id, seed, **who).draw_id
                st.session_state["rv-case-draw"] = case_draw
            plan = draw_review_experts(
                con(), case_draw, pool_id, expert_seed.strip() or seed, **who
            )
        except dw.ERRORS as exc:
            st.error(literal(exc))
            return
        st.session_state["rv-plan"] = plan.draw_id
        st.rerun()
    b2.button(
        "放弃此名单，重新设置（冻结记录保留在审计日志中）", key="rv-reset", on_click=_reset_plan
    )


def plan_frame(experts_id: str) -> pd.DataFrame:
    """Who reviews which case (after replacements), with names masked per role."""
    rec = dw.record(experts_id)
    params = rec.params()
    state = current_state(con(), experts_id)
    specialty = {c[0]: c[1] for c in params["cases"]}
    disease = case_diseases(con(), list(specialty))
    info = dw.experts([p.id for p in state.picks]).set_index("expert_id")
    hospitals = dw.hospital_names()
    rows = []
    for a in state.assignments:
        e = info.loc[a["expert_id"]] if a["expert_id"] in info.index else None
        rows.append(
            {
                "专业": specialty.get(a["case_id"], ""),
                "专家编码": a["expert_id"],
                "专家姓名": dw.person_name(None if e is None else e["expert_name"]),
                "专家所在医院": "" if e is None else hospitals.get(e["hospital_id"], ""),
                "申报编号": a["case_id"],
                "病种名称": disease.get(a["case_id"], ""),
                "病例所在医院": hospitals.get(a["case_hospital_id"], a["case_hospital_id"]),
                "病例医院编码": a["case_hospital_id"],
            }
        )
    df = pd.DataFrame(
        rows,
        columns=[
            "专业",
            "专家编码",
            "专家姓名",
            "专家所在医院",
            "申报编号",
            "病种名称",
            "病例所在医院",
            "病例医院编码",
        ],
    )
    return dw.in_scope(df.sort_values(["专业", "专家编码", "申报编号"]), "病例医院编码")


def plan_view(experts_id: str) -> None:
    """A quarter's plan: counts, experts per specialty, the assignment, files and records."""
    rec = dw.record(experts_id)
    params = rec.params()
    cases_rec = dw.record(params["cases_draw_id"])
    state = current_state(con(), experts_id)
    quarter = params["quarter"]
    st.subheader(f"{quarter} 复核方案")
    dw.record_caption(cases_rec)
    dw.record_caption(rec)
    c = st.columns(4)
    c[0].metric("复核病例", num(len(params["cases"])))
    c[1].metric("涉及专业", num(len(params["k"])))
    c[2].metric("抽取专家", num(len(state.picks)))
    c[3].metric("未能分配病例", num(len(params["unassigned"])))
    s1, s2 = st.columns(2)
    s1.markdown("**病例抽取种子**")
    s1.code(cases_rec.seed or "", language=None)
    s2.markdown("**专家抽取种子**")
    s2.code(rec.seed or "", language=None)
    if params["unassigned"]:
        st.warning(
            "以下病例因回避后本专业专家不足未能分配：" + literal("、".join(params["unassigned"]))
        )
    per = pd.DataFrame(
        [
            {
                "专业": s,
                "复核病例数": sum(1 for c in params["cases"] if c[1] == s),
                "抽取专家数": k,
                "候选专家数": params["strata_sizes"].get(s, 0),
            }
            for s, k in params["k"].items()
        ]
    )
    st.markdown("#### 各专业专家人数")
    st.caption(
        f"每专业专家数 = max({params['min_experts_per_specialty']}, ceil(病例数 / "
        f"{params['cases_per_expert']}))，因回避无法分配时依次递补下一位。"
    )
    show_table(per, hide_index=True, key="rv-per-specialty", column_config=list_columns(per))
    st.markdown("#### 病例分配（专家不复核本院病例）")
    plan = plan_frame(experts_id)
    show_table(plan, hide_index=True, key="rv-plan-table", column_config=list_columns(plan))
    download_buttons(plan, "复核方案", quarter, key="rv-plan-dl")
    dw.replacements_table(state, key="rv-replacements")
    if dw.can_draw():
        dw.replacement_form(rec, state.picks, key="rv")
    estimates_section(cases_rec.draw_id, quarter, key="rv-est")
    st.markdown("#### 公示与记录")
    for r, what in ((cases_rec, "复核病例"), (rec, "复核专家")):
        st.markdown(f"**{dw.KIND_LABEL[r.kind]}**")
        dw.publish_buttons(r, what, quarter, key=f"rv-pub-{r.draw_id}")
        dw.pdf_buttons(r, key=f"rv-pdf-{r.draw_id}")


def plan_section() -> None:
    if dw.can_draw():
        mode = st.radio(
            "复核抽取",
            ["新建复核抽取", "查看已有方案"],
            horizontal=True,
            key="rv-plan-mode",
            label_visibility="collapsed",
        )
    else:
        mode = "查看已有方案"
    if mode == "查看已有方案":
        recs = dw.records(("review_experts",))
        if recs.empty:
            st.info("还没有季度复核抽取记录。")
            return
        chosen = dw.record_choice(recs, "复核方案", key="rv-plan-pick")
        plan_view(chosen)
        return
    if "rv-plan" in st.session_state:
        st.button("开始新的复核抽取", key="rv-new", on_click=_reset_plan)
        plan_view(st.session_state["rv-plan"])
    elif "rv-cases-frozen" in st.session_state:
        plan_frozen(st.session_state["rv-cases-frozen"], st.session_state["rv-pool-frozen"])
    else:
        plan_setup()


def _reset_appeal() -> None:
    for k in ("rv-appeal-frozen", "rv-appeal-draw", "rv-appeal-seed"):
        st.session_state.pop(k, None)


def panel_view(draw_id: str) -> None:
    rec = dw.record(draw_id)
    params = rec.params()
    state = current_state(con(), draw_id)
    info = dw.experts([p.id for p in state.picks]).set_index("expert_id")
    hospitals = dw.hospital_names()
    st.subheader(f"申诉病例 {literal(params['case_id'])} 的复核专家")
    dw.record_caption(rec)
    st.markdown("**随机种子（已锁定）**")
    st.code(rec.seed or "", language=None)
    rows = [
        {
            "序号": i + 1,
            "专家编码": p.id,
            "姓名": dw.person_name(info.loc[p.id, "expert_name"] if p.id in info.index else None),
            "所在医院": hospitals.get(p.hospital_id or "", p.hospital_id or ""),
            "排序": p.rank,
            "密钥": p.key,
        }
        for i, p in enumerate(state.picks)
    ]
    panel = pd.DataFrame(rows)
    show_table(panel, hide_index=True, key="rv-panel", column_config=list_columns(panel))
    for s, v in params.get("shortfall", {}).items():
        st.warning(f"{literal(s)} 候选专家只有 {v['available']} 人，少于 {v['k']} 人，已全部抽取。")
    dw.replacements_table(state, key="rv-panel-replacements")
    if dw.can_draw():
        dw.replacement_form(rec, state.picks, key="rv-appeal")
    dw.publish_buttons(rec, "申诉专家", params["case_id"], key=f"rv-appeal-pub-{rec.draw_id}")
    dw.pdf_buttons(rec, key=f"rv-appeal-pdf-{rec.draw_id}")


def appeal_section() -> None:
    st.caption(
        f"每个申诉病种由 {RULES['appeal_panel_size']} 名专家二次复核：候选人为该病种所属专业的合格专家，"
        "回避病例所在医院，以及已鉴定或复核过该病例的专家。"
    )
    if not dw.can_draw():
        recs = dw.records(("appeal_panel",))
        if recs.empty:
            st.info("还没有申诉复核专家抽取记录。")
            return
        panel_view(dw.record_choice(recs, "申诉专家抽取记录", key="rv-appeal-pick"))
        return
    frozen_id = st.session_state.get("rv-appeal-frozen")
    draw_id = st.session_state.get("rv-appeal-draw")
    if draw_id:
        st.button("抽取另一申诉病例", key="rv-appeal-new", on_click=_reset_appeal)
        panel_view(draw_id)
        return
    if frozen_id is None:
        c1, c2 = st.columns(2)
        case_id = c1.text_input("申诉病例的申报编号", key="rv-appeal-case")
        supervisor = c2.text_input("监督人（必填）", key="rv-appeal-supervisor")
        if st.button("冻结候选专家名单", type="primary", key="rv-appeal-freeze"):
            try:
                frozen = freeze_appeal(
                    con(),
                    case_id.strip(),
                    dt.datetime.now().replace(microsecond=0),
                    TY,
                    operator=user().username,
                    supervisor=supervisor_name(supervisor, required=True),
                )
            except dw.ERRORS as exc:
                st.error(literal(exc))
                return
            st.session_state["rv-appeal-frozen"] = frozen.draw_id
            st.rerun()
        return
    rec = dw.record(frozen_id)
    params = rec.params()
    hospitals = dw.hospital_names()
    avoid = "、".join(hospitals.get(h, h) for h in params["avoid_hospitals"])
    dw.projector(
        dw.frozen_block(
            rec,
            f"申诉病例 {params['case_id']} · {params['specialty']} 二次复核专家",
            "候选专家",
            f"<div class='note'>回避医院：{dw.esc(avoid)}；回避已鉴定或复核该病例的专家："
            f"{dw.esc('、'.join(params['avoid_experts']) or '无')}</div>"
            f"<div class='note'>抽取 {params['n']} 人</div>",
        )
    )
    dw.publish_buttons(rec, "申诉专家", params["case_id"], key="rv-appeal-frozen-pub")
    seed = st.text_input("随机种子", key="rv-appeal-seed", placeholder="例如 48213907561239847702")
    b1, b2 = st.columns([1, 2])
    if b1.button("锁定种子并抽取", type="primary", key="rv-appeal-draw-go"):
        try:
            res = draw(con(), frozen_id, seed, operator=user().username, supervisor=rec.supervisor)
        except dw.ERRORS as exc:
            st.error(literal(exc))
            return
        st.session_state["rv-appeal-draw"] = res.draw_id
        st.rerun()
    b2.button(
        "放弃此名单（冻结记录保留在审计日志中）", key="rv-appeal-reset", on_click=_reset_appeal
    )


def _said(message: str) -> None:
    st.session_state["rv-said"] = message
    st.rerun()


def findings_upload(draw_id: str) -> None:
    """Import the filled-in list of the reviewed cases (复核结论 符合 / 不符合), all or nothing."""
    upload = st.file_uploader(
        "填好的复核名单（申报编号、复核结论 符合/不符合、追回金额、备注）",
        type=["xlsx", "csv"],
        key=f"rv-upload-{draw_id}",
    )
    if upload is None or not st.button("导入复核结论", key="rv-import"):
        return
    with tempfile.TemporaryDirectory() as tmp:
        try:
            (path,) = save_uploads([upload], Path(tmp))
            res = import_findings(con(), draw_id, path, recorded_by=user().username)
        except dw.ERRORS as exc:
            st.error(f"导入失败，未写入任何结论：{literal(exc)}")
            return
    _said(f"已记录复核结论 {num(res.recorded)} 条。")


def appeal_finding_form() -> None:
    """Each appeal panel member's opinion; the majority is the case's final finding."""
    panels = dw.records(("appeal_panel",))
    if panels.empty:
        st.info("还没有申诉复核专家抽取记录。")
        return
    panel_id = dw.record_choice(panels, "申诉专家抽取记录", key="rv-af-panel")
    members = [p.id for p in current_state(con(), panel_id).picks]
    case_id = dw.record(panel_id).params()["case_id"]
    st.caption(f"申诉病例 {literal(case_id)}：录入每位专家的意见，按多数意见确定最终结论。")
    cols = st.columns(max(len(members), 1))
    opinions = {
        m: cols[i].selectbox(f"专家 {literal(m)}", OPINIONS, key=f"rv-af-{panel_id}-{m}")
        for i, m in enumerate(members)
    }
    reason = st.text_input("说明（必填）", key="rv-af-reason")
    if st.button("记录二次复核结论", type="primary", key="rv-af-record"):
        try:
            rec = record_appeal_finding(con(), panel_id, opinions, reason, user().username)
        except dw.ERRORS as exc:
            st.error(literal(exc))
            return
        _said(f"已记录申诉病例 {rec.params()['case_id']} 的二次复核结论：{rec.params()['final']}。")


def results_section() -> None:
    """Per-hospital results of a quarter's review, the published version and, for city roles,
    the findings import and the appeal panels' opinions."""
    recs = dw.records(("review_cases",))
    if recs.empty:
        st.info("还没有季度复核病例抽取记录。")
        return
    draw_id = dw.record_choice(recs, "季度复核病例抽取记录", key="rv-res-pick")
    quarter = dw.record(draw_id).params().get("quarter", "")
    title = f"{quarter} 季度复核结果公示（抽取记录 {draw_id}）"
    df = dw.in_scope(public_results(con(), draw_id), "医院编码")
    st.markdown(f"#### {literal(title)}")
    show_table(
        df, hide_index=True, key="rv-results", column_config=list_columns(df, *RESULT_COUNTS)
    )
    st.caption(
        "最终结论：申诉病例按二次复核专家多数意见，其余按复核结论；公示表不含姓名与身份证号。"
    )
    c1, c2 = st.columns(2)
    with c1:
        book_button({"复核结果公示": df}, "复核结果公示", quarter, key="rv-res-xlsx", title=title)
    with c2:
        pdf_button(lambda: _public_pdf(df, title), "复核结果公示", quarter, "rv-res-pdf",
                   "下载公示 PDF")  # fmt: skip
    if dw.can_draw():
        st.markdown("#### 导入复核结论")
        findings_upload(draw_id)
        st.markdown("#### 申诉二次复核结论")
        appeal_finding_form()


def _public_pdf(df: pd.DataFrame, title: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return write_public_pdf(df, title, Path(tmp) / "public.pdf").read_bytes()


if need_data():
    QUARTERS = review_quarters()
    if said := st.session_state.pop("rv-said", None):
        st.success(literal(said))
    if not dw.can_draw():
        dw.read_only_notice()
    section = st.radio(
        "栏目", SECTIONS, horizontal=True, key="rv-section", label_visibility="collapsed"
    )
    if section == "复核日历":
        calendar_section()
    elif section == "季度复核抽取":
        plan_section()
    elif section == "申诉专家抽取":
        appeal_section()
    else:
        results_section()
