"""Bad input, one table (issue 6 "Trust"; DATA-REJECT, shared/CONTRACT.md "Input files").

Every case starts from the clean folder of tests/test_ingest.py (with resident IDs whose check
digits are right), breaks one thing, and states what must happen:

- rejected whole: nothing of any file is loaded, and the message names the file and the problem;
- loaded, with the unusable rows in quarantine at their file, line (as a spreadsheet counts
  them: the header is line 1), column and reason;
- loaded, with a data warning (a wrong check digit, a time later than the load).

Each case runs through `pipelines.ingest.ingest` and through the real command line
(`python -m pipelines ingest --db PATH DIR`: exit 1 and the message for a rejection, exit 0
otherwise), and for every file rows read = rows accepted + rows quarantined.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from pipelines.db import connect
from pipelines.ingest import ingest
from pipelines.readers import FileRejected

from test_ingest import CASES, EXPERTS, HOSPITALS, TASKS, ZH, counts, load, write_all, write_csv

ROOT = Path(__file__).resolve().parent.parent

# C1 and C2 of test_ingest with the right GB 11643 check digit. 41010519900101123: the digits
# times the weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 sum to 163, 163 mod 11 = 9, and
# "10X98765432"[9] = "3". 41010519850202567: the sum is 242, 242 mod 11 = 0 → "1".
C1_ID, C2_ID = "410105199001011233", "410105198502025671"
CASES_OK = [
    CASES[0],
    [CASES[1][0], C1_ID, *CASES[1][2:]],
    [CASES[2][0], C2_ID, *CASES[2][2:]],
]
C3 = ["C3", "", "赵敏", "职工医保", "恶性肿瘤门诊治疗", "H1", "2026-03-05 09:00:00"] + [""] * 7
BASE = {"hospitals.csv": (2, 2, 0), "experts.csv": (3, 3, 0), "cases.csv": (2, 2, 0)}
BASE["tasks.csv"] = (4, 4, 0)
# Later than the load (the clock), but within the year after it that a date may be
TODAY = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
SOON = TODAY + dt.timedelta(days=30)
LATEST = TODAY.replace(
    year=TODAY.year + 1, day=min(TODAY.day, 28) if TODAY.month == 2 else TODAY.day
)


def task(task_id="T9", case="C1", expert="E1", pushed="2026-03-02 10:00:00", *rest):
    """A tasks row; `rest` fills responded_at, response, completed_at, verdict."""
    return [task_id, case, expert, pushed, *rest, *[""] * (4 - len(rest))]


def c3(person_id: str) -> list[str]:
    return [C3[0], person_id, *C3[2:]]


CASE_COLS = CASES[0]


def case_row(case_id: str, **values: str) -> list[str]:
    """C3 (a clean pending case) as `case_id`, with these columns changed."""
    row = [case_id, C2_ID, *C3[2:]]
    for name, v in values.items():
        row[CASE_COLS.index(name)] = v
    return row


def _invisible(column: str) -> str:
    return f"{column} held invisible characters (zero-width space, BOM …), removed"


def outside(column: str) -> str:
    return f"{column} outside 2000-01-01 .. {LATEST}"


def put(table: str, rows: list[list[str]], encoding: str = "utf-8") -> Callable[[Path], None]:
    """Setup: replace the table's CSV with these rows (header first)."""

    def setup(d: Path) -> None:
        write_csv(d / f"{table}.csv", rows, encoding)

    return setup


def swap(table: str, name: str, content: bytes | Callable[[Path], None]) -> Callable:
    """Setup: remove the table's CSV and write `name` instead (bytes, or a writer function)."""

    def setup(d: Path) -> None:
        (d / f"{table}.csv").unlink()
        if callable(content):
            content(d / name)
        else:
            (d / name).write_bytes(content)

    return setup


