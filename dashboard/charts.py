"""Plotly charts, Chinese display labels and table formats shared by the monitoring pages.

Charts only draw what a page already aggregated in SQL. Labels that quote a rule's number take it
from the rule profile, so a city with other deadlines reads its own numbers.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard.common import profile

FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, SimHei, sans-serif"
COLORS = ["#1f5fa8", "#e07b24", "#2e9b57", "#c23b3b", "#7a5cc4", "#5b6b7b"]
WARN, OK, MUTED = "#c23b3b", "#2e9b57", "#9aa5b1"
# everything local: no logo link, no cloud export, no web fonts
CONFIG = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "sendDataToCloud"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


# ---- labels -------------------------------------------------------------------------------


def action_labels(short: bool = False) -> dict[str, str]:
    """Strike actions (ZZ-STRIKE) in Chinese, in the order the profile escalates them."""
    names = {
        "sms": ("短信通知", "短信通知"),
        "notify_hospital": ("通报所在医院", "通报医院"),
        "disqualify": ("取消鉴定专家资格", "取消资格"),
    }
    strikes = profile()["strikes"]
    out = {a: names[a][short] if a in names else a for a in strikes["actions"]}
    out[strikes["after_last"]] = "取消后再超时" if short else "取消资格后再次超时"
    return out


def kind_labels() -> dict[str, str]:
    """Strike kinds and at-risk kinds in Chinese, with the profile's deadlines."""
    d = profile()["deadlines"]
    accept = f"{d['accept_hours']}小时内未响应"
    complete = f"受理后{d['complete_workdays']}个工作日内未办结"
    return {
        "accept_timeout": accept,
        "complete_timeout": complete,
        "accept": f"待响应（{d['accept_hours']}小时时限）",
        "complete": f"待办结（{d['complete_workdays']}个工作日时限）",
    }


def status_labels() -> dict[str, str]:
    return {
        "on_time": "按时",
        "late": "超时",
        "overdue": "逾期未办",
        "awaiting": "待响应",
        "in_progress": "办理中",
    }


def rule_names() -> dict[str, str]:
    """Rule ids of shared/RULES.md with a short Chinese name."""
    from pipelines.rules.kpis import rule_names as names

    return names(profile())


def counts(*columns: str) -> dict:
    """column_config showing whole numbers with thousands separators (12,345)."""
    return {c: st.column_config.NumberColumn(format="localized") for c in columns}


# columns of the pages' lists that hold counts (shown 12,345 wherever they appear)
COUNT_COLUMNS = {
    "任务数", "扣分次数", "专家总数", "取消资格", "取消资格人数", "鉴定件数", "金额（元）", "专家人数",
    "问题数", "涉及医院", "涉及专家", "涉及申报", "件数", "合计", "行数",
    "复核病例数", "抽取专家数", "候选专家数", "申诉病例数",
}  # fmt: skip
TIME_SUFFIXES = ("时间", "时限", "期限")


def list_columns(df: pd.DataFrame, *more_counts: str, **extra: Any) -> dict:
    """The column_config of a list, the same on every page: counts with thousands separators,
    times as 2026-03-02 09:00:00, percentages and hours to one decimal; `extra` overrides."""
    out: dict[str, Any] = {}
    for c in df.columns:
        name = str(c)
        if name in COUNT_COLUMNS or name in more_counts:
            out[name] = st.column_config.NumberColumn(format="localized")
        elif name.endswith(TIME_SUFFIXES) and pd.api.types.is_datetime64_any_dtype(df[c]):
            out[name] = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")
        elif name.endswith(("（%）", "（小时）", "剩余小时")):
            out[name] = st.column_config.NumberColumn(format="%.1f")
    return {**out, **extra}


EMPTY_NUMBER = "—"  # an empty number cell (a rate with nothing due), as the KPI cards show it


def no_none(df: pd.DataFrame, blank: str = "") -> pd.DataFrame:
    """A list as shown: Streamlit's grid prints an empty cell as "None", so empty text cells are
    blank and a time column with empty cells becomes text (2026-03-02 09:00:00, blank when none).
    Numbers are left alone; the downloads keep the values."""
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if not col.isna().any():
            continue
        if pd.api.types.is_datetime64_any_dtype(col):
            out[c] = col.dt.strftime("%Y-%m-%d %H:%M:%S").fillna(blank)
        elif not pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            out[c] = col.astype(object).where(col.notna(), blank)
    return out


