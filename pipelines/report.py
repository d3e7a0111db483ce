"""The monthly supervision report (月度监管报告) for leadership: a Chinese PDF, city or one district.

Every number comes from the engine: the month's KPIs and the 12-month trend from
`mart_monthly_kpis` (the same `kpis` writes and 总览 shows), the action ledger
(`mart_action_ledger`), the hospital assessment (`mart_hospital_penalty`) and the at-risk list
(`mart_at_risk`, 待核实 apart) and the estimates of the random case draws
(`pipelines.draws.appraise`, over the district's hospitals); under Taiyuan its measures
(`mart_ty_monthly_kpis`), the sanctions and the latest quarterly review per hospital
(`draw_review_results.sql`, appeals decided) with its estimate. The first page names the data cut-off and the evaluation time
(DATA-CUTOFF). Charts are drawn with fpdf2's own lines and rectangles (no image library).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.config import Profile
from pipelines.decisions import action_ledger
from pipelines.draws import log
from pipelines.draws.appraise import DEFAULT_CONFIDENCE, Appraisal, appraise, headline
from pipelines.draws.pdf import RecordPDF, _Writer, cjk_pdf
from pipelines.draws.spotcheck import percent
from pipelines.evaltime import EvalTime
from pipelines.rules.kpis import (
    TY_SHAPE,
    VIOLATION_PREFIX,
    by_month,
    kpi_rows,
    metrics,
    rule_names,
    shape,
)
from pipelines.rules.penalty import hospital_penalties
from pipelines.rules.risk import at_risk
from pipelines.sanctions import ENDING_DAYS, sanction_rows

if TYPE_CHECKING:
    import pyarrow as pa

ACTIONS = {
    "sms": "短信通知",
    "notify_hospital": "通报所在医院",
    "disqualify": "取消鉴定专家资格",
    "after_disqualified": "取消资格后再次超时",
}
STATUS = {"pending": "待处置", "done": "已处置", "voided": "已撤销"}
# 接近扣分: a hospital not (yet) penalised whose share of disqualified experts is at least this
NEAR_RATIO = Fraction(4, 100)
RANDOM_DRAWS = {"spot_check": "鉴定通过病例抽查", "review_cases": "季度复核病例抽取"}
COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]


def ty_labels(profile: Profile) -> dict[str, str]:
    """Taiyuan's metrics (mart_ty_monthly_kpis) as the report names them, in table order."""
    t = profile["taiyuan_rules"]
    return {
        "quota_certified": "定额病种认定通过",
        "cycle_on_time_rate": f"{t['cycle_workdays']}个工作日内享受待遇按时率",
        "publicity_rate": "公示合规率",
        "entry_on_time_rate": f"{t['entry_workdays']}个工作日内录入按时率",
        "panel_rate": "认定专家组合规率",
        "recerts": "重新认定申请",
        "recert_on_time_rate": f"{t['recert_workdays']}个工作日内重新认定按时率",
        "sanctions_new": "新生效处理决定",
        "sanctions_in_force": "在执行处理决定",
        "sanctions_ending": "到期处理决定",
        "violations": "规则核查问题",
    }


def labels(profile: Profile) -> dict[str, str]:
    """The report's Chinese name of each metric it shows, in the order of its KPI table."""
    if shape(profile) is TY_SHAPE:
        return ty_labels(profile)
    d = profile["deadlines"]
    return {
        "cases_submitted": "申报件数",
        "cases_decided": "已出结果",
        "cases_approved": "鉴定通过",
        "approval_rate": "鉴定通过率",
        "tasks_pushed": "推送鉴定任务",
        "accept_on_time_rate": f"{d['accept_hours']}小时响应按时率",
        "complete_on_time_rate": f"{d['complete_workdays']}个工作日办结按时率",
        **{f"strikes_{a}": f"扣分·{name}" for a, name in ACTIONS.items()},
        "experts_disqualified": "取消资格专家",
        "fee_reviews": "鉴定劳务费例数",
        "fee_yuan": "鉴定劳务费（元）",
        "violations": "规则核查问题",
    }


