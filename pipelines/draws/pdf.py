"""The printed draw record (抽取记录) to be signed, and its public version without personal data.

fpdf2 embeds the OpenType/CFF Noto CJK fonts of Debian's `fonts-noto-cjk` (checked: CID Type 0C,
subset), so no extra font package is needed; `fonts-wqy-zenhei` (TrueType) is looked for next. The font is found at run time — the environment
variable MTB_PDF_FONT (a .ttf/.otf/.ttc file) first, then the usual system paths; none found is a
DataError saying which package to install. The internal version shows the names of the drawn
experts or insured persons (never ID numbers); the public version (一公开) leaves out every name,
including those of operator and supervisor, who sign the internal one.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

from pipelines.config import load_profile
from pipelines.draws import log
from pipelines.draws.engine import DrawState, current_state
from pipelines.draws.spotcheck import percent, rule_text
from pipelines.errors import DataError

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
FONT_FILES = (
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJKsc-Regular.otf",
    "NotoSerifCJK-Regular.ttc",
    "wqy-zenhei.ttc",
    "wqy-microhei.ttc",
)
INSTALL_HINT = (
    "未找到可嵌入 PDF 的中文字体：请安装 Debian 软件包 fonts-noto-cjk（或 fonts-wqy-zenhei），"
    "或设置环境变量 MTB_PDF_FONT 指向 .ttf/.otf/.ttc 中文字体文件"
)


@dataclasses.dataclass(frozen=True)
class FontFace:
    """A font file and, for a collection (.ttc), the face to use."""

    path: Path
    index: int = 0


def _face_index(path: Path, wanted: str) -> int | None:
    """The index of the first face of a .ttc whose full name contains `wanted`."""
    from fontTools.ttLib import TTCollection

    for i, font in enumerate(TTCollection(str(path), lazy=True).fonts):
        if wanted in (font["name"].getDebugName(4) or ""):
            return i
    return None


def find_cjk_fonts() -> tuple[FontFace, FontFace, FontFace]:
    """(regular, bold, monospace) faces of a Simplified-Chinese font; DataError when none."""
    env = os.environ.get("MTB_PDF_FONT")
    if env:
        path = Path(env)
        if not path.is_file():
            raise DataError(f"环境变量 MTB_PDF_FONT 指向的字体文件不存在：{path}。{INSTALL_HINT}")
        face = FontFace(path, (_face_index(path, "SC") or 0) if path.suffix == ".ttc" else 0)
        return face, face, face
    for name in FONT_FILES:
        for base in FONT_DIRS:
            hits = sorted(base.rglob(name)) if base.is_dir() else []
            if not hits:
                continue
            path = hits[0]
            if not name.startswith("Noto") or path.suffix != ".ttc":
                return FontFace(path), FontFace(path), FontFace(path)
            regular = FontFace(path, _face_index(path, "Sans CJK SC") or 0)
            mono_i = _face_index(path, "Mono CJK SC")
            mono = FontFace(path, mono_i) if mono_i is not None else regular
            bold_path = path.with_name(path.name.replace("Regular", "Bold"))
            bold = regular
            if bold_path.is_file():
                bold = FontFace(bold_path, _face_index(bold_path, "Sans CJK SC") or 0)
            return regular, bold, mono
    raise DataError(INSTALL_HINT)


class RecordPDF(FPDF):
    """A4 page with the record id and page number in the footer."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("cjk", size=8)
        self.cell(0, 6, f"{self.footer_text}    第 {self.page_no()}/{{nb}} 页", align="C")


def _names(con: duckdb.DuckDBPyConnection, kind: str, ids: Sequence[str]) -> dict[str, str]:
    """Names of the picks for the internal record: the expert's or the insured person's."""
    if not ids:
        return {}
    if kind in ("spot_check", "review_cases"):
        rows = con.execute(
            "select case_id, person_name from stg_cases where list_contains(?, case_id)",
            [list(ids)],
        ).fetchall()
        return {i: n or "" for i, n in rows}
    rows = con.execute(
        "select expert_id, expert_name from stg_experts where list_contains(?, expert_id)",
        [list(ids)],
    ).fetchall()
    return {i: n or "" for i, n in rows}