def quoted_csv(path: Path, rows: list[list[str]]) -> None:
    """A CSV as Excel writes it: fields with commas or quotes are quoted, quotes doubled."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


# ---- workbooks ---------------------------------------------------------------------------------


def _workbook(path: Path, sheets: dict[str, list[list]], merges: dict | None = None) -> None:
    from openpyxl import Workbook

    merges = merges or {}

    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
        for rng in merges.get(title, []):
            ws.merge_cells(rng)
    wb.save(path)


TASK_ORDER = [0, 1, 2, 3, 4, 6, 5, 7]  # the three times side by side under one group title


def tasks_two_row_header(path: Path) -> None:
    """Row 1: 任务编号 … merged down two rows, 时间 merged across three; row 2: the three times."""
    top = ["任务编号", "申报编号", "专家编码", "时间", None, None, "响应", "鉴定意见"]
    sub = [None, None, None, "推送时间", "响应时间", "完成时间", None, None]
    data = [[r[i] for i in TASK_ORDER] for r in [*TASKS[1:], task(case="C9")]]
    merges = ["A1:A2", "B1:B2", "C1:C2", "D1:F1", "G1:G2", "H1:H2"]
    _workbook(path, {"任务": [top, sub, *data]}, {"任务": merges})


def tasks_title_row(path: Path) -> None:
    title = ["郑州市专家鉴定任务日志（2026年3月）", *[None] * 7]
    rows = [title, ZH["tasks"], *TASKS[1:3], task(case="C9"), *TASKS[3:]]
    _workbook(path, {"导出": rows}, {"导出": ["A1:H1"]})


def tasks_three_sheets(path: Path) -> None:
    _workbook(
        path,
        {
            "三月": [ZH["tasks"], TASKS[1], TASKS[2]],
            "四月": [TASKS[0], TASKS[3], task(case="C9"), TASKS[4]],
            "说明": [["本文件由平台导出，每月一个工作表"]],
        },
    )


def tasks_sheet_missing_column(path: Path) -> None:
    no_push = [[v for i, v in enumerate(r) if i != 3] for r in TASKS]
    _workbook(path, {"三月": [ZH["tasks"], *TASKS[1:3]], "四月": [no_push[0], *no_push[3:]]})


def tasks_excel_times(path: Path) -> None:
    """Real datetime cells, Excel serial numbers (46083 is 2026-03-02) and text, mixed."""
    rows = [
        TASKS[0],
        [
            "T1",
            "C1",
            "E1",
            dt.datetime(2026, 3, 2, 10),
            46083 + 11 / 24,
            "受理",
            46084.4375,
            "符合",
        ],
        ["T2", "C1", "E2", "2026/3/2 10:00", dt.datetime(2026, 3, 2, 12), "受理", 46084, "符合"],
    ]
    _workbook(path, {"Sheet1": rows})


def prose_workbook(path: Path) -> None:
    _workbook(path, {"说明": [["关于门诊慢特病鉴定的通知"], ["各定点医疗机构：请于月底前报送。"]]})


def hospitals_workbook(path: Path) -> None:
    _workbook(path, {"Sheet1": HOSPITALS})


def tasks_parquet_utc(path: Path) -> None:
    """The tasks as Parquet with time-zone-aware timestamps (isAdjustedToUTC), as pandas and
    Spark write a tz-aware column: T1 pushed 10:00 Beijing is stored as the instant 02:00 UTC."""
    import pandas as pd

    df = pd.DataFrame(TASKS[1:], columns=TASKS[0])
    for col in ("pushed_at", "responded_at", "completed_at"):
        df[col] = pd.to_datetime(df[col]).dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")
    df.to_parquet(path, index=False)


def tasks_parquet_float_ids(path: Path) -> None:
    """The tasks as Parquet, with the task ids written as floats (1.0, 2.0, …) by pandas."""
    import pandas as pd

    df = pd.DataFrame(TASKS[1:], columns=TASKS[0])
    df["task_id"] = [float(t[1:]) for t in df["task_id"]]
    df.to_parquet(path, index=False)


def hospitals_with_a_nul_after_64kb(path: Path) -> None:
    """2,000 more hospitals (110 KB), then one whose name holds a NUL byte (line 2004)."""
    more = [f"HX{i:04d},某某县第{i}人民医院,二类,公立,中原区" for i in range(2000)]
    lines = [",".join(r) for r in HOSPITALS] + more + ["HN,某\0医院,二类,公立,中原区"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def hospitals_with_line(line: str) -> Callable[[Path], None]:
    """hospitals.csv: the header, H1, then `line` (line 3), then H2 (line 4)."""

    def write(path: Path) -> None:
        rows = [",".join(HOSPITALS[0]), ",".join(HOSPITALS[1]), line, ",".join(HOSPITALS[2])]
        path.write_bytes(("\n".join(rows) + "\n").encode())

    return write


# ---- checks on what was stored -----------------------------------------------------------------


def value(con: duckdb.DuckDBPyConnection, sql: str):
    return con.execute(sql).fetchone()[0]


def stored_names_are_right(con):
    assert value(con, "select hospital_name from stg_hospitals where hospital_id = 'H1'") == (
        "郑州大学第一附属医院"
    )
    assert value(con, "select person_name from stg_cases where case_id = 'C2'") == "李红"


def districts_are_empty(con):
    assert con.execute("select district from stg_hospitals").fetchall() == [(None,), (None,)]


def c1_submitted_at_nine(con):
    at = value(con, "select submitted_at from stg_cases where case_id = 'C1'")
    assert at == dt.datetime(2026, 3, 1, 9, 0)


def t1_completed_at_serial(con):
    # 46084.4375 days after 1899-12-30: 2026-03-03, and 0.4375 × 24 h = 10:30
    at = value(con, "select completed_at from stg_tasks where task_id = 'T1'")
    assert at == dt.datetime(2026, 3, 3, 10, 30)


def iso_t_times(con):
    rows = con.execute(
        "select task_id, pushed_at, responded_at from stg_tasks where task_id in ('T1', 'T2') "
        "order by task_id"
    ).fetchall()
    assert rows == [
        ("T1", dt.datetime(2026, 3, 2, 10), dt.datetime(2026, 3, 2, 11)),
        ("T2", dt.datetime(2026, 3, 2, 10), dt.datetime(2026, 3, 2, 12, 0, 30)),
    ]


def excel_times(con):
    rows = con.execute(
        "select task_id, pushed_at, responded_at, completed_at from stg_tasks order by task_id"
    ).fetchall()
    assert rows == [
        (
            "T1",
            dt.datetime(2026, 3, 2, 10),
            dt.datetime(2026, 3, 2, 11),
            dt.datetime(2026, 3, 3, 10, 30),
        ),
        ("T2", dt.datetime(2026, 3, 2, 10), dt.datetime(2026, 3, 2, 12), dt.datetime(2026, 3, 3)),
    ]


def merged_header_columns(con):
    # the columns came out of the right header cells although the workbook's order differs
    row = con.execute(
        "select pushed_at, responded_at, response, completed_at from stg_tasks where task_id = 'T1'"
    ).fetchone()
    assert row == (
        dt.datetime(2026, 3, 2, 10),
        dt.datetime(2026, 3, 2, 11),
        "受理",
        dt.datetime(2026, 3, 3, 10),
    )


def first_c1_kept(con):
    assert con.execute("select case_id, person_name from stg_cases order by 1").fetchall() == [
        ("C1", "王小明"),
        ("C2", "李红"),
    ]


def future_reason_in_chinese(con):
    rows = con.execute(
        "select column_name, warning_zh from data_warnings where table_name = 'tasks' order by 1"
    ).fetchall()
    assert rows == [
        ("pushed_at", "「推送时间」晚于导入时间，已导入，请核实"),
        ("responded_at", "「响应时间」晚于导入时间，已导入，请核实"),
    ]
    assert value(con, "select count(*) from stg_tasks where task_id = 'T5'") == 1


FORMULAS = {
    "expert_name": '=HYPERLINK("http://x","y")',
    "hospital_name": "+86 371 6696 1234",
    "person_name": "-1+1",
    "district": "@SUM(1,2)",
}


def write_formulas(d: Path) -> None:
    h2 = ["H2", FORMULAS["hospital_name"], "二类", "民营", FORMULAS["district"]]
    e1 = [EXPERTS[1][0], FORMULAS["expert_name"], *EXPERTS[1][2:]]
    c1 = [*CASES_OK[1][:2], FORMULAS["person_name"], *CASES_OK[1][3:]]
    quoted_csv(d / "hospitals.csv", [*HOSPITALS[:2], h2])
    quoted_csv(d / "experts.csv", [EXPERTS[0], e1, *EXPERTS[2:]])
    quoted_csv(d / "cases.csv", [CASES_OK[0], c1, CASES_OK[2]])


def formulas_stored_as_text_and_neutralised(con):
    from openpyxl import load_workbook

    from pipelines.sheets import neutralise, to_csv_bom, to_xlsx

    got = {
        "expert_name": value(con, "select expert_name from stg_experts where expert_id = 'E1'"),
        "hospital_name": value(
            con, "select hospital_name from stg_hospitals where hospital_id = 'H2'"
        ),
        "person_name": value(con, "select person_name from stg_cases where case_id = 'C1'"),
        "district": value(con, "select district from stg_hospitals where hospital_id = 'H2'"),
    }
    assert got == FORMULAS  # stored as the text that was sent, not evaluated, not altered
    assert {k: neutralise(v) for k, v in got.items()} == {k: "'" + v for k, v in FORMULAS.items()}
    for table in ("stg_hospitals", "stg_experts", "stg_cases"):
        df = con.execute(f"select * from {table}").df()
        text = to_csv_bom(df).decode("utf-8-sig")
        cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")], table
        ws = load_workbook(io.BytesIO(to_xlsx(df))).active
        xcells = [c for row in ws.iter_rows() for c in row if c.value is not None]
        assert not [c.coordinate for c in xcells if c.data_type == "f"], table
        starts = [c.value for c in xcells if isinstance(c.value, str) and c.value[:1] in "=+-@"]
        assert starts == [], table
    assert "'=HYPERLINK" in to_csv_bom(con.execute("select * from stg_experts").df()).decode(
        "utf-8-sig"
    )


def offset_times_in_beijing(con):
    rows = con.execute(
        "select task_id, pushed_at, responded_at, completed_at from stg_tasks "
        "where task_id in ('T1', 'T2') order by task_id"
    ).fetchall()
    # 02:00Z + 8 h = 10:00; 11:00+08:00 is Beijing already; 2026-03-01 23:00-05:00 + 13 h
    # = 03-02 12:00; 02:30:00.5Z (fraction kept) + 8 h; 2026-03-03 03:00+0800 (no colon)
    assert rows == [
        (
            "T1",
            dt.datetime(2026, 3, 2, 10),
            dt.datetime(2026, 3, 2, 11),
            dt.datetime(2026, 3, 3, 10, 0, 0, 500000),
        ),
        (
            "T2",
            dt.datetime(2026, 3, 2, 10),
            dt.datetime(2026, 3, 2, 12),
            dt.datetime(2026, 3, 3, 3),
        ),
    ]


def parquet_utc_times_in_beijing(con):
    rows = con.execute(
        "select task_id, pushed_at, responded_at, completed_at from stg_tasks order by task_id"
    ).fetchall()

    def at(v: str) -> dt.datetime | None:
        return dt.datetime.fromisoformat(v) if v else None

    assert rows == [(r[0], at(r[3]), at(r[4]), at(r[6])) for r in TASKS[1:]]


def ids_without_invisible_characters(con):
    assert con.execute("select hospital_id from stg_hospitals order by 1").fetchall() == [
        ("H1",),
        ("H2",),
    ]
    assert value(con, "select count(*) from stg_experts where hospital_id = 'H1'") == 2
    assert value(con, "select count(*) from stg_tasks where task_id = 'T1'") == 1
    rows = con.execute(
        "select warning_zh from data_warnings where table_name = 'hospitals'"
    ).fetchall()
    assert rows == [("「医院编码」含不可见字符（零宽空格、BOM 等），已去除后导入，请核实",)]


def float_ids_as_integers(con):
    ids = con.execute("select task_id from stg_tasks order by 1").fetchall()
    assert ids == [("1",), ("2",), ("3",), ("4",)]


def sizes_from_the_full_width_header(con):
    rows = con.execute("select case_id, record_size_mb from stg_cases order by 1").fetchall()
    assert rows == [("C1", 3.5), ("C2", 12.0)]


def nul_reason_in_chinese(con):
    assert value(con, "select reason_zh from quarantine") == "「医院名称」含 NUL 字节（二进制数据）"
    assert value(con, "select count(*) from stg_hospitals") == 2002


def conflicting_task_not_stored_identical_once(con):
    rows = con.execute("select task_id from stg_tasks order by 1").fetchall()
    assert rows == [("T2",), ("T3",), ("T4",), ("T9",)]
    raw = value(con, "select raw::json->>'verdict' from quarantine where file_name = 'tasks.csv'")
    assert raw == "符合"
    reasons = con.execute("select reason_zh from quarantine order by file_name").fetchall()
    assert reasons == [
        ("与 tasks_copy.csv 第 2 行编号相同但内容不同（重复编号）",),
        ("与 tasks.csv 第 2 行编号相同但内容不同（重复编号）",),
    ]


# ---- the matrix --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    setup: Callable[[Path], None] = lambda d: None
    base: dict = field(default_factory=dict)  # write_all options (encoding, chinese headers)
    # (a) rejected whole: the file named and words of the problem
    rejected: str | None = None
    problem: tuple[str, ...] = ()
    # (b)/(c) loaded: file → (read, accepted, quarantined) where it differs from BASE (None: no
    # such file), the quarantine rows (file, line, column, reason) and the data warnings
    files: dict = field(default_factory=dict)
    quarantine: tuple = ()
    warnings: tuple = ()
    ignored: dict = field(default_factory=dict)  # file → header cells the load ignored
    check: Callable[[duckdb.DuckDBPyConnection], None] | None = None


UNKNOWN_CASE = "unknown case"
CASE_MATRIX = [
    # -- encodings --
    Case("utf8-clean-baseline", check=stored_names_are_right),
    Case("utf8-with-bom", base={"encoding": "utf-8-sig"}, check=stored_names_are_right),
    Case(
        "gbk-with-chinese-headers",
        base={"encoding": "gbk", "chinese": True},
        check=stored_names_are_right,
    ),
    Case(
        "utf16-with-bom",
        put("hospitals", HOSPITALS, "utf-16"),
        rejected="hospitals.csv",
        problem=("UTF-16", "既不是 UTF-8 也不是 GBK"),
    ),
    Case(
        "utf16-without-bom",
        put("experts", EXPERTS, "utf-16-le"),
        rejected="experts.csv",
        problem=("UTF-16",),
    ),
    Case(
        "random-bytes",
        swap("hospitals", "hospitals.csv", random.Random(6).randbytes(4096)),
        rejected="hospitals.csv",
        problem=("这不是表格文件", "NUL"),
    ),
    Case(
        "latin1-neither-utf8-nor-gbk",
        # "é" is byte E9 in Latin-1; E9 then "," is no GBK/GB18030 character
        swap("hospitals", "hospitals.csv", b"hospital_id,hospital_name\nH1,Caf\xe9,\n"),
        rejected="hospitals.csv",
        problem=("第 2 行编码无法识别", "既不是 UTF-8 也不是 GBK"),
    ),
    Case(
        "mixed-utf8-and-gbk-lines",
        swap(
            "hospitals",
            "hospitals.csv",
            ",".join(HOSPITALS[0]).encode()
            + b"\n"
            + ",".join(HOSPITALS[1]).encode("utf-8")
            + b"\n"
            + ",".join(HOSPITALS[2]).encode("gbk")
            + b"\n",
        ),
        rejected="hospitals.csv",
        problem=("编码混用", "第 2 行是 UTF-8", "第 3 行是 GBK"),
    ),
    # -- files and headers --
    Case(
        "empty-file-0-bytes",
        swap("tasks", "tasks.csv", b""),
        rejected="tasks.csv",
        problem=("空文件",),
    ),
    Case("header-only", put("tasks", [TASKS[0]]), files={"tasks.csv": (0, 0, 0)}),
    Case(
        "extra-unknown-column",
        put("hospitals", [[*HOSPITALS[0], "备注"], *[[*r, "x"] for r in HOSPITALS[1:]]]),
        ignored={"hospitals.csv": ["备注"]},
    ),
    Case(
        "missing-required-column",
        put("hospitals", [[r[0], *r[2:]] for r in HOSPITALS]),
        rejected="hospitals.csv",
        problem=("缺少必填列：医院名称(hospital_name)",),
    ),
    Case(
        "misspelled-required-column",
        put("hospitals", [["hospital_id", "hospitl_name", *HOSPITALS[0][2:]], *HOSPITALS[1:]]),
        rejected="hospitals.csv",
        problem=(
            "缺少必填列：医院名称(hospital_name)",
            "「hospitl_name」是否应为「hospital_name」",
        ),
    ),
    Case(
        "misspelled-optional-column-is-ignored",
        put("hospitals", [[*HOSPITALS[0][:4], "distrct"], *HOSPITALS[1:]]),
        ignored={"hospitals.csv": ["distrct"]},
        check=districts_are_empty,
    ),
    Case(
        "duplicated-header",
        put(
            "hospitals", [[*HOSPITALS[0], "hospital_name"], *[[*r, "别名"] for r in HOSPITALS[1:]]]
        ),
        rejected="hospitals.csv",
        problem=("表头重复", "hospital_name"),
    ),
    Case(
        "chinese-and-english-headers-mixed",
        put("tasks", [[*ZH["tasks"][:4], *TASKS[0][4:]], *TASKS[1:]]),
    ),
    Case(
        "csv-row-with-too-few-fields",
        put("tasks", [*TASKS[:3], ["T9", "C1"], *TASKS[3:]]),
        files={"tasks.csv": (5, 4, 1)},
        quarantine=(("tasks.csv", 4, None, "wrong number of fields"),),
    ),
    Case(
        "csv-empty-lines-keep-line-numbers",
        # 1 header, 2 H1, 3 empty, 4 H3 (class not in the list), 5 H2, 6-7 empty, 8 H4
        # (ownership not in the list): Excel shows the empty lines as rows, so they count
        swap(
            "hospitals",
            "hospitals.csv",
            "\n".join(
                [
                    ",".join(HOSPITALS[0]),
                    ",".join(HOSPITALS[1]),
                    "",
                    "H3,某医院,四类,公立,中原区",
                    ",".join(HOSPITALS[2]),
                    "",
                    "",
                    "H4,某医院,三类,国有,中原区",
                ]
            ).encode()
            + b"\n",
        ),
        files={"hospitals.csv": (4, 2, 2)},
        quarantine=(
            ("hospitals.csv", 4, "hospital_class", "hospital_class value outside its list"),
            ("hospitals.csv", 8, "ownership", "ownership value outside its list"),
        ),
    ),
    # -- workbooks --
    Case(
        "xlsx-merged-header-cells-two-rows",
        swap("tasks", "tasks.xlsx", tasks_two_row_header),
        files={"tasks.csv": None, "tasks.xlsx": (5, 4, 1)},
        quarantine=(("tasks.xlsx", 7, "case_id", UNKNOWN_CASE),),
        check=merged_header_columns,
    ),
    Case(
        "xlsx-merged-title-row",
        swap("tasks", "tasks.xlsx", tasks_title_row),
        files={"tasks.csv": None, "tasks.xlsx": (5, 4, 1)},
        quarantine=(("tasks.xlsx", 5, "case_id", UNKNOWN_CASE),),
    ),
    Case(
        "xlsx-several-sheets",
        swap("tasks", "tasks.xlsx", tasks_three_sheets),
        files={"tasks.csv": None, "tasks.xlsx「三月」": (2, 2, 0), "tasks.xlsx「四月」": (3, 2, 1)},
        quarantine=(("tasks.xlsx「四月」", 3, "case_id", UNKNOWN_CASE),),
    ),
    Case(
        "xlsx-sheet-with-missing-column-rejects-the-file",
        swap("tasks", "tasks.xlsx", tasks_sheet_missing_column),
        rejected="tasks.xlsx",
        problem=("四月", "缺少必填列：推送时间(pushed_at)"),
    ),
    # -- times --
    Case(
        "time-slash-and-single-digit-hour",
        put(
            "cases",
            [CASES_OK[0], [*CASES_OK[1][:6], "2026/3/1 9:00", *CASES_OK[1][7:]], CASES_OK[2]],
        ),
        check=c1_submitted_at_nine,
    ),
    Case(
        "time-excel-serial-number-in-csv",
        put("tasks", [TASKS[0], [*TASKS[1][:6], "46084.4375", "符合"], *TASKS[2:]]),
        check=t1_completed_at_serial,
    ),
    Case(
        "time-iso-with-T",
        put(
            "tasks",
            [
                TASKS[0],
                ["T1", "C1", "E1", "2026-03-02T10:00", "2026-03-02T11:00:00", *TASKS[1][5:]],
                ["T2", "C1", "E2", "2026-03-02T10:00:00", "2026-03-02T12:00:30", *TASKS[2][5:]],
                *TASKS[3:],
            ],
        ),
        check=iso_t_times,
    ),
    Case(
        "time-excel-cells-serials-and-text",
        swap("tasks", "tasks.xlsx", tasks_excel_times),
        files={"tasks.csv": None, "tasks.xlsx": (2, 2, 0)},
        check=excel_times,
    ),
    Case(
        "time-with-utc-offset-is-beijing-time",
        # line 2 read as wall time would be pushed at 02:00, before C1 was submitted (09:00)
        put(
            "tasks",
            [
                TASKS[0],
                ["T1", "C1", "E1", "2026-03-02T02:00:00Z", "2026-03-02 11:00:00+08:00", "受理"]
                + ["2026-03-03T02:00:00.5Z", "符合"],
                ["T2", "C1", "E2", "2026-03-02 10:00", "2026-03-01T23:00:00-05:00", "受理"]
                + ["2026-03-03 03:00+0800", "符合"],
                *TASKS[3:],
            ],
        ),
        check=offset_times_in_beijing,
    ),
    Case(
        "time-parquet-utc-timestamps-are-beijing-time",
        swap("tasks", "tasks.parquet", tasks_parquet_utc),
        files={"tasks.csv": None, "tasks.parquet": (4, 4, 0)},
        check=parquet_utc_times_in_beijing,
    ),
    Case(
        "time-later-than-the-load",
        put(
            "tasks",
            [*TASKS, task("T5", "C1", "E1", f"{SOON} 10:00:00", f"{SOON} 11:00:00", "受理")],
        ),
        files={"tasks.csv": (5, 5, 0)},
        warnings=(
            ("tasks.csv", 6, "pushed_at", "pushed_at later than the load"),
            ("tasks.csv", 6, "responded_at", "responded_at later than the load"),
        ),
        check=future_reason_in_chinese,
    ),
    Case(
        "date-later-than-the-load",
        put(
            "cases",
            [CASES_OK[0], CASES_OK[1], [*CASES_OK[2][:10], str(SOON), *CASES_OK[2][11:]]],
        ),
        warnings=(("cases.csv", 3, "discharge_date", "discharge_date later than the load date"),),
    ),
    # -- rows that cannot be used --
    Case(
        "completion-before-push",
        put(
            "tasks",
            [
                *TASKS,
                task(
                    "T9",
                    "C1",
                    "E1",
                    "2026-03-02 10:00:00",
                    "2026-03-02 11:00:00",
                    "受理",
                    "2026-03-02 09:59:00",
                    "符合",
                ),
            ],
        ),
        files={"tasks.csv": (5, 4, 1)},
        quarantine=(("tasks.csv", 6, "completed_at", "completion before push"),),
    ),
    Case(
        "response-before-push",
        put(
            "tasks",
            [
                *TASKS[:2],
                task("T9", "C1", "E1", "2026-03-02 10:00:00", "2026-03-02 09:00:00", "受理"),
                *TASKS[2:],
            ],
        ),
        files={"tasks.csv": (5, 4, 1)},
        quarantine=(("tasks.csv", 3, "responded_at", "response before push"),),
    ),
    Case(
        "unknown-expert",
        put("tasks", [*TASKS, task(expert="E9")]),
        files={"tasks.csv": (5, 4, 1)},
        quarantine=(("tasks.csv", 6, "expert_id", "unknown expert"),),
    ),
    Case(
        "unknown-hospital",
        put("experts", [*EXPERTS, ["E9", "赵六", "H9", "内分泌科", "主任医师", "2020-01-01", ""]]),
        files={"experts.csv": (4, 3, 1)},
        quarantine=(("experts.csv", 5, "hospital_id", "unknown hospital"),),
    ),
    Case(
        "unknown-case",
        put("tasks", [*TASKS, task(case="C9")]),
        files={"tasks.csv": (5, 4, 1)},
        quarantine=(("tasks.csv", 6, "case_id", UNKNOWN_CASE),),
    ),
    Case(
        "duplicate-id-with-different-content",
        # line 4 repeats C2 exactly (accepted, stored once); line 5 is C1 with another name
        put("cases", [*CASES_OK, CASES_OK[2], [CASES_OK[1][0], C1_ID, "王大明", *CASES_OK[1][3:]]]),
        files={"cases.csv": (4, 3, 1)},
        quarantine=(
            ("cases.csv", 5, "case_id", "duplicate key with different content (first at line 2)"),
        ),
        check=first_c1_kept,
    ),
    Case(
        "duplicate-id-with-different-content-across-files",
        # tasks_copy.csv: T1 with another verdict (a conflict: both rows out), T2 the same as
        # in tasks.csv (stored once), T9 new
        lambda d: write_csv(
            d / "tasks_copy.csv",
            [TASKS[0], [*TASKS[1][:7], "不符合"], TASKS[2], task("T9")],
        ),
        files={"tasks.csv": (4, 3, 1), "tasks_copy.csv": (3, 2, 1)},
        quarantine=(
            (
                "tasks.csv",
                2,
                "task_id",
                "duplicate key with different content (tasks_copy.csv line 2)",
            ),
            (
                "tasks_copy.csv",
                2,
                "task_id",
                "duplicate key with different content (tasks.csv line 2)",
            ),
        ),
        check=conflicting_task_not_stored_identical_once,
    ),
    Case(
        "verdict-without-completion",
        put(
            "tasks",
            [
                *TASKS,
                task(
                    "T9",
                    "C1",
                    "E1",
                    "2026-03-02 10:00:00",
                    "2026-03-02 11:00:00",
                    "受理",
                    "",
                    "符合",
                ),
            ],
        ),
        files={"tasks.csv": (5, 4, 1)},
        quarantine=(("tasks.csv", 6, "verdict", "verdict without completion"),),
    ),
    # -- garbage (issue 15) --
    Case(
        "dates-infinity-epoch-outside-the-plausible-range",
        put(
            "cases",
            [
                *CASES_OK,
                case_row("C3", benefit_start="infinity"),
                case_row("C4", discharge_date="epoch"),
                case_row("C5", submitted_at="-infinity"),
                case_row("C6", decided_at="1999-12-31 23:59:59", outcome="符合"),
                case_row("C7", benefit_start=str(LATEST)),  # the last plausible day: kept
                case_row("C8", benefit_start=str(LATEST + dt.timedelta(1))),
            ],
        ),
        files={"cases.csv": (8, 3, 5)},
        quarantine=(
            ("cases.csv", 4, "benefit_start", outside("benefit_start")),
            ("cases.csv", 5, "discharge_date", outside("discharge_date")),
            ("cases.csv", 6, "submitted_at", outside("submitted_at")),
            ("cases.csv", 7, "decided_at", outside("decided_at")),
            ("cases.csv", 9, "benefit_start", outside("benefit_start")),
        ),
    ),
    Case(
        "record-size-negative-nan-infinite",
        put(
            "cases",
            [
                *CASES_OK,
                case_row("C3", record_size_mb="-3.5"),
                case_row("C4", record_size_mb="NaN"),
                case_row("C5", record_size_mb="inf"),
                case_row("C6", record_size_mb="0"),
            ],
        ),
        files={"cases.csv": (6, 3, 3)},
        quarantine=tuple(
            ("cases.csv", line, "record_size_mb", "record_size_mb must be a finite number >= 0")
            for line in (4, 5, 6)
        ),
    ),
    Case(
        "nul-byte-after-the-first-64kb",
        swap("hospitals", "hospitals.csv", hospitals_with_a_nul_after_64kb),
        files={"hospitals.csv": (2003, 2002, 1)},
        quarantine=(("hospitals.csv", 2004, "hospital_name", "hospital_name holds a NUL byte"),),
        check=nul_reason_in_chinese,
    ),
    Case(
        "ids-with-invisible-characters",
        # H1 with a zero-width space, T1 with a BOM inside: removed, with a warning; an id of
        # nothing but a zero-width space is quarantined
        lambda d: (
            put(
                "hospitals",
                [
                    HOSPITALS[0],
                    ["H1\u200b", *HOSPITALS[1][1:]],
                    HOSPITALS[2],
                    ["\u200b", "某医院", "二类", "公立", "中原区"],
                ],
            )(d),
            put("tasks", [TASKS[0], ["T\ufeff1", *TASKS[1][1:]], *TASKS[2:]])(d),
        ),
        files={"hospitals.csv": (3, 2, 1)},
        quarantine=(("hospitals.csv", 4, "hospital_id", "nothing but invisible characters"),),
        warnings=(
            ("hospitals.csv", 2, "hospital_id", _invisible("hospital_id")),
            ("tasks.csv", 2, "task_id", _invisible("task_id")),
        ),
        check=ids_without_invisible_characters,
    ),
    Case(
        "parquet-ids-written-as-floats",
        swap("tasks", "tasks.parquet", tasks_parquet_float_ids),
        files={"tasks.csv": None, "tasks.parquet": (4, 4, 0)},
        check=float_ids_as_integers,
    ),
    Case(
        "full-width-letters-in-a-header",
        put("cases", [[*ZH["cases"][:9], "病历大小ＭＢ", *ZH["cases"][10:]], *CASES_OK[1:]]),
        check=sizes_from_the_full_width_header,
    ),
    # -- unclear rejections and slow parses (issue 15) --
    Case(
        "nul-byte-on-line-3",
        swap("hospitals", "hospitals.csv", hospitals_with_line("H3,某\0医院,二类,公立,中原区")),
        files={"hospitals.csv": (3, 2, 1)},
        quarantine=(("hospitals.csv", 3, "hospital_name", "hospital_name holds a NUL byte"),),
    ),
    Case(
        "value-longer-than-2000-characters",
        # 2,001 Chinese characters: 6 KB, a line within the bound, a value beyond it
        swap(
            "hospitals", "hospitals.csv", hospitals_with_line("H3,某医院,二类,公立," + "区" * 2001)
        ),
        files={"hospitals.csv": (3, 2, 1)},
        quarantine=(("hospitals.csv", 3, "district", "district longer than 2,000 characters"),),
    ),
    Case(
        "line-of-3mb-chinese-rejected-naming-the-line",
        swap("hospitals", "hospitals.csv", hospitals_with_line("H3," + "名" * 1_000_000)),
        rejected="hospitals.csv",
        problem=("第 3 行过长", "3,000,003 字节以上", "上限 8,192 字节"),
    ),
    Case(
        "line-of-300kb-of-fields-rejected-quickly",
        swap("hospitals", "hospitals.csv", hospitals_with_line("H3" + ",a" * 150_000)),
        rejected="hospitals.csv",
        problem=("第 3 行过长", "上限 8,192 字节"),
    ),
    Case(
        "header-of-5mb-without-a-line-end",
        swap("hospitals", "hospitals.csv", ("hospital_id," + "x" * 5_000_000).encode()),
        rejected="hospitals.csv",
        problem=("第 1 行过长", "5,000,012 字节以上"),
    ),
    # -- resident IDs --
    Case(
        "resident-id-8-digits",
        # C2 is quarantined, so its two tasks (lines 4 and 5) have no case to belong to
        put("cases", [*CASES_OK[:2], [CASES_OK[2][0], "41010519", *CASES_OK[2][2:]]]),
        files={"cases.csv": (2, 1, 1), "tasks.csv": (4, 2, 2)},
        quarantine=(
            ("cases.csv", 3, "person_id", "resident ID must be 18 characters"),
            ("tasks.csv", 4, "case_id", UNKNOWN_CASE),
            ("tasks.csv", 5, "case_id", UNKNOWN_CASE),
        ),
    ),
    Case(
        "resident-id-17-characters",
        put("cases", [*CASES_OK, c3(C2_ID[:17])]),
        files={"cases.csv": (3, 2, 1)},
        quarantine=(("cases.csv", 4, "person_id", "resident ID must be 18 characters"),),
    ),
    Case(
        "resident-id-wrong-check-digit",
        put("cases", [*CASES_OK, c3(C2_ID[:17] + "0")]),
        files={"cases.csv": (3, 3, 0)},
        warnings=(("cases.csv", 4, "person_id", "resident ID check digit mismatch (expected 1)"),),
    ),
    # -- formula text --
    Case(
        "formula-injection-in-names",
        lambda d: write_formulas(d),
        check=formulas_stored_as_text_and_neutralised,
    ),
    # -- wrong extension, not a table --
    Case(
        "wrong-extension-csv-named-xlsx",
        lambda d: (d / "hospitals.csv").rename(d / "hospitals.xlsx"),
        rejected="hospitals.xlsx",
        problem=("不是有效的 Excel", "扩展名有误", "改为 .csv"),
    ),
    Case(
        "wrong-extension-xlsx-named-csv",
        swap("hospitals", "hospitals.csv", hospitals_workbook),
        rejected="hospitals.csv",
        problem=("不是 CSV 文本表格", "Excel 工作簿", "改为 .xlsx"),
    ),
    Case(
        "wrong-extension-txt",
        lambda d: (d / "hospitals.csv").rename(d / "hospitals.txt"),
        rejected="hospitals.txt",
        problem=("不支持的文件类型 '.txt'",),
    ),
    Case(
        "legacy-xls-named-xlsx",
        swap("hospitals", "hospitals.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)),
        rejected="hospitals.xlsx",
        problem=("旧版 Excel 工作簿（.xls）",),
    ),
    Case(
        "not-a-table-pdf",
        swap(
            "cases",
            "cases.csv",
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        ),
        rejected="cases.csv",
        problem=("这不是表格文件", "PDF"),
    ),
    Case(
        "not-a-table-json-text",
        swap("cases", "cases.csv", b'{"cases": [{"case_id": "C1"}]}\n'),
        rejected="cases.csv",
        problem=("没有可识别的列名", "门诊慢特病申报"),
    ),
    Case(
        "not-a-table-workbook-of-prose",
        swap("cases", "cases.xlsx", prose_workbook),
        rejected="cases.xlsx",
        problem=("未找到表头",),
    ),
]


def _expected_files(case: Case) -> dict[str, tuple[int, int, int]]:
    files = {**BASE, **case.files}
    return {f: n for f, n in files.items() if n is not None}


def _sorted(rows) -> list[tuple]:
    return sorted((tuple(r) for r in rows), key=lambda r: tuple("" if v is None else v for v in r))


def _stored(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {
        "log": _sorted(
            con.execute(
                "select file_name, rows_read, rows_accepted, rows_quarantined from load_log"
            ).fetchall()
        ),
        "quarantine": _sorted(
            con.execute("select file_name, line, column_name, reason_en from quarantine").fetchall()
        ),
        "warnings": _sorted(
            con.execute(
                "select file_name, line, column_name, warning_en from data_warnings"
            ).fetchall()
        ),
    }


def _assert_loaded(con: duckdb.DuckDBPyConnection, case: Case) -> None:
    files = _expected_files(case)
    stored = _stored(con)
    assert stored["log"] == _sorted((f, *n) for f, n in files.items())
    for f, read, accepted, quarantined in stored["log"]:
        assert read == accepted + quarantined, f  # DATA-REJECT, for every file
        assert sum(1 for q in stored["quarantine"] if q[0] == f) == quarantined, f
    assert stored["quarantine"] == _sorted(case.quarantine)
    assert stored["warnings"] == _sorted(case.warnings)
    # every reason is given in Chinese as well
    assert (
        value(
            con, "select count(*) from quarantine where reason_zh is null or reason_zh = reason_en"
        )
        == 0
    )
    assert (
        value(
            con,
            "select count(*) from data_warnings where warning_zh is null or warning_zh = warning_en",
        )
        == 0
    )
    if case.check is not None:
        case.check(con)


def _folder(tmp_path: Path, case: Case) -> Path:
    d = write_all(tmp_path / "in", **{"cases": CASES_OK, **case.base})
    case.setup(d)
    return d


def _cli(db: Path, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines", "ingest", "--db", str(db), str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory) -> Path:
    """A warehouse with its schema, catalogue and calendar and no data, made once: each case
    starts from a copy (setting one up from nothing costs a second of CPU)."""
    path = tmp_path_factory.mktemp("empty") / "empty.duckdb"
    connect(path).close()
    return path


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASE_MATRIX])
def test_bad_input(empty_db, tmp_path, case):
    d = _folder(tmp_path, case)

    # through the code
    con = connect(shutil.copyfile(empty_db, tmp_path / "lib.duckdb"))
    if case.rejected:
        with pytest.raises(FileRejected) as exc:
            load(con, d)
        assert exc.value.file.startswith(case.rejected)
        for words in case.problem:
            assert words in str(exc.value), (words, str(exc.value))
        assert counts(con) == dict.fromkeys(counts(con), 0)  # one transaction: nothing at all
        assert value(con, "select count(*) from load_log") == 0
    else:
        reports = load(con, d)
        got = {r.file: (r.read, r.accepted, r.quarantined) for r in reports}
        assert got == _expected_files(case)
        for r in reports:
            assert r.read == r.accepted + r.quarantined, r
            assert r.ignored_columns == case.ignored.get(r.file, []), r
            assert r.warnings == sum(1 for w in case.warnings if w[0] == r.file), r
        _assert_loaded(con, case)
    con.close()

    # through the command line, into a database of its own
    db = shutil.copyfile(empty_db, tmp_path / "cli.duckdb")
    run = _cli(db, d)
    assert "Traceback" not in run.stderr, run.stderr
    c = duckdb.connect(str(db), read_only=True)
    try:
        if case.rejected:
            assert run.returncode == 1, run.stderr
            assert f"文件 {case.rejected}" in run.stderr, run.stderr
            for words in case.problem:
                assert words in run.stderr, (words, run.stderr)
            assert "本次导入未写入任何数据" in run.stderr
            assert counts(c) == dict.fromkeys(counts(c), 0)
            assert value(c, "select count(*) from load_log") == 0
        else:
            assert run.returncode == 0, run.stderr
            _assert_loaded(c, case)
            for f in _expected_files(case):
                assert f in run.stderr
            if case.quarantine:
                assert f"共 {len(case.quarantine)} 行进入隔离表" in run.stderr
            if case.warnings:
                assert f"共 {len(case.warnings)} 条数据警告" in run.stderr
            for cols in case.ignored.values():
                assert f"忽略未识别的列：{'、'.join(cols)}" in run.stderr
    finally:
        c.close()
    for f in tmp_path.glob("*.duckdb*"):  # passed: 12 MB a case that pytest would keep
        f.unlink()


# What issue 6 asks the matrix to cover, each with the cases that do.
COVERAGE = {
    "wrong encoding": [
        "utf16-with-bom",
        "utf16-without-bom",
        "random-bytes",
        "latin1-neither-utf8-nor-gbk",
    ],
    "mixed encodings": ["mixed-utf8-and-gbk-lines"],
    "UTF-8 BOM": ["utf8-with-bom"],
    "GBK": ["gbk-with-chinese-headers"],
    "merged header cells": ["xlsx-merged-header-cells-two-rows", "xlsx-merged-title-row"],
    "several sheets": ["xlsx-several-sheets", "xlsx-sheet-with-missing-column-rejects-the-file"],
    "empty file": ["empty-file-0-bytes"],
    "header only": ["header-only"],
    "extra column": ["extra-unknown-column"],
    "missing column": ["missing-required-column"],
    "misspelled column": ["misspelled-required-column", "misspelled-optional-column-is-ignored"],
    "duplicated header": ["duplicated-header"],
    "Chinese and English headers": ["chinese-and-english-headers-mixed"],
    "other time formats": [
        "time-slash-and-single-digit-hour",
        "time-excel-serial-number-in-csv",
        "time-iso-with-T",
        "time-excel-cells-serials-and-text",
    ],
    "times with an offset from UTC (issue 15)": [
        "time-with-utc-offset-is-beijing-time",
        "time-parquet-utc-timestamps-are-beijing-time",
    ],
    "dates in the future": ["time-later-than-the-load", "date-later-than-the-load"],
    "completion before push": ["completion-before-push"],
    "response before push": ["response-before-push"],
    "unknown expert / hospital / case": ["unknown-expert", "unknown-hospital", "unknown-case"],
    "duplicate ids": [
        "duplicate-id-with-different-content",
        "duplicate-id-with-different-content-across-files",
    ],
    "verdict without completion": ["verdict-without-completion"],
    "8-digit resident ID": ["resident-id-8-digits"],
    "17-character resident ID": ["resident-id-17-characters"],
    "wrong check digit": ["resident-id-wrong-check-digit"],
    "formula injection": ["formula-injection-in-names"],
    "unclear rejections and slow parses (issue 15)": [
        "nul-byte-on-line-3",
        "value-longer-than-2000-characters",
        "line-of-3mb-chinese-rejected-naming-the-line",
        "line-of-300kb-of-fields-rejected-quickly",
        "header-of-5mb-without-a-line-end",
    ],
    "garbage accepted (issue 15)": [
        "dates-infinity-epoch-outside-the-plausible-range",
        "record-size-negative-nan-infinite",
        "nul-byte-after-the-first-64kb",
        "ids-with-invisible-characters",
        "parquet-ids-written-as-floats",
        "full-width-letters-in-a-header",
    ],
    "wrong extension": [
        "wrong-extension-csv-named-xlsx",
        "wrong-extension-xlsx-named-csv",
        "wrong-extension-txt",
        "legacy-xls-named-xlsx",
    ],
    "not a table": ["not-a-table-pdf", "not-a-table-json-text", "not-a-table-workbook-of-prose"],
}


def test_the_matrix_covers_what_the_issue_lists():
    ids = [c.id for c in CASE_MATRIX]
    assert len(ids) >= 30 and len(set(ids)) == len(ids)
    missing = {topic: [i for i in want if i not in ids] for topic, want in COVERAGE.items()}
    assert {t: m for t, m in missing.items() if m} == {}


# ---- times later than the load, exactly ----------------------------------------------------------


def test_a_time_equal_to_the_load_is_not_later(con, tmp_path):
    d = write_all(tmp_path / "in", cases=CASES_OK)
    now = dt.datetime(2026, 3, 3, 11, 0, 0)
    reports = ingest(con, [d], loaded_by="test", log=lambda _m: None, now=now)
    rows = con.execute(
        "select file_name, line, column_name from data_warnings order by file_name, line"
    ).fetchall()
    # C1 decided 03-04 10:00; T3 (line 4) pushed at 11:00 sharp (not later) but responded 12:00;
    # T4 (line 5) pushed 12:00. T2 completed at 11:00 sharp; benefit_start is a future date
    # by nature and never warned about.
    assert rows == [
        ("cases.csv", 2, "decided_at"),
        ("tasks.csv", 4, "responded_at"),
        ("tasks.csv", 5, "pushed_at"),
    ]
    assert {r.file: r.warnings for r in reports} == {
        "hospitals.csv": 0,
        "experts.csv": 0,
        "cases.csv": 1,
        "tasks.csv": 2,
    }


def test_warnings_belong_to_the_record_and_its_latest_load(con, tmp_path):
    wrong = c3(C2_ID[:17] + "0")
    first = write_all(tmp_path / "a", cases=[*CASES_OK, wrong])
    load(con, first)
    load(con, first)  # the same file again adds nothing
    assert value(con, "select count(*) from data_warnings") == 1
    # another export, same file name, other cases: C3's warning stays with C3
    other = write_all(tmp_path / "b", cases=[CASES_OK[0], CASES_OK[2]])
    load(con, other)
    assert con.execute("select record_key, line from data_warnings").fetchall() == [("C3", 4)]
    # C3 corrected in a later export: its warning goes
    fixed = write_all(tmp_path / "c", cases=[CASES_OK[0], c3(C2_ID)])
    load(con, fixed)
    assert value(con, "select count(*) from data_warnings") == 0