def shown(value: Any) -> str:
    """A value as leadership reads it: thousands separators, rates with one decimal, — for none."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1%}"
    return f"{value:,}"


def change(now: Any, before: Any) -> str:
    """How a value moved: counts as +12（+7.5%）, rates in percentage points; — when either is none."""
    if now is None or before is None:
        return "—"
    rate = isinstance(now, float) or isinstance(before, float)
    diff = round((now - before) * 100, 1) if rate else now - before
    if diff == 0:
        return "持平"
    if rate:
        return f"{diff:+.1f}个百分点"
    relative = f"（{diff / before:+.1%}）" if before else ""
    return f"{diff:+,}{relative}"


def month_shift(month: str, months: int) -> str:
    y, m = map(int, month.split("-"))
    n = y * 12 + m - 1 + months
    return f"{n // 12}-{n % 12 + 1:02d}"


@dataclasses.dataclass
class Report:
    month: str
    district: str | None
    when: EvalTime
    profile: Profile
    sums: dict[str, dict[str, int]]
    actions: dict[tuple[str, str], int]
    hospitals: list[list[Any]]
    risk: Counter
    draws: list[tuple[log.DrawRecord, Appraisal]]
    sanctions: list[dict] = dataclasses.field(default_factory=list)
    reviews: list[list[Any]] = dataclasses.field(default_factory=list)

    @property
    def taiyuan(self) -> bool:
        return shape(self.profile) is TY_SHAPE

    def kpis(self, month: str) -> dict[str, Any]:
        return dict(metrics(self.sums.get(month, {}), shape(self.profile)))

    def shown(self, month: str) -> dict[str, str]:
        """The month's values as printed; all — when nothing at all was recorded that month."""
        if month not in self.sums:
            return {k: "—" for k in self.kpis(month)}
        return {k: shown(v) for k, v in self.kpis(month).items()}

    def changes(self, other: str) -> dict[str, str]:
        """The report month against another month, metric by metric; all — when either is empty."""
        now, before = self.kpis(self.month), self.kpis(other)
        if self.month not in self.sums or other not in self.sums:
            return {k: "—" for k in now}
        return {k: change(v, before.get(k)) for k, v in now.items()}

    @property
    def trend(self) -> list[str]:
        return [month_shift(self.month, i) for i in range(-11, 1)]

    @property
    def scope(self) -> str:
        return self.district or "全市"


def _district_hospitals(con: duckdb.DuckDBPyConnection, district: str | None) -> set[str] | None:
    """The hospital ids of the district (None: the city, every hospital)."""
    if district is None:
        return None
    sql = "select hospital_id from stg_hospitals where district = ?"
    return {r[0] for r in con.execute(sql, [district]).fetchall()}


def _in_scope(table: pa.Table, ids: set[str] | None) -> list[dict]:
    rows = table.to_pylist()
    return rows if ids is None else [r for r in rows if r["hospital_id"] in ids]


def _near(r: dict) -> bool:
    """接近扣分: not penalised, disqualified / total at least NEAR_RATIO (exact)."""
    total = r["experts_total"]
    return (
        not r["penalized"]
        and total > 0
        and Fraction(r["experts_disqualified"], total) >= NEAR_RATIO
    )


def _hospital_rows(pen: list[dict], names: dict[str, str]) -> list[list[Any]]:
    """Penalised hospitals, then the nearly penalised, each by share of disqualified experts."""
    rows = sorted(
        (r for r in pen if r["penalized"] or _near(r)),
        key=lambda r: (not r["penalized"], -r["ratio"], r["hospital_id"]),
    )
    return [
        [names.get(r["hospital_id"], r["hospital_id"]), shown(r["experts_total"]),
         shown(r["experts_disqualified"]), f"{r['ratio']:.1%}",
         "扣分" if r["penalized"] else "接近扣分"]
        for r in rows
    ]  # fmt: skip


