"""抽查 (ZZ-SPOTCHECK) — freeze the period's approved cases and show their digest, fix the seed,
draw ceil(rate × n) per hospital, hand out the retrieval list, record the findings.

Every step is a call to pipelines.draws; the page only collects the inputs and shows the records.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from decimal import Decimal
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import draw_widgets as dw
from dashboard.appraise_view import estimates_section, targeted_section
from dashboard.charts import show_table
from dashboard.common import (
    con,
    literal,
    mask_frame,
    need_data,
    num,
    page_header,
    profile,
    scope_district,
    user,
)
from dashboard.downloads import download_buttons
from dashboard.uploads import save_uploads
from pipelines.draws import (
    check_rate,
    current_state,
    draw,
    findings_summary,
    freeze_spot_check,
    import_findings,
    retrieval_list,
)
from pipelines.draws.engine import supervisor_name
from pipelines.draws.plan import Precision
from pipelines.draws.reference import approved_span, case_people
from pipelines.draws.spotcheck import coverage, floor_rate, percent, rule_text
from pipelines.errors import UsageError

PROFILE = profile()
MIN_RATE = check_rate(str(PROFILE["spot_check"]["min_rate"]), PROFILE)
DEFAULT_RATE = check_rate(str(PROFILE["spot_check"]["default_rate"]), PROFILE)
CUSTOM = "自定义期间"
FLAT, BY_PRECISION = "固定比例", "按精度确定样本量"
EDITOR_FILE = "页面录入.csv"

page_header(
    "抽查",
    f"ZZ-SPOTCHECK：按申报医院分层，每家医院抽取 比例 × 期间内鉴定通过件数（向上取整）件，比例不低于 "
    f"{percent(MIN_RATE)}（{PROFILE.label}规则）。先冻结名单并公示摘要，再确定随机种子。",
)


def _apply_quarter() -> None:
    label = st.session_state["sc-quarter"]
    if label != CUSTOM:
        q = next(q for q in QUARTERS if q.label == label)
        st.session_state["sc-from"], st.session_state["sc-to"] = q.first_day, q.last_day


def _reset() -> None:
    for k in ("sc-frozen", "sc-draw", "sc-seed"):
        st.session_state.pop(k, None)


def setup() -> None:
    """Step 1: the period, the rate and the supervisor → freeze (size and digest first)."""
    locked = "sc-frozen" in st.session_state
    st.subheader("① 期间与比例")
    c1, c2, c3 = st.columns([1.2, 1, 1])
    c1.selectbox(
        "季度快捷选择",
        [CUSTOM, *(q.label for q in QUARTERS)],
        key="sc-quarter",
        on_change=_apply_quarter,
        disabled=locked,
    )
    d1 = c2.date_input("办结日期起", key="sc-from", format="YYYY-MM-DD", disabled=locked)
    d2 = c3.date_input("办结日期止（含）", key="sc-to", format="YYYY-MM-DD", disabled=locked)
    c4, c5, c6 = st.columns([1, 1, 1.2])
    rate_pct = c4.number_input(
        "抽查比例（%）",
        key="sc-rate",
        max_value=100.0,
        step=1.0,
        format="%.1f",
        disabled=locked,
        help=f"默认 {percent(DEFAULT_RATE)}，最低 {percent(MIN_RATE)}（规则配置）",
    )
    c5.text_input("操作人", value=user().username, disabled=True, key="sc-operator")
    supervisor = c6.text_input(
        "监督人（必填）", key="sc-supervisor", placeholder="纪检等部门见证人姓名", disabled=locked
    )
    try:
        rate = check_rate(f"{round(rate_pct, 4):g}%", PROFILE)
        precision = precision_inputs(locked)
    except dw.ERRORS as exc:
        st.error(literal(exc))
        return
    if locked:
        return
    if st.button("冻结名单并生成摘要", type="primary", key="sc-freeze"):
        try:
            frozen = freeze_spot_check(
                con(),
                d1,
                d2,
                rate,
                PROFILE,
                operator=user().username,
                supervisor=supervisor_name(supervisor, required=True),
                precision=precision,
            )
        except dw.ERRORS as exc:
            st.error(literal(exc))
            return
        st.session_state["sc-frozen"] = frozen.draw_id
        st.rerun()


def precision_inputs(locked: bool) -> Precision | None:
    """The choice next to the flat rate: a sample size per hospital for a precision."""
    mode = st.radio(
        "样本量确定方式", [FLAT, BY_PRECISION], horizontal=True, key="sc-size", disabled=locked
    )
    if mode == FLAT:
        return None
    c1, c2, c3 = st.columns(3)
    p0 = c1.number_input("预期不合格率（%）", 0.1, 99.9, 5.0, 0.5, key="sc-p0", disabled=locked)
    d = c2.number_input("允许误差 ±（%）", 0.1, 50.0, 5.0, 0.5, key="sc-d", disabled=locked)
    c = c3.selectbox("置信度", ["80%", "90%", "95%", "99%"], index=1, key="sc-c", disabled=locked)
    plan = Precision.parse(f"{p0:g}%", f"{d:g}%", c, PROFILE)
    st.caption(f"{literal(plan.describe())}。上方抽查比例不再使用。")
    return plan


COVERAGE_HEADERS = {
    "hospital_id": "医院编码",
    "hospital_name": "医院名称",
    "frame_n": "鉴定通过件数",
    "k": "应抽件数",
    "drawn_n": "抽取件数",
    "share": "抽查比例",
    "meets": "达到比例",
}


def coverage_frame(draw_id: str, columns: list[str]) -> pd.DataFrame:
    """pipelines' coverage of a spot check (the user's district only), with Chinese headers."""
    df = coverage(con(), draw_id, scope_district()).to_pandas()[columns]
    df["hospital_name"] = df["hospital_name"].fillna("")
    if "share" in df:
        df["share"] = 100 * df["share"].astype(float)
    if "meets" in df:
        df["meets"] = df["meets"].map({True: "是", False: "否"})
    return df.rename(columns=COVERAGE_HEADERS)


def strata_table(frozen_id: str) -> pd.DataFrame:
    """Per hospital: approved cases n and the k fixed at freezing (before the seed)."""
    return coverage_frame(frozen_id, ["hospital_id", "hospital_name", "frame_n", "k"])


def frozen_step(frozen_id: str) -> None:
    """Show the frozen population FIRST, then ask for the seed and draw."""
    rec = dw.record(frozen_id)
    params = rec.params()
    st.subheader("② 名单已冻结：先公示人数与摘要")
    dw.projector(
        dw.frozen_block(
            rec,
            f"{params['date_from']} 至 {params['date_to']} 鉴定通过病例",
            "名单件数",
            f"<div class='note'>{rule_text(params)}，"
            f"{len(params['k'])} 家医院应抽 {num(sum(params['k'].values()))} 件</div>",
        )
    )
    period = dw.period_label(
        dt.date.fromisoformat(params["date_from"]), dt.date.fromisoformat(params["date_to"])
    )
    with st.expander("各医院鉴定通过件数与应抽件数", expanded=False):
        show_table(
            strata_table(frozen_id),
            hide_index=True,
            key="sc-strata",
            column_config={
                "鉴定通过件数": dw.count_col("鉴定通过件数"),
                "应抽件数": dw.count_col("应抽件数"),
            },
        )
    dw.publish_buttons(rec, "抽查", period, key="sc-frozen-pub")
    if rec.population_size == 0:
        st.warning("该期间没有鉴定通过的病例，无需抽取。")
        st.button("放弃此名单，重新设置", key="sc-reset", on_click=_reset)
        return
    st.subheader("③ 确定随机种子并抽取")
    st.caption(
        "种子为文本，例如监督人与操作人各掷十面骰子得到的 20 位数字；抽取后种子锁定，不可更改。"
    )
    seed = st.text_input("随机种子", key="sc-seed", placeholder="例如 48213907561239847702")
    c1, c2 = st.columns([1, 3])
    if c1.button("抽取", type="primary", key="sc-draw-go"):
        try:
            res = draw(con(), frozen_id, seed, operator=user().username, supervisor=rec.supervisor)
        except dw.ERRORS as exc:
            st.error(literal(exc))
            return
        st.session_state["sc-draw"] = res.draw_id
        st.rerun()
    c2.button("放弃此名单，重新设置", key="sc-reset", on_click=_reset)


def retrieval_frame(draw_id: str, picks) -> pd.DataFrame:
    """The retrieval list (调阅清单) with the insured person and each pick's key, as on screen."""
    district = scope_district()
    df = retrieval_list(con(), draw_id, district).to_pandas()
    people = case_people(con(), df["申报编号"].tolist(), district).to_pandas()
    people.columns = ["申报编号", "姓名", "身份证号"]
    keys = pd.DataFrame({"申报编号": [p.id for p in picks], "密钥": [p.key for p in picks]})
    df = df.merge(people, on="申报编号", how="left").merge(keys, on="申报编号", how="left")
    order = ["申报编号", "姓名", "身份证号", "医院编码", "医院名称", "院内序号", "病种名称"]
    order += ["办结时间", "密钥", "抽查结论", "追回金额", "备注"]
    return df[order]


