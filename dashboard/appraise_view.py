"""What a spot check tells, on a page: the estimates of a random case draw from its findings,
and the targeted picks (明察暗访) made on top of it, shown apart.

Per hospital the improper rate with its exact interval (a sortable table and a chart of the
intervals), and the population figures in one paragraph a leader reads (RULES "What a spot check
tells"). A district user sees the district's hospitals and the district as the population.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts
from dashboard import draw_widgets as dw
from dashboard.common import con, literal, scope_district, user
from dashboard.downloads import download_buttons
from pipelines.draws.appraise import FORMULAS, Appraisal, appraise, headline
from pipelines.draws.targeted import score_text, targeted_of, targeted_picks

CONFIDENCES = {"80%": "0.80", "90%": "0.90", "95%": "0.95", "99%": "0.99"}
RATE_COLS = ("不合格率", "不合格率下限", "不合格率上限")
COUNT_COLS = ("估算不合格件数", "件数下限", "件数上限")
YUAN_COLS = ("已发现追回金额（元）", "估算风险金额（元）", "金额下限（元）", "金额上限（元）")
UNCHECKED = "未核查"


def estimate_frame(a: Appraisal) -> pd.DataFrame:
    """The estimates per hospital, then the population row, with Chinese headers."""
    rows = []
    for e in a.rows:
        rows.append(
            {
                "医院编码": e.hospital_id,
                "医院名称": "合计（总体估计）" if e.hospital_id == "ALL" else e.hospital_name,
                "鉴定通过件数": e.frame_n,
                "已核查": e.checked_n,
                "不合格": e.improper_n,
                **dict(zip(RATE_COLS, (e.rate, e.rate_low, e.rate_high), strict=True)),
                **dict(
                    zip(
                        COUNT_COLS,
                        (e.projected_improper, e.projected_low, e.projected_high),
                        strict=True,
                    )
                ),
                **dict(
                    zip(
                        YUAN_COLS,
                        (float(e.found_yuan), e.projected_yuan, e.yuan_low, e.yuan_high),
                        strict=True,
                    )
                ),
            }
        )
    return pd.DataFrame(rows)


def _column_config() -> dict:
    """Counts 12,345; the estimates (text, see estimate_text) aligned right as numbers are."""
    config = {c: dw.count_col(c) for c in ("鉴定通过件数", "已核查", "不合格")}
    right = st.column_config.TextColumn
    return config | {c: right(c, alignment="right") for c in (*RATE_COLS, *COUNT_COLS, *YUAN_COLS)}


def estimate_text(df: pd.DataFrame) -> pd.DataFrame:
    """The estimates as shown: rates 12.5%, counts 1,234.5, yuan 1,234.50, and 「未核查」 where a
    hospital had nothing checked (Streamlit's grid would print an empty number as "None")."""
    formats = {c: "{:.1%}" for c in RATE_COLS}
    formats |= {c: "{:,.1f}" for c in COUNT_COLS} | {c: "{:,.2f}" for c in YUAN_COLS}
    shown = df.copy()
    for c, f in formats.items():
        shown[c] = df[c].map(lambda v, f=f: UNCHECKED if pd.isna(v) else f.format(v))
    return shown


def estimates_section(draw_id: str, period: str, key: str) -> None:
    """The estimates of a draw at a chosen confidence; nothing but a note before any finding."""
    st.markdown("#### 抽查推断：估计全部鉴定通过病例")
    label = st.selectbox("置信度", list(CONFIDENCES), index=1, key=f"{key}-conf")
    a = appraise(con(), draw_id, CONFIDENCES[label], scope_district())
    if a.total.checked_n == 0:
        st.info("录入抽查结论后，这里按抽查结果估计全部鉴定通过病例中的不合格件数与风险金额。")
        return
    st.info(literal(headline(a)))
    df = estimate_frame(a)
    shown = df[(df["医院编码"] != "ALL") & (df["已核查"] > 0)].copy()
    shown["医院"] = shown["医院名称"].fillna(shown["医院编码"])
    title = f"各医院不合格率及其 {label} 置信区间（精确法）"
    with st.container(key=f"{key}-box"):
        charts.show_table(
            estimate_text(df), hide_index=True, key=f"{key}-table", column_config=_column_config()
        )
        fig = charts.intervals(shown, "医院", "不合格率", "不合格率下限", "不合格率上限", title)
        charts.show(fig, key=f"{key}-chart")
    download_buttons(df, "抽查推断", period, key=f"{key}-dl")
    with st.expander("计算公式（任何人可凭公开的抽查结果复算）"):
        for line in FORMULAS:
            st.markdown(f"- {literal(line)}")


def targeted_frame(rec) -> pd.DataFrame:
    """A targeted record's picks: rank, case, hospital, score and reason."""
    names = dw.hospital_names()
    rows = [
        {
            "序号": i,
            "申报编号": s["case_id"],
            "医院编码": s["hospital_id"],
            "医院名称": names.get(s["hospital_id"], ""),
            "风险分": s["score"],
            "理由": s["reason"],
        }
        for i, s in enumerate(rec.params()["scores"], start=1)
    ]
    return dw.in_scope(
        pd.DataFrame(rows, columns=["序号", "申报编号", "医院编码", "医院名称", "风险分", "理由"]),
        "医院编码",
    )


def targeted_section(draw_id: str, period: str, key: str) -> None:
    """明察暗访 on top of this random draw: make a list (drawing roles), show every list apart."""
    st.markdown("#### 明察暗访（按风险定向抽取，不参与推断）")
    st.caption(
        "在随机抽查之外，按公开的风险分挑选未被随机抽中的鉴定通过病例重点核查；单独记录，"
        "其结论不计入上方推断（只有随机抽中的病例才能代表总体）。"
    )
    if dw.can_draw():
        c1, c2 = st.columns([1, 3])
        n = c1.number_input("定向抽取件数", 1, 500, 20, key=f"{key}-n")
        if c2.button("生成明察暗访名单", key=f"{key}-go"):
            try:
                targeted_picks(con(), draw_id, int(n), operator=user().username)
            except dw.ERRORS as exc:
                st.error(str(exc))
    records = targeted_of(con(), draw_id)
    if not records:
        st.caption("本次抽查尚无明察暗访名单。")
        return
    for rec in reversed(records):
        st.markdown(
            f"**{literal(rec.draw_id)}**（{rec.created_at:%Y-%m-%d %H:%M}）："
            f"{literal(score_text(rec.params()))}"
        )
        df = targeted_frame(rec)
        charts.show_table(df, hide_index=True, key=f"{key}-{rec.draw_id}")
        download_buttons(df, "明察暗访名单", period, key=f"{key}-dl-{rec.draw_id}")
        st.caption(
            f"核查结论请按记录 {literal(rec.draw_id)} 导入：python -m pipelines findings-import "
            f"--draw {literal(rec.draw_id)} 文件"
        )
