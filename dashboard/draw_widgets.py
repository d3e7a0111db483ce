"""Shared pieces of the draw pages (抽查, 双随机抽取, 季度复核, 审计日志).

The pages compute no draw: they call `pipelines.draws` and show its records. This module holds
what several of them show — the projector-style blocks (large type, dark background, no web
fonts), the record facts, the files published for the stand-alone verifier and the PDF records.
"""

from __future__ import annotations

import datetime as dt
import html
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from dashboard.charts import show_table
from dashboard.common import (
    con,
    data_version,
    db_path,
    full_personal_data,
    literal,
    mask_name,
    num,
    scope_district,
    user,
)
from dashboard.downloads import _audit as record_download
from dashboard.downloads import file_stem
from pipelines.draws import log, reference, replace
from pipelines.draws.cli import write_population, write_result
from pipelines.draws.review import Quarter, quarter_of
from pipelines.errors import DataError, UsageError

ERRORS = (DataError, UsageError)
KIND_LABEL = log.KIND_LABEL
SHORT = {
    "population_frozen": "冻结名单",
    "spot_check": "抽查",
    "expert_draw": "专家抽取",
    "review_cases": "复核病例",
    "review_experts": "复核专家",
    "appeal_panel": "申诉专家",
}
CSV_MIME = "text/csv"
PDF_MIME = "application/pdf"
PDF_DEFERRED_MAX = 300  # picks; above this the PDF takes long enough to need a spinner

PROJECTOR_CSS = """
.mtb-proj { background: #0b1726; color: #ffffff; border-radius: 10px; padding: 22px 32px;
  margin: 6px 0 14px; line-height: 1.3;
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
  "WenQuanYi Zen Hei", sans-serif; }
.mtb-proj .mono { font-family: "DejaVu Sans Mono", "Noto Sans Mono CJK SC", Consolas,
  "Courier New", monospace; }
.mtb-proj .label { color: #a9bdd3; font-size: 24px; }
.mtb-proj .title { font-size: 34px; font-weight: 700; color: #ffffff; margin-bottom: 10px; }
.mtb-proj .big { font-size: 60px; font-weight: 800; color: #ffffff; }
.mtb-proj .yellow { color: #ffd54a; }
.mtb-proj .digest { font-size: 40px; font-weight: 700; color: #ffd54a; letter-spacing: 2px;
  white-space: pre; }
.mtb-proj .seed { font-size: 52px; font-weight: 800; color: #ffd54a; letter-spacing: 3px;
  word-break: break-all; }
.mtb-proj .facts { display: flex; flex-wrap: wrap; gap: 12px 48px; align-items: flex-end;
  margin: 6px 0 14px; }
.mtb-proj .note { font-size: 22px; color: #d7e3f0; margin-top: 8px; }
.mtb-proj .steps { display: flex; gap: 10px; flex-wrap: wrap; font-size: 24px; }
.mtb-proj .step { padding: 6px 16px; border-radius: 8px; border: 2px solid #4a6180;
  color: #a9bdd3; }
.mtb-proj .step.done { border-color: #4caf50; color: #c8e6c9; }
.mtb-proj .step.now { border-color: #ffd54a; color: #0b1726; background: #ffd54a;
  font-weight: 700; }
.mtb-proj .card { display: grid; grid-template-columns: 170px 1fr auto; gap: 0 20px;
  align-items: center; background: #13243a; border: 3px solid #ffd54a; border-radius: 10px;
  padding: 10px 22px; margin: 10px 0; }
.mtb-proj .card.wait { border: 3px dashed #4a6180; background: transparent; padding: 4px 22px; }
.mtb-proj .rank { font-size: 28px; color: #a9bdd3; white-space: nowrap; }
.mtb-proj .rank b { font-size: 64px; color: #ffd54a; padding: 0 6px; }
.mtb-proj .card.wait .rank b { font-size: 40px; color: #6f86a3; }
.mtb-proj .who { font-size: 52px; font-weight: 800; line-height: 1.15; }
.mtb-proj .who .id { color: #ffd54a; margin-right: 28px; }
.mtb-proj .hosp { font-size: 30px; color: #e3ecf6; }
.mtb-proj .key { font-size: 22px; color: #a9bdd3; text-align: right; white-space: nowrap; }
.mtb-proj .swap { font-size: 26px; color: #ffcc80; margin-top: 2px; }
.mtb-proj .swap s { color: #ff8a80; }
.mtb-proj .wait-text { font-size: 32px; color: #6f86a3; }
.mtb-proj .steps + .title { margin-top: 14px; }
"""