def latest_findings(draw_id: str) -> pd.DataFrame:
    return (
        con()
        .execute(
            "select case_id as 申报编号, result as 抽查结论, cast(recover_yuan as double) as 追回金额, "
            "note as 备注 from spot_check_findings_latest where draw_id = ?",
            [draw_id],
        )
        .df()
    )


def _friendly(message: str, case_ids: list[str]) -> str:
    """'页面录入.csv 第 3 行：…' → '表格第 2 行（申报编号 …）：…' for the on-page editor."""

    def row(m: re.Match) -> str:
        i = int(m.group(1)) - 1
        who = f"（申报编号 {case_ids[i - 1]}）" if 0 < i <= len(case_ids) else ""
        return f"表格第 {i} 行{who}"

    return re.sub(rf"{re.escape(EDITOR_FILE)} 第 (\d+) 行", row, message)


def _import(draw_id: str, path: Path) -> str | None:
    """Import a findings file; None when done, else the error naming the line."""
    try:
        res = import_findings(con(), draw_id, path, recorded_by=user().username)
    except dw.ERRORS as exc:
        return str(exc)
    st.session_state["sc-flash"] = f"已记录抽查结论 {num(res.recorded)} 条。"
    st.session_state["sc-editor-v"] = st.session_state.get("sc-editor-v", 0) + 1
    return None


