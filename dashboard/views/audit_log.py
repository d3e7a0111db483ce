"""审计日志 — every draw record, the status of the hash chain, each record's detail and PDF, and
who downloaded what (download_log).

The chain is checked by pipelines.draws.verify_log: record numbers, prev_hash links, each
record's hash, and every draw re-derived from its frozen list and seed.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import draw_widgets as dw
from dashboard.charts import show_table
from dashboard.common import (
    con,
    db_path,
    literal,
    num,
    page_header,
    scope_district,
    user,
)
from pipelines import throttle
from pipelines.audit import downloads
from pipelines.config import ROOT
from pipelines.draws import current_state, verify_log
from pipelines.draws.log import DRAW_KINDS, KIND_PREFIX

VERIFIER = ROOT / "tools" / "verify_draw.py"
PERSONAL = {"full": "完整", "masked": "已脱敏", "none": "无"}

page_header(
    "审计日志",
    "抽取记录只增不改，每条记录含上一条的哈希（哈希链）；校验会复算每次抽取。"
    "任何人可凭公示的名单与种子用独立工具复核。",
)


@st.cache_data(ttl=60, max_entries=16, show_spinner="正在校验哈希链并复算各次抽取…")
def chain_status(db: str, head: str, count: int) -> tuple[bool, str]:
    """verify_log of the whole chain (re-checked at least every minute and when it grows)."""
    check = verify_log(con())
    return check.ok, check.message


def _select() -> None:
    rows = st.session_state["al-records"].selection.rows
    if rows:
        st.session_state["al-pick"] = st.session_state["al-ids"][rows[0]]


def records_table(recs: pd.DataFrame) -> None:
    view = pd.DataFrame(
        {
            "序号": recs["record_no"],
            "时间": recs["created_at"].map(dw.ts),
            "类型": recs["kind"].map(lambda k: dw.KIND_LABEL.get(k, k)),
            "记录编号": recs["draw_id"],
            "操作人": recs["operator"],
            "监督人": recs["supervisor"],
            "名单人数": recs["population_size"],
            "名单摘要": recs["population_digest"],
            "随机种子": recs["seed"],
            "入选数": recs["picks"],
            "说明": recs["reason"],
        }
    )
    st.session_state["al-ids"] = recs["draw_id"].tolist()
    show_table(
        view,
        hide_index=True,
        key="al-records",
        on_select=_select,
        selection_mode="single-row",
        column_config={
            "序号": dw.count_col("序号"),
            "名单人数": dw.count_col("名单人数"),
            "入选数": dw.count_col("入选数"),
        },
    )
    st.caption("点选一行查看该记录的详情。")


def params_view(params: dict) -> None:
    lines = [("规则", params.get("rule")), ("筛选条件", params.get("filter"))]
    if params.get("rate"):
        lines.append(("抽取比例", params["rate"]))
    if params.get("n"):
        lines.append(("抽取人数", params["n"]))
    if params.get("avoid_hospitals"):
        lines.append(("回避医院", "、".join(params["avoid_hospitals"])))
    if params.get("avoid_experts"):
        lines.append(("回避专家", "、".join(params["avoid_experts"])))
    if params.get("replaced"):
        lines.append(("被替换", params["replaced"]))
    show_table(
        pd.DataFrame([(a, str(b)) for a, b in lines if b], columns=["项目", "内容"]),
        hide_index=True,
        key="al-params",
    )
    sizes, k = params.get("strata_sizes", {}), params.get("k", {})
    if sizes and params.get("strata"):
        strata = pd.DataFrame(
            [{"层": s, "层内人数": n, "抽取数": k.get(s, 0)} for s, n in sizes.items()]
        )
        if params.get("stratum_column") == "hospital_id":
            strata = dw.in_scope(strata, "层")
        with st.expander("各层人数与抽取数"):
            show_table(strata, hide_index=True, key="al-strata")
    if scope_district() is not None:  # the ids and counts below cover every district
        st.caption("不作为候选的名单与全部参数含全市各医院的数据，仅市级用户可见。")
        return
    if params.get("exclusions"):
        with st.expander(f"不作为候选的 {num(len(params['exclusions']))} 人及原因"):
            show_table(
                pd.DataFrame(params["exclusions"]).rename(
                    columns={"id": "编号", "reason": "原因", "reason_code": "原因代码"}
                ),
                hide_index=True,
                key="al-exclusions",
            )
    with st.expander("全部参数（JSON，与记录哈希所含内容一致）"):
        st.json(params, expanded=False)


def detail(draw_id: str) -> None:
    rec = dw.record(draw_id)
    st.subheader(f"记录 {literal(rec.draw_id)}")
    st.caption(literal(dw.KIND_LABEL.get(rec.kind, rec.kind)))
    facts = [
        ("时间", dw.ts(rec.created_at)),
        ("操作人", rec.operator),
        ("监督人", rec.supervisor),
        ("规则配置", rec.profile),
        ("冻结名单记录", rec.frozen_id),
        ("所替补的抽取记录", rec.parent_id),
        ("名单人数", num(rec.population_size)),
        ("名单摘要 SHA-256", rec.population_digest),
        ("随机种子", rec.seed),
        ("原因", rec.reason),
        ("上一条记录哈希", rec.prev_hash),
        ("本记录哈希", rec.record_hash),
    ]
    show_table(
        pd.DataFrame([(a, b) for a, b in facts if b], columns=["项目", "内容"]),
        hide_index=True,
        key="al-facts",
    )
    params_view(rec.params())
    if rec.kind in DRAW_KINDS:
        state = current_state(con(), rec.draw_id)
        swapped = {r["replacement"] for r in state.replacements}
        picks = pd.DataFrame(
            [
                {
                    "层": p.stratum,
                    "排序": p.rank,
                    "编号": p.id,
                    "医院": p.hospital_id,
                    "密钥": p.key,
                    "替补": "是" if p.id in swapped else "",
                }
                for p in state.picks
            ],
            columns=["层", "排序", "编号", "医院", "密钥", "替补"],
        )
        st.markdown(f"#### 入选（当前，共 {num(len(picks))}）")
        show_table(dw.in_scope(picks, "医院"), hide_index=True, key="al-picks")
        dw.replacements_table(state, key="al-replacements")
    elif rec.kind == "replacement":
        r = rec.replacement_list()[0]
        p = rec.pick_list()[0]
        st.markdown(
            f"**替补**：{literal(r['replaced'])} → {literal(r['replacement'])}"
            f"（第 {p.rank} 位，密钥 {literal(p.key)}）  \n**原因**：{literal(r['reason'])}"
        )
    if rec.kind != "replacement":
        st.markdown("#### 记录文件")
        dw.pdf_buttons(rec, key=f"al-pdf-{rec.draw_id}")
        dw.publish_buttons(rec, dw.SHORT[rec.kind], rec.draw_id, key=f"al-pub-{rec.draw_id}")


def download_log() -> None:
    st.subheader("下载记录")
    mine = scope_district() is not None
    df = downloads(con(), user().username if mine else None)
    if df.empty:
        st.info("还没有下载记录。")
        return
    if mine:
        st.caption("区县用户只能查看本人的下载记录。")
    view = pd.DataFrame(
        {
            "时间": df["downloaded_at"].map(dw.ts),
            "用户": df["username"],
            "角色": df["role"],
            "内容": df["what"],
            "文件名": df["file_name"],
            "行数": df["rows"],
            "个人信息": df["personal_data"].map(lambda v: PERSONAL.get(v, v)),
        }
    )
    show_table(
        view, hide_index=True, key="al-downloads", column_config={"行数": dw.count_col("行数")}
    )


def login_locks() -> None:
    """Lockouts after wrong passwords and their unlocks; a 市级管理员 unlocks here."""
    st.subheader("登录锁定")
    st.caption(
        f"同一账号名或同一客户端连续 {throttle.settings().free_failures} 次密码错误后暂停登录，"
        "此后每错一次暂停时间加倍。"
    )
    locked = throttle.locks()
    if not locked:
        st.caption("当前没有被暂停登录的账号或客户端。")
    for i, rec in enumerate(locked):
        c1, c2 = st.columns([3, 1])
        c1.text(
            f"{throttle.describe(rec['key'])}：连续失败 {rec['failures']} 次，"
            f"暂停至 {throttle.clock(rec['locked_until'])}"
        )
        if user().perms.manage_users and c2.button("解锁", key=f"al-unlock-{i}"):
            throttle.unlock(rec["key"], user().username)
            st.rerun()
    events = throttle.events()
    if events:
        show_table(
            pd.DataFrame(
                {
                    "时间": [throttle.clock(e["at"]) for e in events],
                    "事件": [e["event"] for e in events],
                    "对象": ["、".join(map(throttle.describe, e["keys"])) for e in events],
                    "说明": [e["detail"] for e in events],
                }
            ),
            hide_index=True,
            key="al-login-events",
        )


recs = dw.records(tuple(KIND_PREFIX))
if recs.empty:
    st.info("还没有抽取记录。")
else:
    head = recs.iloc[0]
    ok, message = chain_status(str(db_path()), str(head["draw_id"]), len(recs))
    if ok:
        st.success(f"哈希链校验通过 — {literal(message)}")
    else:
        st.error(f"哈希链校验失败 — {literal(message)}")
    c = st.columns(4)
    c[0].metric("抽取记录", num(len(recs)))
    c[1].metric("抽取", num(recs["kind"].isin(DRAW_KINDS).sum()))
    c[2].metric("替补", num((recs["kind"] == "replacement").sum()))
    c[3].metric(
        "重抽（有原因）", num((recs["kind"].isin(DRAW_KINDS) & recs["reason"].notna()).sum())
    )
    records_table(recs)
    ids = recs["draw_id"].tolist()
    if st.session_state.get("al-pick") not in ids:
        st.session_state["al-pick"] = ids[0]
    chosen = st.selectbox("查看记录详情", ids, key="al-pick")
    detail(chosen)
st.download_button(
    "下载独立校验工具 verify_draw.py（仅需 Python 标准库）",
    VERIFIER.read_bytes(),
    file_name="verify_draw.py",
    mime="text/x-python",
    key="al-verifier",
)
download_log()
if scope_district() is None:
    login_locks()
