"""双随机抽取 — the meeting draw of experts, on a projector (shared/RULES.md "Verifiable draws").

Setup → ① freeze: the candidates, the exclusions with reasons and the digest in large type,
before any seed exists → ② the seed is typed in and locked with the draw; there is no re-roll →
③ presentation: one pick revealed at a time. A drawn expert who cannot serve is replaced by the
next-ranked candidate with the reason recorded; a redraw needs a written reason and becomes a
new record. Every step is a call to pipelines.draws.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pandas as pd
import streamlit as st

from dashboard import draw_widgets as dw
from dashboard.charts import show_table
from dashboard.common import con, literal, need_data, num, page_header, profile, user
from pipelines.draws import current_state, draw, freeze_experts, reference
from pipelines.draws.engine import supervisor_name
from pipelines.draws.experts import REASONS

PROFILE = profile()
STEPS = ["冻结候选名单", "锁定种子并抽取", "逐一揭晓"]
KEYS = (
    "md-frozen",
    "md-draw",
    "md-revealed",
    "md-seed",
    "md-reason",
    "md-redraw-seed",
    "md-redraw-reason",
    "md-projector",
    "md-slot",
)

if not (st.session_state.get("md-projector") and st.session_state.get("md-draw")):
    page_header(
        "双随机抽取",
        "会议现场随机抽取专家：先冻结候选名单并在投影上公示人数与摘要，再由两人掷骰子确定随机种子；"
        "种子锁定后逐一揭晓，不设重抽按钮。每一步都记入审计日志。",
    )


def _reset() -> None:
    for k in KEYS:
        st.session_state.pop(k, None)


def _open(frozen_id: str, draw_id: str | None) -> None:
    _reset()
    st.session_state["md-frozen"] = frozen_id
    if draw_id:
        st.session_state["md-draw"] = draw_id
        st.session_state["md-revealed"] = 0 if dw.can_draw() else 10**6


def setup() -> None:
    """Specialty, n, hospitals to avoid, operator and supervisor → freeze the candidates."""
    specialties = reference.specialties(con())
    hospitals = dw.hospital_names()
    st.subheader("抽取设置")
    c1, c2 = st.columns([2, 1])
    specialty = c1.selectbox("专业", specialties, key="md-specialty")
    n = c2.number_input("抽取人数", min_value=1, max_value=99, value=5, step=1, key="md-n")
    avoid = st.multiselect(
        "回避医院（这些医院的专家不作为候选人）",
        list(hospitals),
        format_func=lambda h: f"{hospitals[h]}（{h}）",
        key="md-avoid",
        placeholder="选择需回避的医院，可多选",
    )
    c3, c4 = st.columns(2)
    c3.text_input("操作人", value=user().username, disabled=True, key="md-operator")
    supervisor = c4.text_input(
        "监督人（必填）", key="md-supervisor", placeholder="纪检等部门见证人姓名"
    )
    as_of = dt.datetime.now().replace(microsecond=0)
    st.caption(
        f"专家资格按冻结时刻判断（现在：{as_of:%Y-%m-%d %H:%M:%S}）：已入库、未取消资格、职称与所在医院"
        "符合要求，且不在回避医院。"
    )
    if st.button("冻结候选名单", type="primary", key="md-freeze"):
        try:
            frozen = freeze_experts(
                con(),
                specialty,
                int(n),
                as_of,
                PROFILE,
                avoid,
                operator=user().username,
                supervisor=supervisor_name(supervisor, required=True),
            )
        except dw.ERRORS as exc:
            st.error(literal(exc))
            return
        _open(frozen.draw_id, None)
        st.rerun()


def exclusions_frame(excluded: list[dict]) -> pd.DataFrame:
    info = dw.experts([e["id"] for e in excluded]).set_index("expert_id")
    hospitals = dw.hospital_names()
    rows = []
    for e in excluded:
        x = info.loc[e["id"]] if e["id"] in info.index else None
        rows.append(
            {
                "专家编码": e["id"],
                "姓名": dw.person_name(None if x is None else x["expert_name"]),
                "所在医院": "" if x is None else hospitals.get(x["hospital_id"], x["hospital_id"]),
                "原因": e["reason"],
            }
        )
    return pd.DataFrame(rows, columns=["专家编码", "姓名", "所在医院", "原因"])


def frozen_view(frozen_id: str, drawn: bool) -> None:
    """Step ① on the projector: candidates, exclusions by reason, digest — before the seed."""
    rec = dw.record(frozen_id)
    params = rec.params()
    excluded = params.get("exclusions", [])
    counts = Counter(e["reason_code"] for e in excluded)
    reasons = "".join(
        f"<div class='note'>· {dw.esc(REASONS.get(code, code))}：{n} 人</div>"
        for code, n in counts.most_common()
    )
    avoid = params.get("avoid_hospitals") or []
    names = dw.hospital_names()
    avoid_line = (
        f"<div class='note'>回避医院：{dw.esc('、'.join(names.get(h, h) for h in avoid))}</div>"
        if avoid
        else ""
    )
    facts = (
        "<div class='facts'>"
        + dw.fact("抽取人数", str(params["n"]))
        + dw.fact("不作为候选", f"{num(len(excluded))} 人")
        + "</div>"
        + (reasons or "<div class='note'>没有被排除的专家。</div>")
        + avoid_line
    )
    if not drawn:
        dw.projector(
            dw.steps_bar(STEPS, 1)
            + dw.frozen_block(rec, f"{params['specialty']} 专家随机抽取", "候选专家人数", facts)
        )
    if rec.population_size < params["n"]:
        st.warning(
            f"候选专家只有 {num(rec.population_size)} 人，少于抽取人数 {params['n']}：抽取时将全部入选。"
        )
    with st.expander(f"不作为候选的 {num(len(excluded))} 人及原因", expanded=not drawn):
        show_table(exclusions_frame(excluded), hide_index=True, key="md-excluded")
    if not drawn:
        dw.publish_buttons(rec, "专家抽取", params["specialty"], key="md-frozen-pub")


def seed_step(frozen_id: str) -> None:
    """Step ②: the seed is typed in once; the draw locks it (no re-roll)."""
    rec = dw.record(frozen_id)
    st.subheader("确定随机种子")
    st.caption(
        "由监督人与操作人各掷十面骰子，共得 20 位数字，当众读出后输入。按“锁定种子并抽取”后种子不可更改。"
    )
    seed = st.text_input("随机种子", key="md-seed", placeholder="例如 48213907561239847702")
    c1, c2 = st.columns([1, 2])
    if c1.button("锁定种子并抽取", type="primary", key="md-lock"):
        try:
            res = draw(con(), frozen_id, seed, operator=user().username, supervisor=rec.supervisor)
        except dw.ERRORS as exc:
            st.error(literal(exc))
            return
        st.session_state["md-draw"] = res.draw_id
        st.session_state["md-revealed"] = 0
        st.rerun()
    c2.button("放弃此名单，返回设置（冻结记录保留在审计日志中）", key="md-back", on_click=_reset)


def pick_card(slot: int, pick, info: pd.DataFrame, swap: dict | None) -> str:
    hospitals = dw.hospital_names()
    x = info.loc[pick.id] if pick.id in info.index else None
    name = dw.person_name(None if x is None else x["expert_name"])
    hospital = hospitals.get(pick.hospital_id or "", pick.hospital_id or "")
    swap_line = ""
    if swap:
        swap_line = (
            f"<div class='swap'>替补：接替 <s>{dw.esc(swap['replaced'])}</s>（按序递补第 "
            f"{pick.rank} 位） 原因：{dw.esc(swap['reason'])}</div>"
        )
    return (
        "<div class='card'>"
        f"<div class='rank'>第<b>{slot}</b>位</div>"
        f"<div><div class='who'><span class='id mono'>{dw.esc(pick.id)}</span>{dw.esc(name)}</div>"
        f"<div class='hosp'>{dw.esc(hospital)}</div>{swap_line}</div>"
        f"<div class='key mono'>排序 {pick.rank}<br>密钥 {dw.esc(pick.key[:12])}…</div></div>"
    )


def presentation(draw_id: str) -> None:
    """Step ③: large type, one pick at a time, replacements with their reasons."""
    rec = dw.record(draw_id)
    state = current_state(con(), draw_id)
    picks = state.picks
    info = dw.experts([p.id for p in picks]).set_index("expert_id")
    swaps = {r["replacement"]: r for r in state.replacements}
    shown = min(st.session_state.get("md-revealed", len(picks)), len(picks))
    params = rec.params()
    cards = [pick_card(i + 1, p, info, swaps.get(p.id)) for i, p in enumerate(picks[:shown])]
    cards += [
        f"<div class='card wait'><div class='rank'>第<b>{i + 1}</b>位</div>"
        "<div class='wait-text'>待揭晓</div></div>"
        for i in range(shown, len(picks))
    ]
    head = (
        dw.steps_bar(STEPS, 2 if shown < len(picks) else 3)
        + f"<div class='title'>{dw.esc(params['specialty'])} 专家随机抽取 · 抽取 {len(picks)} 人"
        f"（候选 {num(rec.population_size)} 人）</div>"
        + dw.seed_block(rec)
        + "<div class='label' style='margin-top:10px'>名单摘要 SHA-256（抽取前已公示）</div>"
        + "<div class='digest mono' style='font-size:26px'>"
        f"{dw.esc(dw.digest_lines(rec.population_digest or ''))}</div>"
        + (f"<div class='swap'>重抽原因：{dw.esc(rec.reason)}</div>" if rec.reason else "")
    )
    dw.projector(head + "".join(cards))
    st.button(
        "投影模式（全屏，每屏一位，替补与重抽表单不在投影上）",
        key="md-projector-on",
        on_click=_project,
        args=(shown,),
    )
    if shown < len(picks):
        if st.button(f"揭晓下一位（{shown + 1}/{len(picks)}）", type="primary", key="md-reveal"):
            st.session_state["md-revealed"] = shown + 1
            st.rerun()
        return
    st.success(f"已全部揭晓。记录 {literal(rec.draw_id)}，种子与结果已写入审计日志。")
    dw.record_caption(rec)
    dw.replacements_table(state, key="md-replacements")
    if dw.can_draw():
        dw.replacement_form(rec, picks, key="md")
    st.markdown("#### 记录与公示文件")
    dw.pdf_buttons(rec, key="md-pdf")
    dw.publish_buttons(rec, "专家抽取", params["specialty"], key="md-pub")
    st.code(dw.verify_command(rec, "专家抽取候选名单.csv", "专家抽取结果.csv"), language="bash")
    if dw.can_draw():
        redraw_form(rec)


def _project(revealed: int) -> None:
    """Enter the projector screen at the last pick revealed (the first when none is)."""
    st.session_state["md-projector"] = True
    st.session_state["md-slot"] = max(revealed - 1, 0)
    st.session_state["md-revealed"] = max(revealed, 1)


def _step(by: int, total: int) -> None:
    """Previous / next pick on the projector screen; going forward reveals the next one."""
    slot = min(max(st.session_state.get("md-slot", 0) + by, 0), total - 1)
    st.session_state["md-slot"] = slot
    st.session_state["md-revealed"] = max(st.session_state.get("md-revealed", 0), slot + 1)


def screen_body(rec, state, slot: int) -> str:
    """One pick in large type: its place, id, name, hospital, and who witnessed the draw."""
    pick = state.picks[slot]
    info = dw.experts([pick.id]).set_index("expert_id")
    name = dw.person_name(info.loc[pick.id, "expert_name"] if pick.id in info.index else None)
    hospital = dw.hospital_names().get(pick.hospital_id or "", pick.hospital_id or "")
    swap = next((r for r in state.replacements if r["replacement"] == pick.id), None)
    swap_line = (
        dw.fit_line(f"替补：接替 {swap['replaced']}（原因：{swap['reason']}）", "swap", 28)
        if swap
        else ""
    )
    params, n = rec.params(), len(state.picks)
    witness = rec.supervisor or "—"
    return (
        dw.fit_line(
            f"{params['specialty']} 专家随机抽取 · 抽取 {n} 人（候选 {num(rec.population_size)} 人）",
            "scr-head",
            30,
        )
        + dw.fit_line(f"第 {slot + 1} 位 / 共 {n} 位", "scr-slot", 44)
        + dw.fit_line(pick.id, "scr-id", 52, mono=True)
        + dw.fit_line(name, "scr-name", 128)
        + dw.fit_line(hospital, "scr-hosp", 44)
        + swap_line
        + dw.fit_line(
            f"监督人 {witness}",
            "scr-witness",
            40,
            inner=f"监督人 <b class='scr-supervisor'>{dw.esc(witness)}</b>",
        )
        + dw.fit_line(
            f"操作人 {rec.operator or '—'} · 排序第 {pick.rank} 位 · 记录 {rec.draw_id}",
            "scr-foot",
            26,
        )
    )


def projector_screen(draw_id: str) -> None:
    """The projector view: full window without the sidebar, one pick per screen, no forms."""
    rec = dw.record(draw_id)
    state = current_state(con(), draw_id)
    total = len(state.picks)
    slot = min(st.session_state.get("md-slot", 0), total - 1)
    dw.screen(screen_body(rec, state, slot))
    c1, c2, c3 = st.columns(3)
    c1.button("◀ 上一位", key="md-prev", on_click=_step, args=(-1, total), disabled=slot == 0)
    c2.button(
        "下一位 ▶", key="md-next", on_click=_step, args=(1, total), disabled=slot == total - 1
    )
    c3.button(
        "退出投影", key="md-projector-off", on_click=st.session_state.pop, args=("md-projector",)
    )


def redraw_form(rec) -> None:
    """A redraw on the same frozen list: a new seed and a written reason, saved as a new record."""
    with st.expander("重新抽取（须书面说明原因，作为新记录保存，原记录保留）", expanded=False):
        seed = st.text_input("新的随机种子", key="md-redraw-seed")
        reason = st.text_input("重新抽取的原因（必填）", key="md-redraw-reason")
        if st.button("按新种子重新抽取", key="md-redraw"):
            if not reason.strip():
                st.error("重新抽取必须说明原因。")
                return
            try:
                res = draw(
                    con(),
                    rec.frozen_id or "",
                    seed,
                    operator=user().username,
                    supervisor=rec.supervisor,
                    reason=reason,
                )
            except dw.ERRORS as exc:
                st.error(literal(exc))
                return
            st.session_state["md-draw"] = res.draw_id
            st.session_state["md-revealed"] = 0
            st.rerun()


def open_existing() -> None:
    """Open an earlier meeting draw (or a frozen list still waiting for its seed)."""
    recs = dw.records(("population_frozen", "expert_draw"), for_kind="expert_draw")
    if recs.empty:
        st.info("还没有专家抽取记录。")
        return
    chosen = dw.record_choice(recs, "抽取记录", key="md-pick")
    row = recs[recs["draw_id"] == chosen].iloc[0]
    frozen_id = row["frozen_id"] if row["kind"] == "expert_draw" else row["draw_id"]
    draw_id = row["draw_id"] if row["kind"] == "expert_draw" else None
    if st.button("打开", key="md-open"):
        _open(frozen_id, draw_id)
        st.rerun()


def main() -> None:
    frozen_id = st.session_state.get("md-frozen")
    draw_id = st.session_state.get("md-draw")
    if draw_id is not None and st.session_state.get("md-projector"):
        projector_screen(draw_id)
        return
    if not dw.can_draw():
        dw.read_only_notice()
        open_existing()
    elif frozen_id is None:
        with st.expander("打开已有的抽取记录（如页面刷新后继续）", expanded=False):
            open_existing()
        setup()
    if frozen_id is not None:
        st.button("开始新的抽取" if dw.can_draw() else "关闭此记录", key="md-new", on_click=_reset)
        if draw_id is None:
            frozen_view(frozen_id, drawn=False)
            if dw.can_draw():
                seed_step(frozen_id)
        else:
            presentation(draw_id)
            frozen_view(frozen_id, drawn=True)


if need_data():
    main()