def _review_rows(
    con: duckdb.DuckDBPyConnection, draw_id: str, ids: set[str] | None
) -> list[list[Any]]:
    """TY-REVIEW results of one review draw per hospital of the scope (the published columns:
    no names of persons, no 身份证号), as printed."""
    from pipelines.draws.review_results import review_results

    rows = review_results(con, draw_id).to_dict("records")
    return [
        [r["hospital_name"], shown(r["cases_drawn"]), shown(r["cases_reviewed"]), shown(r["cases_passed"]),
         shown(r["cases_failed"]), "—" if r["cases_reviewed"] == 0 else f"{r['pass_rate']:.1%}",
         shown(r["appeals_upheld"]), f"{float(r['recover_yuan']):,.2f}"]
        for r in rows
        if ids is None or r["hospital_id"] in ids
    ]  # fmt: skip


def month_end(month: str) -> dt.datetime:
    """The first instant of the next month."""
    return dt.datetime.strptime(month_shift(month, 1), "%Y-%m")


def random_draws(
    con: duckdb.DuckDBPyConnection, month: str, at: dt.datetime, district: str | None
) -> list[tuple[log.DrawRecord, Appraisal]]:
    """The random case draws (ZZ-SPOTCHECK, TY-REVIEW) made in the 12 months up to the report
    month's end (and not after the evaluation time), newest first, each with its estimates over
    the scope's hospitals (appraise at its default confidence, with the findings recorded; a
    district is its own population)."""
    since, until = month_end(month_shift(month, -12)), min(month_end(month), at)
    made = [
        rec
        for kind in RANDOM_DRAWS
        for rec in log.load_records(con, kind)
        if since <= rec.created_at < until
    ]
    made.sort(key=lambda rec: rec.created_at, reverse=True)
    return [(rec, appraise(con, rec.draw_id, district=district)) for rec in made]


def gather(
    con: duckdb.DuckDBPyConnection,
    profile: Profile,
    when: EvalTime,
    month: str,
    district: str | None = None,
) -> Report:
    """Everything the report shows for the month and the city (district None) or one district."""
    at, ids = when.eval_at, _district_hospitals(con, district)
    sums = by_month(kpi_rows(con, profile, at, district=district))
    if shape(profile) is TY_SHAPE:
        sanctions = sanction_rows(con, at.date(), district)
        draws = [d for d in random_draws(con, month, at, district) if d[0].kind == "review_cases"]
        reviews = _review_rows(con, draws[0][0].draw_id, ids) if draws else []
        return Report(
            month, district, when, profile, sums, {}, [], Counter(), draws, sanctions, reviews
        )
    ledger = _in_scope(action_ledger(con, at, profile), ids)
    actions = Counter(
        (r["action"], r["status"]) for r in ledger if f"{r['deadline']:%Y-%m}" == month
    )
    names = dict(con.execute("select hospital_id, hospital_name from stg_hospitals").fetchall())
    pen = _in_scope(hospital_penalties(con, at, profile, year=int(month[:4])), ids)
    risk = Counter(r["status"] for r in _in_scope(at_risk(con, at, profile), ids))
    draws = random_draws(con, month, at, district)
    return Report(
        month, district, when, profile, sums, dict(actions), _hospital_rows(pen, names), risk, draws
    )


# ---- charts drawn with fpdf2 primitives ---------------------------------------------------------


def _frame(pdf: RecordPDF, x: float, y: float, w: float, h: float, title: str, top: str) -> None:
    pdf.set_font("cjk", "B", 9)
    pdf.set_xy(x, y - 6)
    pdf.cell(w, 5, title)
    pdf.set_font("cjk", size=6)
    pdf.set_draw_color(150, 150, 150)
    pdf.line(x, y + h, x + w, y + h)
    pdf.line(x, y, x, y + h)
    pdf.set_xy(x - 14, y - 2)
    pdf.cell(13, 4, top, align="R")
    pdf.set_xy(x - 14, y + h - 2)
    pdf.cell(13, 4, "0", align="R")