def show_table(data: Any, **kwargs: Any) -> Any:
    """`st.dataframe`, or the Chinese line 「暂无记录。」 for an empty list (Streamlit's own grid
    writes the English "empty" in it). A selectable grid (`on_select`) is always drawn: its
    caller reads the selection. Empty text and time cells are blank, not "None" (`no_none`), and
    an empty number cell shows "—" (`placeholder`), as the KPI cards do."""
    frame = getattr(data, "data", data)  # a Styler's frame
    if isinstance(frame, pd.DataFrame) and frame.empty and "on_select" not in kwargs:
        st.caption("暂无记录。")
        return None
    if isinstance(data, pd.DataFrame):
        data = no_none(data)
        config = kwargs.get("column_config")
        if isinstance(config, dict):  # a time column that became text keeps its text
            kwargs["column_config"] = {
                k: v
                for k, v in config.items()
                if not (
                    isinstance(v, dict)
                    and (v.get("type_config") or {}).get("type") == "datetime"
                    and k in data.columns
                    and not pd.api.types.is_datetime64_any_dtype(data[k])
                )
            }
    kwargs.setdefault("placeholder", EMPTY_NUMBER)
    return st.dataframe(data, **kwargs)


def penalty_rate() -> float:
    """ZZ-HOSPITAL5's rate as a share (5 / 100 → 0.05)."""
    hp = profile()["hospital_penalty"]
    return hp["rate_numerator"] / hp["rate_denominator"]


# ---- charts -------------------------------------------------------------------------------


def plain(values) -> list:
    """Values from data as plotly text: plotly reads `<a href>`, `<b>`, `<br>` and entities in
    tick labels, hover text and legends, so `<` `>` `&` are written as entities (shown as
    typed, never a link or markup). Numbers and dates pass unchanged."""
    return [html.escape(v, quote=False) if isinstance(v, str) else v for v in values]


# Figures are built as one dict and validated once: plotly's incremental update_* calls cost
# tens of milliseconds each, which a page that should run in under half a second cannot afford.


def _figure(
    traces: list[dict],
    title: str,
    height: int,
    y_title: str = "",
    x_title: str = "",
    shapes: list[dict] | None = None,
    annotations: list[dict] | None = None,
    **layout,
) -> go.Figure:
    axis = {"automargin": True, "linecolor": "#ccd"}
    base = {
        # the title at the very top, the legend (up to two rows) between it and the plot
        "title": {
            "text": title,
            "font": {"size": 15},
            "y": 0.98,
            "yref": "container",
            "yanchor": "top",
        },
        "font": {"family": FONT, "size": 13},
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 90, "b": 10},
        "legend": {
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "xanchor": "right",
            "x": 1,
            "traceorder": "normal",
        },
        "separators": ".,",
        "hoverlabel": {"font": {"family": FONT}},
        "plot_bgcolor": "white",
        "xaxis": {**axis, "title": {"text": x_title}, "showgrid": False},
        "yaxis": {**axis, "title": {"text": y_title}, "gridcolor": "#eef", "zeroline": False},
        "shapes": shapes or [],
        "annotations": annotations or [],
    }
    for k, v in layout.items():
        base[k] = {**base[k], **v} if isinstance(v, dict) and k in base else v
    return go.Figure({"data": traces, "layout": base})


def _deadline_line(x: float, label: str) -> tuple[dict, dict]:
    """A dashed vertical line across the plot with its label at the top."""
    line = {
        "type": "line",
        "x0": x,
        "x1": x,
        "y0": 0,
        "y1": 1,
        "yref": "paper",
        "line": {"color": WARN, "dash": "dash", "width": 2},
    }
    note = {
        "x": x,
        "y": 1,
        "yref": "paper",
        "text": label,
        "showarrow": False,
        # written to the left of the line, which sits near the right edge when nothing is late
        "xanchor": "right",
        "yanchor": "bottom",
        "font": {"color": WARN},
    }
    return line, note


