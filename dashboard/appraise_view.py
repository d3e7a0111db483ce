"""What a spot check tells, on a page: the estimates of a random case draw from its findings.

Per hospital the improper rate with its exact interval (a sortable table and a chart of the
intervals), and the population figures in one paragraph a leader reads (RULES "What a spot check
tells"). A district user sees the district's hospitals and the district as the population.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts
from dashboard import draw_widgets as dw
from dashboard.common import con
from dashboard.downloads import download_buttons
from pipelines.draws.appraise import FORMULAS, Appraisal, appraise, headline

CONFIDENCES = {"80%": "0.80", "90%": "0.90", "95%": "0.95", "99%": "0.99"}
RATE_COLS = ("不合格率", "不合格率下限", "不合格率上限")
COUNT_COLS = ("估算不合格件数", "件数下限", "件数上限")
YUAN_COLS = ("已发现追回金额（元）", "估算风险金额（元）", "金额下限（元）", "金额上限（元）")


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
    config = {c: dw.count_col(c) for c in ("鉴定通过件数", "已核查", "不合格")}
    config |= {c: st.column_config.NumberColumn(c, format="percent") for c in RATE_COLS}
    config |= {c: st.column_config.NumberColumn(c, format="%,.1f") for c in COUNT_COLS}
    config |= {c: st.column_config.NumberColumn(c, format="%,.2f") for c in YUAN_COLS}
    return config


def estimates_section(draw_id: str, period: str, key: str) -> None:
    """The estimates of a draw at a chosen confidence; nothing but a note before any finding."""
    st.markdown("#### 抽查推断：估计全部鉴定通过病例")
    label = st.selectbox("置信度", list(CONFIDENCES), index=1, key=f"{key}-conf")
    a = appraise(con(), draw_id, CONFIDENCES[label]).restricted(dw.scope_hospitals())
    if a.total.checked_n == 0:
        st.info("录入抽查结论后，这里按抽查结果估计全部鉴定通过病例中的不合格件数与风险金额。")
        return
    st.info(headline(a))
    df = estimate_frame(a)
    shown = df[(df["医院编码"] != "ALL") & (df["已核查"] > 0)].copy()
    shown["医院"] = shown["医院名称"].fillna(shown["医院编码"])
    title = f"各医院不合格率及其 {label} 置信区间（精确法）"
    with st.container(key=f"{key}-box"):
        st.dataframe(df, hide_index=True, key=f"{key}-table", column_config=_column_config())
        fig = charts.intervals(shown, "医院", "不合格率", "不合格率下限", "不合格率上限", title)
        charts.show(fig, key=f"{key}-chart")
    download_buttons(df, "抽查推断", period, key=f"{key}-dl")
    with st.expander("计算公式（任何人可凭公开的抽查结果复算）"):
        for line in FORMULAS:
            st.markdown(f"- {line}")