def _reset(pdf: RecordPDF) -> None:
    """Back to black lines and white fills (fpdf2's tables use the current fill colour)."""
    pdf.set_draw_color(0, 0, 0)
    pdf.set_fill_color(255, 255, 255)
    pdf.set_line_width(0.2)


def _month_axis(pdf: RecordPDF, x: float, y: float, slot: float, months: list[str]) -> None:
    pdf.set_font("cjk", size=5.5)
    for i, m in enumerate(months):
        pdf.set_xy(x + i * slot, y + 0.5)
        pdf.cell(slot, 3, m, align="C")


def _legend(pdf: RecordPDF, x: float, y: float, names: list[str]) -> None:
    pdf.set_font("cjk", size=6.5)
    for i, name in enumerate(names):
        pdf.set_fill_color(*COLORS[i % len(COLORS)])
        pdf.rect(x, y + 1, 3, 2.5, style="F")
        pdf.set_xy(x + 3.5, y)
        pdf.cell(pdf.get_string_width(name) + 2, 4.5, name)
        x += pdf.get_string_width(name) + 8


def _value(pdf: RecordPDF, x: float, top: float, width: float, value: int) -> None:
    pdf.set_font("cjk", size=5)
    pdf.set_xy(x - 2, top - 3)
    pdf.cell(width + 4, 3, f"{value:,}", align="C")


def bar_chart(
    pdf: RecordPDF,
    box: tuple[float, float, float, float],
    months: list[str],
    series: dict[str, list[int]],
    title: str,
    stacked: bool = False,
) -> None:
    """Monthly bars, grouped or stacked, with a 0..max scale and a legend below."""
    x, y, w, h = box
    totals = [sum(v) for v in zip(*series.values(), strict=True)]
    top = max((totals if stacked else [v for s in series.values() for v in s]), default=0) or 1
    _frame(pdf, x, y, w, h, title, f"{top:,}")
    slot = w / len(months)
    width = slot * 0.7 / (1 if stacked else len(series))
    for i in range(len(months)):
        base = y + h
        for j, values in enumerate(series.values()):
            bh = h * values[i] / top
            bx = x + i * slot + slot * 0.15 + (0 if stacked else j * width)
            pdf.set_fill_color(*COLORS[j % len(COLORS)])
            if bh > 0:
                pdf.rect(bx, (base - bh) if stacked else y + h - bh, width, bh, style="F")
            base = base - bh if stacked else base
            if not stacked:
                _value(pdf, bx, y + h - bh, width, values[i])
        if stacked:
            _value(pdf, x + i * slot + slot * 0.15, base, width, totals[i])
    _month_axis(pdf, x, y + h, slot, months)
    _legend(pdf, x, y + h + 4, list(series))
    _reset(pdf)


def rate_chart(
    pdf: RecordPDF,
    box: tuple[float, float, float, float],
    months: list[str],
    series: dict[str, list[float | None]],
    title: str,
) -> None:
    """Monthly rates 0–100 % as lines with dots; a month without a rate breaks its line."""
    x, y, w, h = box
    _frame(pdf, x, y, w, h, title, "100%")
    slot = w / len(months)
    pdf.set_line_width(0.5)
    for j, values in enumerate(series.values()):
        pdf.set_draw_color(*COLORS[j % len(COLORS)])
        pdf.set_fill_color(*COLORS[j % len(COLORS)])
        points = [
            None if v is None else (x + (i + 0.5) * slot, y + h - h * v)
            for i, v in enumerate(values)
        ]
        for a, b in zip(points, points[1:], strict=False):
            if a and b:
                pdf.line(*a, *b)
        for p in filter(None, points):
            pdf.circle(p[0], p[1], 0.8, style="F")
    _month_axis(pdf, x, y + h, slot, months)
    _legend(pdf, x, y + h + 4, list(series))
    _reset(pdf)