def show(fig: go.Figure, key: str) -> None:
    """Our own layout (fonts, colours, white background) without Streamlit's theme on top: the
    theme is merged in the browser on every render and made the chart pages ≈ 0.5 s slower."""
    st.plotly_chart(fig, key=key, config=CONFIG, width="stretch", theme=None)


def monthly_bars(
    df: pd.DataFrame,
    x: str,
    series: Mapping[str, str],
    title: str,
    stacked: bool = False,
    y_title: str = "件数",
) -> go.Figure:
    """Counts per month: one bar trace per column of `series` (column → legend label)."""
    traces = [
        {
            "type": "bar",
            "x": plain(df[x]),
            "y": df[col].tolist(),
            "name": plain([label])[0],
            "marker": {"color": COLORS[i % len(COLORS)]},
            "hovertemplate": f"%{{x}}<br>{plain([label])[0]}：%{{y:,}}<extra></extra>",
        }
        for i, (col, label) in enumerate(series.items())
    ]
    return _figure(
        traces,
        title,
        320,
        y_title=y_title,
        barmode="stack" if stacked else "group",
        xaxis={"type": "category"},
    )


def monthly_rates(df: pd.DataFrame, x: str, series: Mapping[str, str], title: str) -> go.Figure:
    """Shares (0–1) per month as lines, shown as percentages with one decimal."""
    traces = [
        {
            "type": "scatter",
            "x": plain(df[x]),
            "y": df[col].tolist(),
            "name": plain([label])[0],
            "mode": "lines+markers",
            "line": {"color": COLORS[i % len(COLORS)], "width": 2},
            "hovertemplate": f"%{{x}}<br>{plain([label])[0]}：%{{y:.1%}}<extra></extra>",
        }
        for i, (col, label) in enumerate(series.items())
    ]
    return _figure(
        traces,
        title,
        320,
        y_title="比例",
        xaxis={"type": "category"},
        yaxis={"tickformat": ".0%", "rangemode": "tozero"},
    )


def histogram(
    df: pd.DataFrame,
    x: str,
    y: str,
    width: float,
    title: str,
    line_at: float,
    line_label: str,
    x_title: str,
    late_note: str = "",
) -> go.Figure:
    """Counts binned in SQL (bin start → count) with a vertical deadline line; late bins red.

    Late tasks are few next to the on-time mass, so their count is also written on the plot.
    """
    starts = df[x].astype(float).tolist()
    trace = {
        "type": "bar",
        "x": [v + width / 2 for v in starts],
        "y": df[y].tolist(),
        "width": width,
        "marker": {"color": [WARN if v >= line_at else COLORS[0] for v in starts]},
        "customdata": starts,
        "hovertemplate": f"{x_title} %{{customdata}} 起：%{{y:,}} 项<extra></extra>",
    }
    line, note = _deadline_line(line_at, line_label)
    late = {
        "x": 1,
        "y": 0.8,
        "xref": "paper",
        "yref": "paper",
        "text": late_note,
        "showarrow": False,
        "xanchor": "right",
        "font": {"color": WARN, "size": 13},
        "bgcolor": "rgba(255,255,255,0.85)",
    }
    # keep the deadline and its label inside the plot even when no task came near it
    pad = max(4 * width, 0.3 * abs(line_at))
    x_range = [min([*starts, line_at]) - width, max([s + width for s in starts] + [line_at + pad])]
    return _figure(
        [trace],
        title,
        320,
        y_title="任务数",
        x_title=x_title,
        xaxis={"range": x_range},
        shapes=[line],
        annotations=[note, late] if late_note else [note],
        bargap=0.05,
        showlegend=False,
    )


CHART_BARS = 50  # bars a per-hospital chart draws at most (30 px each; the table lists all)