def cjk_pdf(footer: str) -> RecordPDF:
    """An A4 RecordPDF with the CJK fonts ("cjk" regular and bold, "mono"), its first page added."""
    regular, bold, mono = find_cjk_fonts()
    pdf = RecordPDF(format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_font("cjk", "", str(regular.path), collection_font_number=regular.index)
    pdf.add_font("cjk", "B", str(bold.path), collection_font_number=bold.index)
    pdf.add_font("mono", "", str(mono.path), collection_font_number=mono.index)
    pdf.footer_text = footer
    pdf.alias_nb_pages()
    pdf.add_page()
    return pdf


class _Writer:
    """Layout helpers over one RecordPDF."""

    def __init__(self, pdf: RecordPDF):
        self.pdf = pdf

    def heading(self, text: str) -> None:
        self.pdf.ln(2)
        self.pdf.set_font("cjk", "B", 11)
        self.pdf.cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.set_font("cjk", size=9)

    def para(self, text: str, size: float = 9) -> None:
        self.pdf.set_font("cjk", size=size)
        self.pdf.multi_cell(0, 5, text, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def fields(self, rows: Sequence[tuple[str, str]]) -> None:
        self.table(["项目", "内容"], [list(r) for r in rows], (32, 148), heading=False)

    def table(
        self,
        head: Sequence[str],
        rows: Sequence[Sequence[Any]],
        widths: Sequence[float],
        heading: bool = True,
        mono: int | None = None,
    ) -> None:
        pdf = self.pdf
        pdf.set_font("cjk", size=8)
        with pdf.table(
            col_widths=tuple(widths),
            width=sum(widths),
            first_row_as_headings=heading,
            line_height=4.6,
            wrapmode=WrapMode.CHAR,
            text_align="LEFT",
            repeat_headings=1,
        ) as t:
            if heading:
                r = t.row()
                for h in head:
                    r.cell(h)
            for row in rows:
                r = t.row()
                for j, v in enumerate(row):
                    if j == mono:
                        pdf.set_font("mono", size=6.5)
                    r.cell("" if v is None else str(v))
                    pdf.set_font("cjk", size=8)
        pdf.set_font("cjk", size=9)


def _hospital_labels(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each hospital as the record names it: 名称（编码） (hospital names are public)."""
    rows = con.execute("select hospital_id, hospital_name from stg_hospitals").fetchall()
    return {i: f"{n}（{i}）" if n else i for i, n in rows}


def _rule_lines(params: dict[str, Any], hospitals: dict[str, str]) -> list[tuple[str, str]]:
    out = [("抽取规则", f"{params.get('rule', '')}：{params.get('filter', '')}")]
    if params.get("strata"):
        out.append(
            (
                "分层",
                {"hospital_id": "按申报医院分层", "specialty": "按专业分层"}.get(
                    params["strata"], params["strata"]
                ),
            )
        )
    if params.get("rate"):
        rate = percent(Decimal(params["rate"]))
        out.append(("抽取比例", f"{rate}（每层 ceil({rate} × 层内人数)，精确小数计算）"))
    if params.get("precision"):
        out.append(("样本量", rule_text(params)))
    if params.get("n"):
        out.append(("抽取人数", str(params["n"])))
    if params.get("avoid_hospitals"):
        avoided = (hospitals.get(h, h) for h in params["avoid_hospitals"])
        out.append(("回避医院（含同一医院的其他院区，ZZ-AVOID）", "、".join(avoided)))
    if params.get("min_experts_per_specialty"):
        out.append(
            (
                "专家人数规则",
                f"每专业 max({params['min_experts_per_specialty']}, ceil(病例数 / "
                f"{params['cases_per_expert']}))，因回避无法分配时依次递补下一位",
            )
        )
    return out


def _render(
    con: duckdb.DuckDBPyConnection, rec: log.DrawRecord, state: DrawState, public: bool
) -> RecordPDF:
    hospitals = _hospital_labels(con)
    pdf = cjk_pdf(f"抽取记录 {rec.draw_id}  记录哈希 {rec.record_hash[:16]}…")
    w = _Writer(pdf)
    params = rec.params()
    frozen = log.get_record(con, rec.frozen_id) if rec.frozen_id else rec
    profile = load_profile(rec.profile).label if rec.profile else ""

    pdf.set_font("cjk", "B", 16)
    title = "门诊慢特病随机抽取记录" + ("（公开版）" if public else "")
    pdf.cell(0, 10, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("cjk", size=10)
    pdf.cell(
        0, 6, log.KIND_LABEL.get(rec.kind, rec.kind), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )

    w.heading("一、基本信息")
    rows = [
        ("记录编号", rec.draw_id),
        ("抽取类型", log.KIND_LABEL.get(rec.kind, rec.kind)),
        ("规则配置", f"{profile}（{rec.profile}）"),
        ("抽取时间", f"{rec.created_at:%Y-%m-%d %H:%M:%S}"),
    ]
    if not public:
        rows += [("操作人", rec.operator or ""), ("监督人", rec.supervisor or "")]
    if rec.reason:
        rows.append(("重抽原因", rec.reason))
    w.fields(rows)

    if rec.kind != "targeted":
        _population_section(w, rec, frozen, params, hospitals)
    if rec.kind != "population_frozen":
        _draw_sections(con, w, rec, state, public, hospitals)
    number = {"population_frozen": "三", "targeted": "四"}.get(rec.kind, "七")
    w.heading(f"{number}、记录校验")
    w.fields([("上一条记录哈希", rec.prev_hash), ("本记录哈希", rec.record_hash)])
    pdf.ln(6)
    if public:
        w.para("本公开版不含专家及参保人姓名、身份证号；签字原件由医保经办机构存档。")
    else:
        pdf.set_font("cjk", size=11)
        for role in ("操作人", "监督人"):
            pdf.cell(
                0,
                12,
                f"{role}（签字）：____________________    日期：______年____月____日",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
    if rec.kind in ("spot_check", "review_cases"):
        _appraisal_appendix(con, w, rec)
    return pdf


def _appraisal_appendix(con: duckdb.DuckDBPyConnection, w: _Writer, rec: log.DrawRecord) -> None:
    """附录: the estimates at 90% from the latest findings, and the formula sheet to recompute them."""
    from pipelines.draws.appraise import FORMULAS, appraise, headline

    a = appraise(con, rec.draw_id)
    if a.total.checked_n == 0:
        return
    w.pdf.add_page()
    w.heading("附录：抽查推断（以已录入的抽查结论估计全部鉴定通过病例）")
    w.para(headline(a))

    def pct(v: float | None) -> str:
        return "" if v is None else f"{v:.1%}"

    def amount(v: float | None) -> str:
        return "" if v is None else f"{v:,.0f}"

    rows = [
        [e.hospital_id, e.frame_n, e.checked_n, e.improper_n,
         f"{pct(e.rate)}（{pct(e.rate_low)}–{pct(e.rate_high)}）" if e.rate is not None else "",
         f"{amount(e.projected_improper)}（{amount(e.projected_low)}–{amount(e.projected_high)}）"
         if e.projected_improper is not None else "",
         f"{e.found_yuan:,.2f}",
         f"{amount(e.projected_yuan)}（{amount(e.yuan_low)}–{amount(e.yuan_high)}）"
         if e.projected_yuan is not None else ""]
        for e in a.rows
    ]  # fmt: skip
    head = ["医院", "鉴定通过", "已核查", "不合格", "不合格率（区间）", "估算不合格件数（区间）"]
    w.table([*head, "已发现金额", "估算风险金额（区间）"], rows, (16, 15, 13, 13, 37, 30, 22, 34))
    w.heading("计算公式")
    for line in FORMULAS:
        w.para("· " + line)


def _population_section(
    w: _Writer,
    rec: log.DrawRecord,
    frozen: log.DrawRecord,
    params: dict[str, Any],
    hospitals: dict[str, str],
) -> None:
    """二: the candidate list frozen before the seed, its digest, the rule and the strata."""
    w.heading("二、候选名单（在确定随机种子之前冻结并公示）")
    w.fields(
        [
            ("名单冻结记录", f"{frozen.draw_id}（{frozen.created_at:%Y-%m-%d %H:%M:%S}）"),
            ("名单人数", f"{rec.population_size:,}"),
            ("名单摘要 SHA-256", rec.population_digest or ""),
            *_rule_lines(params, hospitals),
        ]
    )
    sizes = params.get("strata_sizes", {})
    k = params.get("k", {})
    if params.get("strata"):
        w.para("各层人数与抽取数：")
        w.table(
            ["层", "层内人数", "抽取数"],
            [[s, n, k.get(s, 0)] for s, n in sizes.items()],
            (90, 45, 45),
        )
    excluded = params.get("exclusions", [])
    if excluded:
        w.para(f"不作为候选人的 {len(excluded)} 人及原因：")
        w.table(["编号", "原因"], [[e["id"], e["reason"]] for e in excluded], (40, 140))


def _draw_sections(
    con: duckdb.DuckDBPyConnection,
    w: _Writer,
    rec: log.DrawRecord,
    state: DrawState,
    public: bool,
    hospitals: dict[str, str],
) -> None:
    params = rec.params()
    if rec.kind == "targeted":
        _targeted_sections(w, params)
        return
    w.heading("三、随机种子与抽取方法")
    w.fields(
        [
            ("随机种子", rec.seed or ""),
            (
                "方法",
                "每名候选人的密钥 = SHA-256(UTF-8 编码的“种子|编号”) 的小写十六进制；"
                "各层按密钥从小到大排序，取前 k 名。名单摘要 = 按码位排序的编号各加换行后的 "
                "SHA-256（即 LC_ALL=C sort 名单 | sha256sum）。任何人可凭公开的名单与种子复算。",
            ),
        ]
    )

    w.heading("四、抽取结果")
    names = {} if public else _names(con, rec.kind, [p.id for p in state.picks])
    by_hospital = params.get("strata") == "hospital_id"
    replaced_by = {r["replacement"]: r["replaced"] for r in state.replacements}
    head = ["层", "序号", "编号", "医院"] + ([] if public else ["姓名"]) + ["密钥 (key)"]
    widths = (24, 10, 26, 18) + ((102,) if public else (24, 78))
    rows = []
    for p in state.picks:
        ident = p.id + (f"（接替 {replaced_by[p.id]}）" if p.id in replaced_by else "")
        stratum = hospitals.get(p.stratum, p.stratum) if by_hospital else p.stratum
        row = [stratum, p.rank, ident, hospitals.get(p.hospital_id or "", p.hospital_id or "")]
        rows.append(row + ([] if public else [names.get(p.id, "")]) + [p.key])
    w.table(head, rows, widths, mono=len(head) - 1)
    shortfall = params.get("shortfall", {})
    if shortfall:
        w.para(
            "候选人不足："
            + "；".join(
                f"{s or '全部'} 需 {v['k']} 人，仅有 {v['available']} 人，已全部抽取"
                for s, v in shortfall.items()
            )
        )

    if state.assignments:
        w.heading("五、复核分配（回避本院病例）")
        w.table(
            ["病例编号", "病例所在医院", "复核专家"],
            [
                [
                    a["case_id"],
                    hospitals.get(a["case_hospital_id"], a["case_hospital_id"]),
                    a["expert_id"],
                ]
                for a in state.assignments
            ],
            (60, 60, 60),
        )
        if params.get("unassigned"):
            w.para("无法分配的病例（候选专家不足）：" + "、".join(params["unassigned"]))

    w.heading("六、替补记录")
    if state.replacements:
        w.table(
            ["时间", "被替换", "替补", "原因", "替补记录"],
            [
                [
                    f"{r['created_at']:%Y-%m-%d %H:%M}",
                    r["replaced"],
                    r["replacement"],
                    r["reason"],
                    r["draw_id"],
                ]
                for r in state.replacements
            ],
            (28, 25, 25, 62, 40),
        )
    else:
        w.para("无")


def _targeted_sections(w: _Writer, params: dict[str, Any]) -> None:
    """明察暗访: the documented score and each pick's score and reason (no seed: not random)."""
    from pipelines.draws.targeted import score_text

    w.heading("二、定向抽取规则（不参与抽查推断）")
    w.fields([("所附随机抽查", params["on_draw"]), ("风险分", score_text(params))])
    w.heading("三、定向抽取结果")
    rows = [
        [i, s["case_id"], s["hospital_id"], s["score"], s["reason"]]
        for i, s in enumerate(params["scores"], start=1)
    ]
    w.table(["序号", "编号", "医院", "风险分", "理由"], rows, (12, 28, 18, 14, 108))


def record_pdf(
    con: duckdb.DuckDBPyConnection, draw_id: str, path: str | Path, *, public: bool = False
) -> Path:
    """Write the record of a draw (a replacement's draw, for a replacement id) as a PDF."""
    rec = log.get_record(con, draw_id)
    if rec.kind == "replacement":
        rec = log.get_record(con, rec.parent_id or "")
    if rec.kind == "population_frozen":
        state = DrawState(picks=[], replacements=[], assignments=[])
    else:
        state = current_state(con, rec.draw_id)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _render(con, rec, state, public).output(str(target))
    return target
