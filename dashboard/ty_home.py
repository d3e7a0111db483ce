"""总览 under the Taiyuan profile: the period's Taiyuan KPI cards (mart_ty_monthly_kpis, the same
`kpis --profile taiyuan` and the monthly report show), its violations by TY rule and the months
behind the cards. The page only sums the mart's rows over the filters; rates come from
`pipelines.rules.kpis.rate` and names from `pipelines.report.ty_labels`."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from dashboard.charts import list_columns, rule_names, show_table
from dashboard.common import literal, num, pct, profile
from dashboard.filters import Filters
from pipelines.report import ty_labels
from pipelines.rules.kpis import TY_SHAPE, VIOLATION_PREFIX, rate

# cards in two rows of five; sanctions_in_force is the period's last month (a state, not a sum)
CARDS = [
    ["quota_certified", "cycle_on_time_rate", "publicity_rate", "entry_on_time_rate", "panel_rate"],
    ["recerts", "recert_on_time_rate", "sanctions_new", "sanctions_in_force", "violations"],
]


def period_values(kpi: pd.DataFrame, f: Filters) -> dict[str, object]:
    """metric → the period's value: counts summed over its months, rates from the summed counts,
    the sanctions in force in its last month, violations in all."""
    rows = kpi[kpi["month"] == f.month_key] if f.month_key else kpi
    sums = rows.groupby("metric")["n"].sum().astype("int64").to_dict()
    last = rows[rows["metric"] == "sanctions_in_force"].sort_values("month").tail(1)
    out: dict[str, object] = {m: sums.get(m, 0) for m in TY_SHAPE.counts}
    out["sanctions_in_force"] = int(last["n"].sum())
    out.update({name: rate(sums, name) for name in TY_SHAPE.rates})
    out["violations"] = sum(v for m, v in sums.items() if m.startswith(VIOLATION_PREFIX))
    return out


CARD_CHARS = 11  # characters a card's label shows whole, five cards a row at 1440 px


def card_label(label: str) -> tuple[str, str | None]:
    """A card's label and tooltip: a name too long for the card loses its leading "N个工作日内",
    and the tooltip says the whole name (Streamlit would cut it with "…")."""
    if len(label) <= CARD_CHARS:
        return label, None
    return re.sub(r"^\d+个工作日内", "", label), label


def cards(values: dict[str, object], labels: dict[str, str]) -> None:
    for row in CARDS:
        cols = st.columns(len(row))
        for col, metric in zip(cols, row, strict=True):
            shown = pct(values[metric]) if metric in TY_SHAPE.rates else num(values[metric])
            label, whole = card_label(labels[metric])
            col.metric(literal(label), shown, border=True, help=whole and literal(whole))


def violations(kpi: pd.DataFrame, f: Filters) -> None:
    rows = kpi[kpi["month"] == f.month_key] if f.month_key else kpi
    vio = (
        rows[rows["metric"].str.startswith(VIOLATION_PREFIX)]
        .assign(rule_id=lambda x: x["metric"].str.removeprefix(VIOLATION_PREFIX))
        .groupby("rule_id", as_index=False)["n"]
        .sum()
        .sort_values(["n", "rule_id"], ascending=[False, True])
    )
    names = rule_names()
    table = pd.DataFrame(
        {"规则": vio["rule_id"].map(lambda r: names.get(r, r)), "问题数": vio["n"].astype("int64")}
    )
    with st.expander(f"规则核查问题（共 {num(table['问题数'].sum())} 条）"):
        show_table(table, hide_index=True, key="ty-home-violations",
                     column_config=list_columns(table, "问题数"))  # fmt: skip
        st.page_link("views/violations.py", label="到「规则核查」查看明细", icon=":material/rule:")


def monthly(kpi: pd.DataFrame, labels: dict[str, str]) -> None:
    counts = [m for m in TY_SHAPE.counts if m in labels]
    table = (
        kpi[kpi["metric"].isin(counts)]
        .pivot_table(index="month", columns="metric", values="n", aggfunc="sum", fill_value=0)
        .reindex(columns=counts, fill_value=0)
        .astype("int64")
        .rename(columns=labels)
        .reset_index()
        .rename(columns={"month": "月份"})
    )
    with st.expander("指标明细（按月）"):
        show_table(table, hide_index=True, key="ty-home-monthly",
                     column_config=list_columns(table, *table.columns[1:]))  # fmt: skip
        st.caption(
            "定额病种认定按提交时间、重新认定按申请时间、问题按病例提交时间计入月份；"
            "在执行处理决定为期末月内任一日有效的处理决定。"
        )


def ty_overview(kpi: pd.DataFrame, f: Filters) -> None:
    """The Taiyuan cards, violations and months of `kpi` (month, metric, n over the filters)."""
    labels = ty_labels(profile())
    st.subheader(f"本期指标：{f.period_label}")
    cards(period_values(kpi, f), labels)
    violations(kpi, f)
    monthly(kpi, labels)