def ratio_bars(
    df: pd.DataFrame, name: str, ratio: str, flag: str, rate: float, title: str
) -> go.Figure:
    """Horizontal bars of a share per hospital against the penalty line; flagged bars in red."""
    df = df.sort_values(ratio)
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": df[ratio].astype(float).tolist(),
        "y": plain(df[name]),
        "marker": {"color": [WARN if f else COLORS[0] for f in df[flag]]},
        "text": [f"{v:.1%}" for v in df[ratio].astype(float)],
        "textposition": "outside",
        "cliponaxis": False,
        "hovertemplate": "%{y}<br>取消资格比例：%{x:.1%}<extra></extra>",
    }
    line, note = _deadline_line(rate, f"扣分线 {rate:.0%}")
    return _figure(
        [trace],
        title,
        max(260, 30 * len(df) + 100),
        x_title="取消资格比例",
        shapes=[line],
        annotations=[note],
        showlegend=False,
        xaxis={"tickformat": ".0%", "rangemode": "tozero", "showgrid": True, "gridcolor": "#eef"},
        yaxis={"type": "category"},
    )


def count_bars(df: pd.DataFrame, label: str, value: str, title: str) -> go.Figure:
    """Horizontal bars of a count per category, largest on top."""
    df = df.sort_values(value)
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": df[value].tolist(),
        "y": plain(df[label]),
        "marker": {"color": COLORS[0]},
        "text": [f"{v:,}" for v in df[value]],
        "textposition": "outside",
        "cliponaxis": False,
        "hovertemplate": "%{y}：%{x:,}<extra></extra>",
    }
    return _figure(
        [trace],
        title,
        max(240, 34 * len(df) + 90),
        x_title="条数",
        showlegend=False,
        yaxis={"type": "category"},
    )


def margin_scatter(df: pd.DataFrame, title: str, limit: float) -> go.Figure:
    """One point per deadline of an expert: hours to spare (negative = late), strikes in red.

    Expects columns 时限, 余量（小时）, 类型, 是否扣分, 任务编号. Margins beyond ±limit hours are
    drawn at the edge (a task left open for months would flatten every other point); the hover
    shows the true value.
    """
    traces = []
    for is_strike, color, name in ((False, COLORS[0], "按时/未到期"), (True, WARN, "扣分")):
        part = df[df["是否扣分"] == is_strike]
        if part.empty:
            continue
        traces.append(
            {
                "type": "scatter",
                "x": part["时限"].dt.strftime("%Y-%m-%d %H:%M:%S").tolist(),
                "y": part["余量（小时）"].astype(float).clip(-limit, limit).tolist(),
                "mode": "markers",
                "name": name,
                "marker": {
                    "color": color,
                    "size": 11 if is_strike else 7,
                    "symbol": "x" if is_strike else "circle",
                },
                "customdata": [
                    plain(row) for row in part[["任务编号", "类型", "余量（小时）"]].values.tolist()
                ],
                "hovertemplate": "%{customdata[0]}（%{customdata[1]}）"
                "<br>时限 %{x|%Y-%m-%d %H:%M}<br>余量 %{customdata[2]:,.1f} 小时<extra></extra>",
            }
        )
    zero = {
        "type": "line",
        "x0": 0,
        "x1": 1,
        "xref": "paper",
        "y0": 0,
        "y1": 0,
        "line": {"color": WARN, "dash": "dash"},
    }
    return _figure(
        traces,
        title,
        340,
        y_title="距时限（小时）",
        shapes=[zero],
        xaxis={"tickformat": "%Y-%m-%d", "type": "date"},
    )


def intervals(
    df: pd.DataFrame, label: str, value: str, low: str, high: str, title: str
) -> go.Figure:
    """One dot per row with its interval as a horizontal bar (estimates with confidence)."""
    rows = df.iloc[::-1]  # the first row at the top
    trace = {
        "type": "scatter",
        "mode": "markers",
        "x": rows[value].tolist(),
        "y": rows[label].tolist(),
        "marker": {"color": COLORS[0], "size": 9},
        "error_x": {
            "type": "data",
            "symmetric": False,
            "array": (rows[high] - rows[value]).tolist(),
            "arrayminus": (rows[value] - rows[low]).tolist(),
            "color": COLORS[0],
            "thickness": 2,
            "width": 5,
        },
        "hovertemplate": "%{y}：%{x:.1%}<extra></extra>",
        "name": value,
        "showlegend": False,
    }
    return _figure(
        [trace],
        title,
        height=max(260, 90 + 28 * len(rows)),
        x_title=value,
        xaxis={"tickformat": ".0%", "range": [0, 1], "showgrid": True, "gridcolor": "#eef"},
        margin={"t": 60},
    )