# ---- the document --------------------------------------------------------------------------------


ZZ_BASIS = "申报按提交时间、任务按推送时间、扣分按所超时限、劳务费按完成时间计入月份"
TY_BASIS = (
    "定额病种认定按提交时间、重新认定按申请时间、问题按病例提交时间计入月份；"
    "处理决定按生效与到期日期，在执行为当月任一日有效"
)


def _title(pdf: RecordPDF, w: _Writer, r: Report) -> None:
    y, m = r.month.split("-")
    pdf.set_font("cjk", "B", 18)
    pdf.cell(0, 12, "门诊慢特病鉴定监管月报", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 7, f"{y}年{int(m)}月 · {r.scope}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    w.fields(
        [
            (
                "数据截止时间",
                "—" if r.when.cutoff is None else f"{r.when.cutoff:%Y-%m-%d %H:%M:%S}",
            ),
            ("评估时间", f"{r.when.eval_at:%Y-%m-%d %H:%M:%S}"),
            ("规则配置", r.profile.label),
            ("统计口径", TY_BASIS if r.taiyuan else ZZ_BASIS),
        ]
    )
    if (note := r.when.note()) is not None:
        w.para(note)


def _kpi_table(w: _Writer, r: Report) -> None:
    prev, last_year = month_shift(r.month, -1), month_shift(r.month, -12)
    now, before, year_ago = r.shown(r.month), r.shown(prev), r.shown(last_year)
    on_prev, on_year = r.changes(prev), r.changes(last_year)
    w.heading("一、本月主要指标（与上月、去年同月比较）")
    rows = [
        [label, now[k], before[k], on_prev[k], year_ago[k], on_year[k]]
        for k, label in labels(r.profile).items()
    ]
    head = [
        "指标",
        f"本月 {r.month}",
        f"上月 {prev}",
        "环比变化",
        f"去年同月 {last_year}",
        "同比变化",
    ]
    w.table(head, rows, (42, 23, 23, 31, 30, 31))
    w.para(
        "变化：件数、次数与金额为增减数（括号内为增减幅度），比率为增减的百分点；— 为该月无数据。",
        8,
    )


def _ty_trends(pdf: RecordPDF, w: _Writer, r: Report) -> None:
    rates = ("cycle_on_time_rate", "publicity_rate", "entry_on_time_rate", "panel_rate",
             "recert_on_time_rate")  # fmt: skip
    top = _trend_page(pdf, w, r, "五", (("quota_certified", "recerts"), "定额病种认定与重新认定（件）"),
                (rates, "时效与合规率"))  # fmt: skip
    col = _column(r)
    lab = labels(r.profile)
    bar_chart(pdf, (30, top + 150, 160, 40), r.trend,
              {lab[m]: col(m) for m in ("sanctions_new", "sanctions_in_force")}, "处理决定（项）")  # fmt: skip


def _ty_reviews(w: _Writer, r: Report) -> None:
    """TY-REVIEW: the latest quarterly review of the 12 months, per hospital, with its estimate."""
    w.heading("四、季度复核结果（双随机、一公开，近12个月最近一次）")
    if not r.draws:
        w.para("近12个月无季度复核病例抽取记录。")
        return
    rec, latest = r.draws[0]
    quarter = rec.params().get("quarter", "")
    w.para(f"{quarter} 季度复核（抽取记录 {rec.draw_id}，{rec.created_at:%Y-%m-%d}）：")
    head = ["医院", "抽取", "已复核", "符合", "不符合", "符合率", "申诉成立", "追回金额（元）"]
    w.table(head, r.reviews, (52, 14, 16, 14, 16, 18, 20, 30))
    w.para(f"推断：{headline(latest)}", 8)
    w.para("结论以申诉二次复核的多数意见为准（有申诉时）；已抽取未录入结论的病例不计入已复核。", 8)