def findings_editor(draw_id: str, listing: pd.DataFrame) -> None:
    """Record findings in the table, or upload the filled-in retrieval list."""
    base = listing[["申报编号", "医院名称", "病种名称"]].merge(
        latest_findings(draw_id), on="申报编号", how="left"
    )
    base["抽查结论"] = base["抽查结论"].astype(object)
    base["备注"] = base["备注"].astype(object)
    version = st.session_state.get("sc-editor-v", 0)
    st.caption(
        "在表格中选择抽查结论并填写追回金额、备注后保存；只保存改动的行。已记录的结论不能清空，"
        "如需更正请改为正确的结论（每次更正都保留记录）。"
    )
    edited = st.data_editor(
        base,
        hide_index=True,
        num_rows="fixed",
        disabled=["申报编号", "医院名称", "病种名称"],
        key=f"sc-editor-{draw_id}-{version}",
        column_config={
            "抽查结论": st.column_config.SelectboxColumn("抽查结论", options=["合格", "不合格"]),
            "追回金额": st.column_config.NumberColumn("追回金额", min_value=0.0, format="%,.2f"),
            "备注": st.column_config.TextColumn("备注"),
        },
    )
    if st.button("保存表格中的抽查结论", type="primary", key="sc-save"):
        same = (
            edited[["抽查结论", "追回金额", "备注"]].fillna("")
            == base[["抽查结论", "追回金额", "备注"]].fillna("")
        ).all(axis=1)
        out = edited[["申报编号", "抽查结论", "追回金额", "备注"]].copy()
        out.loc[same, "抽查结论"] = None  # unchanged rows are skipped, not recorded again
        out["追回金额"] = out["追回金额"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
        if same.all():
            st.info("表格中没有修改。")
            return
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / EDITOR_FILE
            out.to_csv(path, index=False, encoding="utf-8-sig")
            problem = _import(draw_id, path)
        if problem:
            st.error(literal(_friendly(problem, out["申报编号"].tolist())))
            return
        st.rerun()

    st.markdown(
        "**或上传填好的抽查名单**（下载的 xlsx / CSV，填写 抽查结论、追回金额、备注 后上传）"
    )
    upload = st.file_uploader(
        "填好的抽查名单", type=["xlsx", "csv"], key=f"sc-upload-{draw_id}-{version}"
    )
    if upload is not None and st.button("导入抽查结论", key="sc-import"):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                (path,) = save_uploads([upload], Path(tmp))
            except UsageError as exc:
                st.error(f"导入失败，未写入任何结论：{literal(exc)}")
                return
            problem = _import(draw_id, path)
        if problem:
            st.error(f"导入失败，未写入任何结论：{literal(problem)}")
            return
        st.rerun()


def summary(draw_id: str, period: str) -> None:
    df = findings_summary(con(), draw_id, scope_district()).to_pandas()
    df = df.rename(
        columns={
            "hospital_id": "医院编码",
            "hospital_name": "医院名称",
            "cases_drawn": "抽取件数",
            "cases_checked": "已核查",
            "cases_passed": "合格",
            "cases_failed": "不合格",
            "recover_yuan": "追回金额（元）",
        }
    )
    df["追回金额（元）"] = df["追回金额（元）"].astype(float)
    c = st.columns(4)
    c[0].metric("抽取件数", num(df["抽取件数"].sum()))
    c[1].metric("已核查", num(df["已核查"].sum()))
    c[2].metric("不合格", num(df["不合格"].sum()))
    c[3].metric("追回金额（元）", f"{df['追回金额（元）'].sum():,.2f}")
    show_table(
        df,
        hide_index=True,
        key="sc-summary",
        column_config={
            **{k: dw.count_col(k) for k in ("抽取件数", "已核查", "合格", "不合格")},
            "追回金额（元）": st.column_config.NumberColumn("追回金额（元）", format="%,.2f"),
        },
    )
    download_buttons(df, "抽查汇总", period, key="sc-summary-dl")


def result(draw_id: str) -> None:
    """A spot-check draw: its facts, coverage, the list with keys, files, findings, summary."""
    rec = dw.record(draw_id)
    params = rec.params()
    picks = current_state(con(), draw_id).picks
    period = dw.period_label(
        dt.date.fromisoformat(params["date_from"]), dt.date.fromisoformat(params["date_to"])
    )
    st.subheader(
        f"抽查结果 {literal(rec.draw_id)}"
        f"（{literal(params['date_from'])} 至 {literal(params['date_to'])}）"
    )
    dw.record_caption(rec)
    c = st.columns(4)
    c[0].metric("期间", period)
    c[1].metric(
        "抽查比例" if "rate" in params else "最低抽查比例", percent(Decimal(floor_rate(params)))
    )
    if "precision" in params:
        st.caption(literal(rule_text(params)))
    c[2].metric("鉴定通过（名单件数）", num(rec.population_size))
    c[3].metric("抽取件数", num(len(picks)))
    c1, c2 = st.columns(2)
    c1.markdown("**随机种子（已锁定）**")
    c1.code(rec.seed or "", language=None)
    c2.markdown("**名单摘要 SHA-256**")
    c2.code(rec.population_digest or "", language=None)

    st.markdown("#### 各医院抽查比例")
    cov = coverage_frame(draw_id, [c for c in COVERAGE_HEADERS if c != "k"])
    short = cov[cov["达到比例"] == "否"]
    if short.empty:
        st.success(f"每家医院的抽查比例均不低于 {percent(Decimal(floor_rate(params)))}。")
    else:
        st.error(f"{len(short)} 家医院低于抽查比例，请核对记录。")
    show_table(
        cov,
        hide_index=True,
        key="sc-coverage",
        column_config={
            "鉴定通过件数": dw.count_col("鉴定通过件数"),
            "抽取件数": dw.count_col("抽取件数"),
            "抽查比例": st.column_config.NumberColumn("抽查比例", format="%.1f%%"),
        },
    )

    st.markdown("#### 抽查名单（调阅清单）")
    listing = retrieval_frame(draw_id, picks)
    st.caption(
        f"共 {num(len(listing))} 件；下载后按“抽查结论（合格/不合格）、追回金额、备注”填写，再在下方导入。"
    )
    show_table(mask_frame(listing).fillna(""), hide_index=True, key="sc-list")
    download_buttons(listing, "抽查名单", period, key="sc-list-dl")

    st.markdown("#### 公示与复核文件")
    st.caption("候选名单与抽取结果供公示；任何人可用独立校验工具 tools/verify_draw.py 复算：")
    dw.publish_buttons(rec, "抽查", period, key="sc-pub")
    st.code(dw.verify_command(rec, "抽查候选名单.csv", "抽查抽取结果.csv"), language="bash")
    dw.pdf_buttons(rec, key="sc-pdf")

    st.markdown("#### 录入抽查结论")
    if flash := st.session_state.pop("sc-flash", None):
        st.success(literal(flash))
    if dw.can_draw():
        findings_editor(draw_id, listing)
    else:
        st.caption("您的角色只能查看抽查结论。")
        show_table(
            listing[["申报编号", "医院名称"]]
            .merge(latest_findings(draw_id), on="申报编号")
            .fillna({"备注": ""}),
            hide_index=True,
            key="sc-findings-ro",
        )
    st.markdown("#### 各医院抽查结论汇总")
    summary(draw_id, period)
    estimates_section(draw_id, period, key="sc-est")
    targeted_section(draw_id, period, key="sc-tp")


def existing() -> None:
    recs = dw.records(("spot_check",))
    if recs.empty:
        st.info("还没有抽查记录。")
        return
    chosen = dw.record_choice(recs, "抽查记录", key="sc-pick")
    if chosen:
        result(chosen)


if need_data():
    QUARTERS = dw.quarters_between(*approved_span(con()))
    # Each field falls back to its default on its own: Streamlit drops a widget's state after a
    # run that did not draw it (another mode, another page, a run cut short by the next click),
    # and a rate that came back as 0.0 was seen under load.
    today = dt.date.today()
    previous = next((q for q in QUARTERS if q.last_day < today), QUARTERS[-1])
    defaults = {
        "sc-quarter": previous.label,
        "sc-from": previous.first_day,
        "sc-to": previous.last_day,
        "sc-rate": float(DEFAULT_RATE * 100),
    }
    if st.session_state.get("sc-quarter", previous.label) != CUSTOM:
        chosen = next(
            (q for q in QUARTERS if q.label == st.session_state.get("sc-quarter")), previous
        )
        defaults["sc-from"], defaults["sc-to"] = chosen.first_day, chosen.last_day
    for k, v in defaults.items():
        if st.session_state.get(k) is None:
            st.session_state[k] = v
    modes = ["新建抽查", "查看已有抽查"] if dw.can_draw() else ["查看已有抽查"]
    if not dw.can_draw():
        dw.read_only_notice()
    mode = st.radio("操作", modes, horizontal=True, key="sc-mode", label_visibility="collapsed")
    if mode == "新建抽查":
        if "sc-draw" in st.session_state:
            st.button("开始新的抽查", key="sc-new", on_click=_reset)
            result(st.session_state["sc-draw"])
        else:
            setup()
            if "sc-frozen" in st.session_state:
                frozen_step(st.session_state["sc-frozen"])
    else:
        existing()