# The projector screen: one pick at a time, sized to the window (readable at 1024×768), and no
# text that may break inside a name: ids, names, hospitals and the witness stay on one line.
SCREEN_CSS = """
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stSidebarCollapseButton"], header[data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
[data-testid="stMainBlockContainer"], .block-container { max-width: 100% !important;
  padding: 12px 20px 8px !important; }
.mtb-proj.screen { min-height: calc(100vh - 110px); display: flex; flex-direction: column;
  justify-content: center; align-items: center; text-align: center; margin: 0; gap: 1.2vh;
  overflow: hidden; }
.mtb-proj.screen .one-line { white-space: nowrap; word-break: keep-all; overflow-wrap: normal; }
.mtb-proj.screen .scr-head { color: #a9bdd3; }
.mtb-proj.screen .scr-slot { color: #ffd54a; font-weight: 700; }
.mtb-proj.screen .scr-id { color: #ffd54a; font-weight: 800; }
.mtb-proj.screen .scr-name { font-weight: 800; line-height: 1.15; }
.mtb-proj.screen .scr-hosp { color: #e3ecf6; }
.mtb-proj.screen .scr-witness { margin-top: 2vh; }
.mtb-proj.screen .scr-witness b { color: #ffd54a; }
.mtb-proj.screen .scr-foot { color: #a9bdd3; }
"""


# ---- who may do what ------------------------------------------------------------------------


def can_draw() -> bool:
    """Freezing, drawing, replacing and recording findings need the role's run_draws."""
    return user().perms.run_draws


def read_only_notice() -> None:
    st.info(
        f"您的角色（{user().role}）没有抽取权限：本页只能查看已有的抽取记录，不能冻结名单、抽取或录入。"
    )


def scope_hospitals() -> set[str] | None:
    """Hospital ids of the user's district, or None for city-wide roles."""
    return reference.district_hospitals(con(), scope_district())