def _sanctions(w: _Writer, r: Report) -> None:
    """TY-PENALTY: the sanctions in force at the evaluation time and those ending soon, by measure."""
    w.heading("二、处理决定（评估时间在执行与即将到期）")
    in_force = Counter(s["measure"] for s in r.sanctions if s["in_force"])
    ending = Counter(s["measure"] for s in r.sanctions if s["in_force"] and s["ending_soon"])
    if not in_force:
        w.para("评估时间无在执行的处理决定。")
        return
    rows = [[m, shown(n), shown(ending.get(m, 0))] for m, n in sorted(in_force.items())]
    w.table(["处理措施", "在执行", f"其中{ENDING_DAYS}日内到期"], rows, (90, 45, 45))


def _column(r: Report):
    """metric → its values over the report's 12 months."""
    k = [r.kpis(m) for m in r.trend]
    return lambda metric: [row[metric] for row in k]


def _trend_page(
    pdf: RecordPDF, w: _Writer, r: Report, number: str,
    bars: tuple[tuple[str, ...], str], rates: tuple[tuple[str, ...], str],
) -> float:  # fmt: skip
    """A new page of 12-month trends: counts as bars, rates as lines; returns the charts' top (the
    third chart below them is the caller's)."""
    pdf.add_page()
    w.heading(f"{number}、近12个月趋势")
    col, lab = _column(r), labels(r.profile)
    top = pdf.get_y() + 10
    bar_chart(pdf, (30, top, 160, 45), r.trend, {lab[m]: col(m) for m in bars[0]}, bars[1])
    rate_chart(pdf, (30, top + 70, 160, 45), r.trend, {lab[m]: col(m) for m in rates[0]}, rates[1])
    return top


def _trends(pdf: RecordPDF, w: _Writer, r: Report) -> None:
    top = _trend_page(pdf, w, r, "七", (("cases_submitted", "cases_approved"), "申报与鉴定通过（件）"),
                (("approval_rate", "accept_on_time_rate", "complete_on_time_rate"), "通过率与时效"))  # fmt: skip
    col = _column(r)
    strikes = {ACTIONS[a]: col(f"strikes_{a}") for a in ACTIONS}
    bar_chart(pdf, (30, top + 140, 160, 45), r.trend, strikes, "超时扣分（次，按处理措施）",
              stacked=True)  # fmt: skip


def _actions(w: _Writer, r: Report) -> None:
    w.heading("二、本月超时扣分与处置（处置台账）")
    rows = []
    for a, name in list(ACTIONS.items())[:3]:
        counts = [r.actions.get((a, s), 0) for s in STATUS]
        rows.append([name, shown(sum(counts)), *map(shown, counts)])
    w.table(["处理措施", "应处置事项", *STATUS.values()], rows, (60, 30, 30, 30, 30))
    w.para("按扣分所超时限计入本月；已撤销为经申诉或系统故障撤销的扣分。")


def _hospitals(w: _Writer, r: Report) -> None:
    hp = r.profile["hospital_penalty"]
    limit = Fraction(hp["rate_numerator"], hp["rate_denominator"])
    w.heading(f"四、{r.month[:4]}年年终考核扣分与接近扣分的医院")
    w.para(
        f"扣分：年内取消资格专家占在库专家比例 ≥ {float(limit):.0%}；"
        f"接近扣分：未扣分、比例 ≥ {float(NEAR_RATIO):.0%}。按评估时间的年内累计计算。",
        8,
    )
    if not r.hospitals:
        w.para("无。")
        return
    w.table(["医院", "在库专家", "取消资格", "比例", "考核结果"], r.hospitals, (70, 25, 25, 25, 35))


