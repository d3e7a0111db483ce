"""The input files of shared/CONTRACT.md "Input files": columns, Chinese headers, types.

The four shared files, and Taiyuan's `panel_opinions` and `recerts` (TY-PANEL, TY-RECERT)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Col:
    """One contract column: canonical name, Chinese header, kind and whether it is required."""

    name: str
    zh: str
    kind: str = "text"  # text | id | date | time | number | enum | person_id | disease
    required: bool = False
    values: dict[str, str] = field(default_factory=dict)  # accepted spelling → stored value
    # An event that has happened by the time of the export: a later value is impossible data,
    # loaded with a data warning (scenario data may be dated after the machine's clock).
    past: bool = False


def _enum(*values: str, **aliases: str) -> dict[str, str]:
    out = {v: v for v in values}
    out.update({k.lower(): v for k, v in aliases.items()})
    return out


RESPONSE = _enum(
    "受理", "不受理", accept="受理", decline="不受理", accepted="受理", declined="不受理"
)
VERDICT = _enum("符合", "不符合", **{"pass": "符合", "fail": "不符合"})


@dataclass(frozen=True)
class TableSpec:
    name: str
    zh: str
    key: str
    columns: tuple[Col, ...]
    # further columns that identify a row together with `key` (panel_opinions: case × expert)
    key_also: tuple[str, ...] = ()

    @property
    def stg(self) -> str:
        return f"stg_{self.name}"

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key, *self.key_also)

    def key_sql(self, prefix: str = "t_") -> str:
        """SQL of a row's key: its key column, or its key columns joined by a unit separator."""
        return " || chr(31) || ".join(f"{prefix}{k}" for k in self.keys)

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)


SPECS: dict[str, TableSpec] = {
    s.name: s
    for s in (
        TableSpec(
            "hospitals",
            "定点医疗机构",
            "hospital_id",
            (
                Col("hospital_id", "医院编码", "id", required=True),
                Col("hospital_name", "医院名称", required=True),
                Col("hospital_class", "医院类别", "enum", values=_enum("一类", "二类", "三类")),
                Col("ownership", "所有制", "enum", values=_enum("公立", "民营")),
                Col("district", "所属区县"),
                Col("group_id", "所属院区编码"),
            ),
        ),
        TableSpec(
            "experts",
            "鉴定专家库",
            "expert_id",
            (
                Col("expert_id", "专家编码", "id", required=True),
                Col("expert_name", "专家姓名"),
                Col("hospital_id", "医院编码", "id", required=True),
                Col("specialty", "专业", required=True),
                Col(
                    "title",
                    "职称",
                    "enum",
                    required=True,
                    values=_enum("主任医师", "副主任医师", "主治医师", "住院医师"),
                ),
                Col("registered_on", "入库日期", "date", required=True),
                Col("disqualified_on", "取消资格日期", "date"),
                Col("phone", "联系电话"),
            ),
        ),
        TableSpec(
            "cases",
            "门诊慢特病申报",
            "case_id",
            (
                Col("case_id", "申报编号", "id", required=True),
                Col("person_id", "身份证号", "person_id", required=True),
                Col("person_name", "姓名"),
                Col("insurance_type", "医保类别", "enum", values=_enum("职工医保", "城乡居民医保")),
                Col("disease_name", "病种名称", "disease", required=True),
                Col("hospital_id", "医院编码", "id", required=True),
                Col("submitted_at", "申报时间", "time", required=True, past=True),
                Col("record_id", "病历编号", "id"),
                Col(
                    "record_format",
                    "病历格式",
                    "enum",
                    values=_enum("HIS导出PDF", "扫描件", "其他"),
                ),
                Col("record_size_mb", "病历大小MB", "number"),
                Col("discharge_date", "出院日期", "date", past=True),
                Col("outcome", "鉴定结果", "enum", values=VERDICT),
                Col("decided_at", "办结时间", "time", past=True),
                Col("benefit_start", "待遇开始日期", "date"),
                Col("category", "病种类别", "enum", values=_enum("定额", "非定额")),
                Col("publicity_from", "公示开始日期", "date"),
                Col("publicity_to", "公示结束日期", "date"),
                Col("entered_at", "信息录入时间", "time", past=True),
            ),
        ),
        TableSpec(
            "tasks",
            "专家鉴定任务日志",
            "task_id",
            (
                Col("task_id", "任务编号", "id", required=True),
                Col("case_id", "申报编号", "id", required=True),
                Col("expert_id", "专家编码", "id", required=True),
                Col("pushed_at", "推送时间", "time", required=True, past=True),
                Col("responded_at", "响应时间", "time", past=True),
                Col("response", "响应", "enum", values=RESPONSE),
                Col("completed_at", "完成时间", "time", past=True),
                Col("verdict", "鉴定意见", "enum", values=VERDICT),
            ),
        ),
        TableSpec(
            "panel_opinions",
            "认定专家组意见",
            "case_id",
            (
                Col("case_id", "申报编号", "id", required=True),
                Col("expert_id", "专家编码", "id", required=True),
                Col("opinion", "专家意见", "enum", required=True, values=VERDICT),
                Col("signed_at", "签字时间", "time", required=True, past=True),
            ),
            key_also=("expert_id",),
        ),
        TableSpec(
            "recerts",
            "重新认定申请",
            "recert_id",
            (
                Col("recert_id", "重新认定编号", "id", required=True),
                Col("case_id", "申报编号", "id", required=True),
                Col("requested_at", "申请时间", "time", required=True, past=True),
                Col("completed_at", "完成时间", "time", past=True),
                Col("outcome", "重新认定结果", "enum", values=VERDICT),
            ),
        ),
    )
}

# Load order: references first, so each file is checked against what came before it.
ORDER = ("hospitals", "experts", "cases", "tasks", "panel_opinions", "recerts")

TIME_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y年%m月%d日",
    "%Y%m%d",
]
DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d", *TIME_FORMATS[:10]]


def header_map(spec: TableSpec) -> dict[str, str]:
    """Accepted header spelling (lower-cased English, or Chinese) → canonical column name."""
    out: dict[str, str] = {}
    for c in spec.columns:
        out[c.name.lower()] = c.name
        out[normalise_header(c.zh)] = c.name
    return out


def normalise_header(text: str) -> str:
    """A header cell as matched: NFKC (full-width letters, digits, brackets as half-width); BOM,
    spaces, a required-mark asterisk removed; English lowered."""
    t = unicodedata.normalize("NFKC", text or "").replace("\ufeff", "").strip().strip("*").strip()
    return t.lower() if t.isascii() else t.replace(" ", "")