def in_scope(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows of the user's district only (by a hospital id column); all rows for city roles."""
    allowed = scope_hospitals()
    return df if allowed is None else df[df[column].isin(allowed)].reset_index(drop=True)


def person_name(name: str | None) -> str:
    """An expert's or insured person's name, masked unless the role sees personal data."""
    if not name:
        return ""
    return name if full_personal_data() else mask_name(name) or ""


# ---- reference data -------------------------------------------------------------------------


@st.cache_data(max_entries=8, show_spinner=False)
def _hospital_names(version: Any, db: str) -> dict[str, str]:
    return reference.hospital_names(con())


def hospital_names() -> dict[str, str]:
    """hospital_id → name (read once per data version)."""
    return _hospital_names(data_version(), str(db_path()))


def experts(ids: list[str]) -> pd.DataFrame:
    """expert_id, expert_name, hospital_id, specialty, title of the given experts."""
    return reference.expert_table(con(), ids).to_pandas()


# ---- the draw log ---------------------------------------------------------------------------


def records(kinds: tuple[str, ...], for_kind: str | None = None) -> pd.DataFrame:
    """Metadata of the draw_log records of the given kinds, newest first (no populations).

    for_kind keeps only the records of one kind of draw (its frozen lists and its draws).
    """
    c = con()
    if not log.has_log(c):
        return pd.DataFrame(
            columns=["draw_id", "kind", "created_at", "operator", "supervisor", "frozen_id"]
        )
    return c.execute(
        "select record_no, draw_id, kind, created_at, operator, supervisor, profile, frozen_id, "
        "parent_id, population_size, population_digest, seed, "
        f"{log.PICKS_COUNT} as picks, reason "
        "from draw_log where list_contains($kinds, kind) "
        "and ($for_kind is null or json_extract_string(parameters, '$.for_kind') = $for_kind) "
        "order by record_no desc",
        {"kinds": list(kinds), "for_kind": for_kind},
    ).df()


def record(draw_id: str) -> log.DrawRecord:
    return log.get_record(con(), draw_id)


def ts(value: dt.datetime | None) -> str:
    return "—" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def record_choice(df: pd.DataFrame, label: str, key: str) -> str | None:
    """A selectbox of records (newest first) labelled by id, time and operator."""
    if df.empty:
        return None
    labels = {
        r.draw_id: f"{r.draw_id}（{r.created_at:%Y-%m-%d %H:%M}，操作人 {r.operator or '—'}）"
        for r in df.itertuples()
    }
    return st.selectbox(label, list(labels), format_func=labels.get, key=key)


# ---- projector blocks -----------------------------------------------------------------------


def projector(body: str) -> None:
    """Large type on a dark background, readable from the back of a meeting room."""
    st.html(f"<style>{PROJECTOR_CSS}</style><div class='mtb-proj'>{body}</div>")


def screen(body: str) -> None:
    """Full window, no sidebar: the projector screen of a meeting (SCREEN_CSS)."""
    st.html(f"<style>{PROJECTOR_CSS}{SCREEN_CSS}</style><div class='mtb-proj screen'>{body}</div>")


def fit_line(text: str, css: str, max_px: int, mono: bool = False, inner: str | None = None) -> str:
    """One line of the projector screen whose font shrinks with its length, so that it is never
    wider than the screen (84% of the window): a CJK character is 1 em wide, others about 0.6
    em (1 em in a monospace font's CJK, 0.6 em its digits). `inner`: the line's HTML when it
    marks up parts of `text` (already escaped)."""
    ems = sum(1.0 if ord(ch) > 0x2E7F else 0.62 for ch in text) or 1.0
    size = f"min({max_px}px, {84 / ems:.2f}vw)"
    family = " mono" if mono else ""
    return (
        f"<div class='{css}{family} one-line' style='font-size: {size}'>{inner or esc(text)}</div>"
    )


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def digest_lines(digest: str) -> str:
    """64 hex digits as two lines of four groups of 8, easy to read aloud and compare."""
    groups = [digest[i : i + 8] for i in range(0, len(digest), 8)]
    return "\n".join(" ".join(groups[j : j + 4]) for j in range(0, len(groups), 4))


def fact(label: str, value: str, css: str = "big") -> str:
    return f"<div><div class='label'>{esc(label)}</div><div class='{css}'>{esc(value)}</div></div>"


def steps_bar(names: list[str], current: int) -> str:
    """① … ② … ③ with the steps done, the step now and the steps to come."""
    marks = "①②③④⑤"
    parts = []
    for i, name in enumerate(names):
        state = "done" if i < current else ("now" if i == current else "")
        parts.append(f"<span class='step {state}'>{marks[i]} {esc(name)}</span>")
    return f"<div class='steps'>{''.join(parts)}</div>"


def frozen_block(rec: log.DrawRecord, title: str, size_label: str, extra: str = "") -> str:
    """The frozen population's size and digest in large type (shown before any seed exists)."""
    return (
        f"<div class='title'>{esc(title)}</div>"
        "<div class='facts'>"
        + fact(size_label, f"{num(rec.population_size)}")
        + fact("冻结时间", ts(rec.created_at), "label yellow")
        + fact("名单冻结记录", rec.draw_id, "label yellow")
        + "</div>"
        "<div class='label'>名单摘要 SHA-256（确定随机种子之前公示）</div>"
        f"<div class='digest mono'>{esc(digest_lines(rec.population_digest or ''))}</div>"
        f"{extra}"
    )


def seed_block(rec: log.DrawRecord) -> str:
    return (
        "<div class='label'>随机种子（已锁定，不可更改）</div>"
        f"<div class='seed mono'>{esc(rec.seed)}</div>"
    )


def show_digest(rec: log.DrawRecord) -> None:
    """The record's population size and digest in ordinary type (pages other than the projector)."""
    c1, c2 = st.columns([1, 3])
    c1.metric("名单人数", num(rec.population_size))
    c2.markdown("**名单摘要 SHA-256**")
    c2.code(rec.population_digest or "", language=None)


def record_caption(rec: log.DrawRecord) -> None:
    st.caption(
        f"记录 {literal(rec.draw_id)} · {literal(KIND_LABEL.get(rec.kind, rec.kind))} · "
        f"{literal(ts(rec.created_at))} · 操作人 {literal(rec.operator or '—')} · 监督人 {literal(rec.supervisor or '—')}"
        + (f" · 重抽原因：{literal(rec.reason)}" if rec.reason else "")
    )


def _replace(draw_id: str, supervisor: str | None, key: str) -> None:
    """Form callback: replace the chosen pick; on success the reason field is emptied."""
    who = st.session_state[f"{key}-out"]
    try:
        res = replace(
            con(),
            draw_id,
            who,
            st.session_state[f"{key}-reason-field"],
            operator=user().username,
            supervisor=supervisor,
        )
    except ERRORS as exc:
        st.session_state[f"{key}-flash"] = ("error", str(exc))
        return
    new = res.picks[0]
    st.session_state[f"{key}-flash"] = (
        "success",
        f"{who} 由 {new.id} 替补（按序第 {new.rank} 位）。",
    )
    st.session_state[f"{key}-reason-field"] = ""


def replacement_form(rec: log.DrawRecord, picks: list, key: str) -> None:
    """A drawn expert who cannot serve → the next-ranked eligible candidate, with the reason."""
    st.markdown("#### 替补（入选专家不能参加时）")
    info = experts([p.id for p in picks]).set_index("expert_id")
    labels = {
        p.id: f"第 {i + 1} 位 {p.id} "
        + person_name(info.loc[p.id, "expert_name"] if p.id in info.index else None)
        for i, p in enumerate(picks)
    }
    with st.form(f"{key}-replace-form", border=False):
        c1, c2 = st.columns([1, 2])
        c1.selectbox("不能参加的专家", list(labels), format_func=labels.get, key=f"{key}-out")
        c2.text_input(
            "原因（必填，记入记录）",
            key=f"{key}-reason-field",
            placeholder="如：本人因病不能参加；与被鉴定人有亲属关系",
        )
        st.form_submit_button(
            "由下一位候选人替补",
            key=f"{key}-replace",
            on_click=_replace,
            args=(rec.draw_id, rec.supervisor, key),
        )
    if flash := st.session_state.pop(f"{key}-flash", None):
        (st.success if flash[0] == "success" else st.error)(flash[1])


def replacements_table(state: Any, key: str) -> None:
    """The replacements of a draw with their reasons (empty: nothing shown)."""
    if not state.replacements:
        return
    st.markdown("#### 替补记录")
    show_table(
        pd.DataFrame(
            [
                {
                    "时间": ts(r["created_at"]),
                    "被替换": r["replaced"],
                    "替补": r["replacement"],
                    "原因": r["reason"],
                    "替补记录": r["draw_id"],
                }
                for r in state.replacements
            ]
        ),
        hide_index=True,
        key=key,
    )


# ---- files ----------------------------------------------------------------------------------


def _file_bytes(write: Callable[[str], Any]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.csv"
        write(str(path))
        return path.read_bytes()


@st.cache_data(max_entries=64, show_spinner=False)
def _published(draw_id: str, db: str, record_hash: str) -> tuple[bytes, bytes | None]:
    """(population list, result) as the CLI's draw-export writes them; records never change."""
    c = con()
    rec = log.get_record(c, draw_id)
    population = _file_bytes(lambda p: write_population(c, draw_id, p))
    result = (
        None if rec.kind == "population_frozen" else _file_bytes(lambda p: write_result(rec, p))
    )
    return population, result


PUBLIC_HELP = (
    "公示用名单覆盖全市（含其他区县的申报或专家编号，不含姓名与身份证号），"
    "任何人可据此用独立校验工具复算抽取；区县用户下载的也是全市名单。"
)


def publish_buttons(rec: log.DrawRecord, what: str, period: str | None, key: str) -> None:
    """Download the frozen list (and the result, once drawn) to publish for the verifier."""
    population, result = _published(rec.draw_id, str(db_path()), rec.record_hash)
    stem_list = file_stem(f"{what}候选名单", period)
    cols = st.columns(2)
    cols[0].download_button(
        "下载全市公示候选名单 (CSV，一公开)",
        population,
        file_name=f"{stem_list}.csv",
        mime=CSV_MIME,
        key=f"{key}-population",
        help=PUBLIC_HELP,
        on_click=record_download,
        args=(f"{what}候选名单", f"{stem_list}.csv", rec.population_size or 0, "none"),
    )
    if result is not None:
        stem_result = file_stem(f"{what}抽取结果", period)
        cols[1].download_button(
            "下载全市公示抽取结果 (CSV，一公开)",
            result,
            file_name=f"{stem_result}.csv",
            mime=CSV_MIME,
            key=f"{key}-result",
            help=PUBLIC_HELP,
            on_click=record_download,
            args=(f"{what}抽取结果", f"{stem_result}.csv", len(rec.pick_list()), "none"),
        )


def verify_command(rec: log.DrawRecord, population: str, result: str) -> str:
    """The stand-alone verifier's command line for a published draw (tools/verify_draw.py)."""
    params = rec.params()
    how = f"--rate {params['rate']}" if params.get("rate") else ""
    if params.get("precision"):
        plan = params["precision"]
        how = (
            f"--expected-rate {plan['expected_rate']} --half-width {plan['half_width']} "
            f"--confidence {plan['confidence']} --min-rate {plan['min_rate']}"
        )
    strata = params.get("stratum_column")
    parts = [
        "python3 verify_draw.py",
        f"--seed '{rec.seed}'",
        f"--population {population}",
        f"--strata-column {strata}" if strata else "",
        how,
        f"--result {result}",
        f"--digest {rec.population_digest}",
    ]
    return " ".join(p for p in parts if p)


@st.cache_resource(show_spinner=False)
def _pdf_font_problem() -> str | None:
    from pipelines.draws.pdf import find_cjk_fonts

    try:
        find_cjk_fonts()
    except DataError as exc:
        return str(exc)
    return None


def _pdf_bytes(c: duckdb.DuckDBPyConnection, draw_id: str, public: bool) -> bytes:
    from pipelines.draws import record_pdf

    with tempfile.TemporaryDirectory() as tmp:
        return record_pdf(c, draw_id, Path(tmp) / "record.pdf", public=public).read_bytes()


def pdf_buttons(rec: log.DrawRecord, key: str) -> None:
    """The printable record to sign (internal, with names) and its public version (一公开).

    Roles without full personal data get only the public version. A small record is made when
    its download button is clicked; a large one (a city's quarterly spot check runs to a hundred
    pages and about a minute) is made first behind a button with a spinner, then offered.
    """
    problem = _pdf_font_problem()
    if problem:
        st.warning(literal(problem))
        return
    c = con()
    picks = len(rec.pick_list())
    stem = file_stem("抽取记录", rec.draw_id)
    versions = [(True, f"{stem}_公开版.pdf", "公开版 PDF（不含姓名）", "none")]
    if full_personal_data():
        versions.insert(0, (False, f"{stem}.pdf", "抽取记录 PDF（内部存档，供签字）", "full"))
    else:
        st.caption("内部存档版含姓名，您的角色只能下载公开版。")
    made = st.session_state.setdefault(f"{key}-made", {})
    large = picks > PDF_DEFERRED_MAX
    for col, (public, name, label, personal) in zip(
        st.columns(len(versions)), versions, strict=True
    ):
        kind = "public" if public else "internal"
        data = made.get((rec.draw_id, public))
        if large and data is None:
            if col.button(f"生成{label}（{num(picks)} 条，约需一分钟）", key=f"{key}-make-{kind}"):
                with st.spinner(f"正在生成{label}…"):
                    made[(rec.draw_id, public)] = _pdf_bytes(c, rec.draw_id, public)
                st.rerun()
            continue
        col.download_button(
            f"下载{label}",
            data or (lambda public=public: _pdf_bytes(c, rec.draw_id, public)),
            file_name=name,
            mime=PDF_MIME,
            key=f"{key}-{kind}",
            on_click=record_download,
            args=("抽取记录" + ("（公开版）" if public else ""), name, picks, personal),
        )


# ---- periods --------------------------------------------------------------------------------


def quarters_between(first: dt.date, last: dt.date) -> list[Quarter]:
    """Every quarter from first's to last's, newest first."""
    out = []
    q = quarter_of(first)
    while q <= quarter_of(last):
        out.append(q)
        q = q.next()
    return out[::-1]


def period_label(date_from: dt.date, date_to: dt.date) -> str:
    """2026Q3 when the period is exactly a quarter, else 20260701-20260815 (for file names)."""
    q = quarter_of(date_from)
    if date_from == q.first_day and date_to == q.last_day:
        return q.label
    return f"{date_from:%Y%m%d}-{date_to:%Y%m%d}"


def count_col(label: str) -> Any:
    return st.column_config.NumberColumn(label, format="%,d")