def _violations(w: _Writer, r: Report) -> None:
    w.heading("三、本月规则核查问题（按规则）")
    sums, names = r.sums.get(r.month, {}), rule_names(r.profile)
    found = sorted(
        ((m.removeprefix(VIOLATION_PREFIX), n) for m, n in sums.items() if m.startswith(VIOLATION_PREFIX)),
        key=lambda x: (-x[1], x[0]),
    )  # fmt: skip
    if not found:
        w.para("无。")
        return
    w.table(["规则", "问题数"], [[names.get(k, k), shown(n)] for k, n in found], (150, 30))


def _draw_row(rec: log.DrawRecord, a: Appraisal) -> list[str]:
    p, t = rec.params(), a.total
    if t.rate is None:
        estimate = ["—"] * 3
    else:
        estimate = [f"{t.rate:.1%}（{t.rate_low:.1%}–{t.rate_high:.1%}）",
                    f"{round(t.projected_improper):,}", f"{t.projected_yuan:,.0f}"]  # fmt: skip
    return [f"{rec.created_at:%Y-%m-%d}", f"{p['date_from']} 至 {p['date_to']}",
            shown(sum(s.frame_n for s in a.strata)), shown(t.checked_n), shown(t.improper_n),
            *estimate]  # fmt: skip


def _spot_checks(w: _Writer, r: Report) -> None:
    w.heading("五、鉴定通过病例抽查结果与推断（近12个月）")
    if not r.draws:
        w.para("近12个月无随机病例抽查记录。")
        return
    head = ["抽取日期", "办结期间", "鉴定通过", "已核查", "不合格", f"不合格率（{percent(DEFAULT_CONFIDENCE)}区间）",
            "估算不合格件数", "估算风险金额（元）"]  # fmt: skip
    rows = [_draw_row(rec, a) for rec, a in r.draws]
    w.table(head, rows, (17, 36, 14, 11, 11, 39, 23, 28))
    rec, latest = r.draws[0]
    w.para(f"最近一次（{RANDOM_DRAWS[rec.kind]}）：{headline(latest)}", 8)
    w.para("抽查结论以报告生成时已录入的为准；明察暗访定向抽取的病例不参与推断。", 8)


OUTLOOK_HEIGHT = 40  # mm: heading, a two-row table and its note stay on one page


def _outlook(w: _Writer, r: Report) -> None:
    if w.pdf.will_page_break(OUTLOOK_HEIGHT):
        w.pdf.add_page()
    w.heading("六、风险展望（评估时间起）")
    w.table(
        ["类别", "任务数"],
        [
            ["即将超过时限的任务", shown(r.risk.get("at_risk", 0))],
            ["待核实（时限已过、导出数据尚未显示）", shown(r.risk.get("unconfirmed", 0))],
        ],
        (120, 60),
    )
    w.para("待核实任务不计入扣分与处置，请电话核实后以下一次导出数据为准。")


def render(r: Report) -> bytes:
    """The report as PDF bytes."""
    pdf = cjk_pdf(f"门诊慢特病鉴定监管月报 {r.month} {r.scope}")
    w = _Writer(pdf)
    _title(pdf, w, r)
    _kpi_table(w, r)
    if r.taiyuan:
        _sanctions(w, r)
        _violations(w, r)
        _ty_reviews(w, r)
        _ty_trends(pdf, w, r)
        return bytes(pdf.output())
    _actions(w, r)
    _violations(w, r)
    _hospitals(w, r)
    _spot_checks(w, r)
    _outlook(w, r)
    _trends(pdf, w, r)
    return bytes(pdf.output())


def monthly_report(
    con: duckdb.DuckDBPyConnection,
    profile: Profile,
    when: EvalTime,
    month: str,
    district: str | None = None,
) -> bytes:
    """The monthly report PDF for the month and the city (district None) or one district."""
    return render(gather(con, profile, when, month, district))
