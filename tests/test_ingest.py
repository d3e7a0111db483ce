"""Ingest (DATA-REJECT, DATA-IDEMPOTENT): formats, encodings, headers, quarantine, transactions."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.ingest import CHECK_DIGIT_SQL, ingest, table_of
from pipelines.ingest_spec import SPECS
from pipelines.readers import FileRejected

ROOT = Path(__file__).resolve().parent.parent
HOSPITALS = [
    ["hospital_id", "hospital_name", "hospital_class", "ownership", "district"],
    ["H1", "郑州大学第一附属医院", "三类", "公立", "二七区"],
    ["H2", "金水区民营医院", "二类", "民营", "金水区"],
]
EXPERTS = [
    [
        "expert_id",
        "expert_name",
        "hospital_id",
        "specialty",
        "title",
        "registered_on",
        "disqualified_on",
    ],
    ["E1", "张三", "H1", "内分泌科", "主任医师", "2020-01-01", ""],
    ["E2", "李四", "H1", "内分泌科", "副主任医师", "2021-03-05", ""],
    ["E3", "王五", "H2", "内分泌科", "主治医师", "2022-01-01", "2026-05-01"],
]
CASES = [
    [
        "case_id",
        "person_id",
        "person_name",
        "insurance_type",
        "disease_name",
        "hospital_id",
        "submitted_at",
        "record_id",
        "record_format",
        "record_size_mb",
        "discharge_date",
        "outcome",
        "decided_at",
        "benefit_start",
    ],
    [
        "C1",
        "410105199001011234",
        "王小明",
        "职工医保",
        "糖尿病（合并严重并发症）",
        "H1",
        "2026-03-02 09:00:00",
        "R1",
        "HIS导出PDF",
        "3.5",
        "2026-02-20",
        "符合",
        "2026-03-04 10:00:00",
        "2026-04-01",
    ],
    [
        "C2",
        "41010519850202567X",
        "李红",
        "城乡居民医保",
        "恶性肿瘤门诊治疗",
        "H2",
        "2026-03-03 10:30",
        "R2",
        "扫描件",
        "12",
        "2021-12-30",
        "",
        "",
        "",
    ],
]
TASKS = [
    [
        "task_id",
        "case_id",
        "expert_id",
        "pushed_at",
        "responded_at",
        "response",
        "completed_at",
        "verdict",
    ],
    [
        "T1",
        "C1",
        "E1",
        "2026-03-02 10:00:00",
        "2026-03-02 11:00:00",
        "受理",
        "2026-03-03 10:00:00",
        "符合",
    ],
    [
        "T2",
        "C1",
        "E2",
        "2026-03-02 10:00:00",
        "2026-03-02 12:00:00",
        "accept",
        "2026-03-03 11:00:00",
        "pass",
    ],
    ["T3", "C2", "E3", "2026-03-03 11:00:00", "2026-03-03 12:00:00", "decline", "", ""],
    ["T4", "C2", "E1", "2026-03-03 12:00:00", "", "", "", ""],
]
ZH = {
    "hospitals": ["医院编码", "医院名称", "医院类别", "所有制", "所属区县"],
    "experts": ["专家编码", "专家姓名", "医院编码", "专业", "职称", "入库日期", "取消资格日期"],
    "cases": [
        "申报编号",
        "身份证号",
        "姓名",
        "医保类别",
        "病种名称",
        "医院编码",
        "申报时间",
        "病历编号",
        "病历格式",
        "病历大小MB",
        "出院日期",
        "鉴定结果",
        "办结时间",
        "待遇开始日期",
    ],
    "tasks": [
        "任务编号",
        "申报编号",
        "专家编码",
        "推送时间",
        "响应时间",
        "响应",
        "完成时间",
        "鉴定意见",
    ],
}
ALL = {"hospitals": HOSPITALS, "experts": EXPERTS, "cases": CASES, "tasks": TASKS}


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    text = "".join(",".join(r) + "\n" for r in rows)
    path.write_bytes(text.encode(encoding))
    return path


def write_all(d: Path, encoding: str = "utf-8", chinese: bool = False, **override) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, rows in ALL.items():
        rows = override.get(name, rows)
        if chinese:
            rows = [ZH[name], *rows[1:]]
        write_csv(d / f"{name}.csv", rows, encoding)
    return d


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {
        t: con.execute(f"select count(*) from {t}").fetchone()[0]
        for t in ("stg_hospitals", "stg_experts", "stg_cases", "stg_tasks", "quarantine")
    }


def silent(_msg: str) -> None:
    pass


def load(con, *paths: Path):
    return ingest(con, list(paths), loaded_by="test", log=silent)


CLEAN = {"stg_hospitals": 2, "stg_experts": 3, "stg_cases": 2, "stg_tasks": 4, "quarantine": 0}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_are_detected(con, tmp_path, encoding):
    load(con, write_all(tmp_path / "in", encoding))
    assert counts(con) == CLEAN
    assert (
        con.execute("select hospital_name from stg_hospitals where hospital_id='H1'").fetchone()[0]
        == "郑州大学第一附属医院"
    )


def test_chinese_headers_and_english_values_are_normalised(con, tmp_path):
    load(con, write_all(tmp_path / "in", "gbk", chinese=True))
    assert counts(con) == CLEAN
    rows = con.execute(
        "select task_id, response, verdict from stg_tasks order by task_id"
    ).fetchall()
    assert rows == [
        ("T1", "受理", "符合"),
        ("T2", "受理", "符合"),
        ("T3", "不受理", None),
        ("T4", None, None),
    ]
    sub = con.execute("select submitted_at from stg_cases where case_id = 'C2'").fetchone()[0]
    assert sub == dt.datetime(2026, 3, 3, 10, 30)  # seconds optional


def test_xlsx_and_parquet(con, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for name, rows in ALL.items():
        df = pd.DataFrame(rows[1:], columns=rows[0])
        if name in ("hospitals", "cases"):
            df.columns = ZH[name]
            with pd.ExcelWriter(d / f"{name}.xlsx") as xw:
                df.to_excel(xw, index=False, sheet_name="导出")
        else:
            df.to_parquet(d / f"{name}.parquet")
    reports = load(con, d)
    assert counts(con) == CLEAN
    assert {r.encoding for r in reports} == {"xlsx", "parquet"}


def test_xlsx_with_title_row_and_real_dates(con, tmp_path):
    from openpyxl import Workbook

    d = write_all(tmp_path / "in")
    (d / "experts.csv").unlink()
    wb = Workbook()
    ws = wb.active
    ws.append(["郑州市鉴定专家库（2026年）"])
    ws.merge_cells("A1:G1")
    ws.append(ZH["experts"])
    ws.append(["E1", "张三", "H1", "内分泌科", "主任医师", dt.datetime(2020, 1, 1), None])
    ws.append(["E2", "李四", "H1", "内分泌科", "副主任医师", dt.date(2021, 3, 5), None])
    ws.append(["E3", "王五", "H2", "内分泌科", "主治医师", "2022-01-01", dt.datetime(2026, 5, 1)])
    wb.save(d / "experts.xlsx")
    load(con, d)
    assert counts(con) == CLEAN
    assert con.execute("select registered_on from stg_experts where expert_id='E2'").fetchone()[
        0
    ] == dt.date(2021, 3, 5)


def quarantined(con) -> list[tuple]:
    return con.execute(
        "select table_name, line, column_name, reason_en from quarantine order by table_name, line"
    ).fetchall()


@pytest.mark.parametrize(
    ("table", "row", "column", "reason"),
    [
        (
            "tasks",
            ["T9", "C1", "E1", "", "", "", "", ""],
            "pushed_at",
            "required pushed_at missing",
        ),
        (
            "tasks",
            ["T9", "C1", "E1", "2026-03-02 25:00", "", "", "", ""],
            "pushed_at",
            "unparseable time",
        ),
        (
            "tasks",
            ["T9", "C9", "E1", "2026-03-02 10:00", "", "", "", ""],
            "case_id",
            "unknown case",
        ),
        (
            "tasks",
            ["T9", "C1", "E9", "2026-03-02 10:00", "", "", "", ""],
            "expert_id",
            "unknown expert",
        ),
        (
            "tasks",
            ["T9", "C1", "E1", "2026-03-02 10:00", "2026-03-02 09:00", "受理", "", ""],
            "responded_at",
            "response before push",
        ),
        (
            "tasks",
            [
                "T9",
                "C1",
                "E1",
                "2026-03-02 10:00",
                "2026-03-02 11:00",
                "受理",
                "2026-03-02 09:59",
                "符合",
            ],
            "completed_at",
            "completion before push",
        ),
        (
            "tasks",
            ["T9", "C1", "E1", "2026-03-02 10:00", "2026-03-02 11:00", "maybe", "", ""],
            "response",
            "response value outside its list",
        ),
        (
            "tasks",
            ["T9", "C1", "E1", "2026-03-02 10:00", "2026-03-02 11:00", "受理", "", "符合"],
            "verdict",
            "verdict without completion",
        ),
        (
            "cases",
            [
                "C9",
                "4101051990010112",
                "X",
                "职工医保",
                "恶性肿瘤门诊治疗",
                "H1",
                "2026-03-02 09:00",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            "person_id",
            "resident ID must be 18 characters",
        ),
        (
            "cases",
            [
                "C9",
                "410105199001011234",
                "X",
                "职工医保",
                "感冒",
                "H1",
                "2026-03-02 09:00",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            "disease_name",
            "disease not in the catalogue",
        ),
        (
            "cases",
            [
                "C9",
                "410105199001011234",
                "X",
                "职工医保",
                "恶性肿瘤门诊治疗",
                "H7",
                "2026-03-02 09:00",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            "hospital_id",
            "unknown hospital",
        ),
        (
            "cases",
            [
                "C9",
                "410105199001011234",
                "X",
                "职工医保",
                "恶性肿瘤门诊治疗",
                "H1",
                "2026-03-02 09:00",
                "",
                "",
                "ten",
                "",
                "",
                "",
                "",
            ],
            "record_size_mb",
            "not a number",
        ),
        (
            "experts",
            ["E9", "赵六", "H1", "内分泌科", "教授", "2020-01-01", ""],
            "title",
            "title value outside its list",
        ),
        (
            "experts",
            ["E9", "赵六", "H1", "内分泌科", "主任医师", "2020-01-01", "2019-01-01"],
            "disqualified_on",
            "disqualified before registered",
        ),
    ],
)
def test_unusable_rows_are_quarantined_with_line_and_reason(
    con, tmp_path, table, row, column, reason
):
    rows = [*ALL[table], row]
    reports = load(con, write_all(tmp_path / "in", **{table: rows}))
    rep = next(r for r in reports if r.table == table)
    assert (rep.read, rep.accepted, rep.quarantined) == (len(rows) - 1, len(rows) - 2, 1)
    assert quarantined(con) == [(table, len(rows), column, reason)]


def test_rows_read_equal_accepted_plus_quarantined_for_every_file(con, tmp_path):
    bad_tasks = [*TASKS, ["T5", "C9", "E1", "2026-03-02 10:00", "", "", "", ""], ["T6", "C1"]]
    reports = load(con, write_all(tmp_path / "in", tasks=bad_tasks))
    for r in reports:
        assert r.read == r.accepted + r.quarantined
    t = next(r for r in reports if r.table == "tasks")
    assert (t.read, t.accepted, t.quarantined) == (6, 4, 2)
    assert [q[1] for q in quarantined(con)] == [6, 7]  # file lines, header = line 1


def test_duplicate_key_with_different_content_is_quarantined(con, tmp_path):
    dup = [
        *HOSPITALS,
        ["H1", "郑州大学第一附属医院", "三类", "公立", "二七区"],
        ["H2", "别的名字", "二类", "民营", "金水区"],
    ]
    reports = load(con, write_all(tmp_path / "in", hospitals=dup))
    h = next(r for r in reports if r.table == "hospitals")
    assert (h.read, h.accepted, h.quarantined, h.new) == (4, 3, 1, 2)
    assert quarantined(con) == [
        ("hospitals", 5, "hospital_id", "duplicate key with different content (first at line 3)")
    ]
    assert (
        con.execute("select hospital_name from stg_hospitals where hospital_id='H2'").fetchone()[0]
        == "金水区民营医院"
    )


def test_loading_the_same_files_twice_adds_nothing(con, tmp_path):
    d = write_all(
        tmp_path / "in", tasks=[*TASKS, ["T5", "C9", "E1", "2026-03-02 10:00", "", "", "", ""]]
    )
    load(con, d)
    first = counts(con)
    reports = load(con, d)
    assert counts(con) == first
    assert all(r.new == 0 and r.updated == 0 for r in reports)


def test_a_re_export_adds_new_rows_and_updates_changed_ones(con, tmp_path):
    load(con, write_all(tmp_path / "a"))
    later = [
        *TASKS[:4],
        ["T4", "C2", "E1", "2026-03-03 12:00:00", "2026-03-03 13:00:00", "受理", "", ""],
        ["T5", "C2", "E2", "2026-03-03 12:30:00", "", "", "", ""],
    ]
    reports = load(con, write_all(tmp_path / "b", tasks=later))
    t = next(r for r in reports if r.table == "tasks")
    assert (t.new, t.updated, t.unchanged) == (1, 1, 3)
    assert con.execute("select response from stg_tasks where task_id='T4'").fetchone()[0] == "受理"
    assert counts(con)["stg_tasks"] == 5
    # the changed and the new row carry the second load's id (the delta refresh redoes them),
    # the unchanged ones the first's
    loads = [r[0] for r in con.execute("select load_id from load_log order by load_id").fetchall()]
    by_task = dict(con.execute("select task_id, load_id from stg_tasks").fetchall())
    assert by_task == {
        "T1": loads[0],
        "T2": loads[0],
        "T3": loads[0],
        "T4": loads[-1],
        "T5": loads[-1],
    }


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("cases.csv", b"", "空文件"),
        ("tasks.csv", b"task_id,case_id,pushed_at\nT1,C1,2026-03-02 10:00\n", "缺少必填列"),
        ("hospitals.csv", "hospital_id,医院编码,hospital_name\nH1,H1,x\n".encode(), "表头重复"),
        ("cases.xlsx", b"this is not a workbook", "不是有效的 Excel"),
        ("tasks.parquet", b"PAR1 nope", "不是有效的 Parquet"),
        ("cases.txt", b"case_id\n", "不支持的文件类型"),
    ],
)
def test_unusable_file_is_rejected_whole_and_nothing_is_loaded(
    con, tmp_path, name, content, problem
):
    d = write_all(tmp_path / "in")
    target = d / name
    for old in d.glob(name.split(".")[0] + ".*"):
        old.unlink()
    target.write_bytes(content)
    with pytest.raises(FileRejected) as exc:
        load(con, d)
    assert name in str(exc.value)
    assert problem in str(exc.value)
    assert counts(con) == dict.fromkeys(CLEAN, 0)  # one transaction: nothing of any file


def test_header_only_file_loads_zero_rows(con, tmp_path):
    reports = load(con, write_all(tmp_path / "in", tasks=[TASKS[0]]))
    t = next(r for r in reports if r.table == "tasks")
    assert (t.read, t.accepted, t.quarantined) == (0, 0, 0)


def test_other_time_formats_are_read(con, tmp_path):
    tasks = [
        TASKS[0],
        ["T1", "C1", "E1", "2026/3/2 10:00", "2026-03-02T11:00:00", "受理", "46084.4375", "符合"],
    ]
    load(con, write_all(tmp_path / "in", tasks=tasks))
    row = con.execute("select pushed_at, responded_at, completed_at from stg_tasks").fetchone()
    assert row == (
        dt.datetime(2026, 3, 2, 10),
        dt.datetime(2026, 3, 2, 11),
        dt.datetime(2026, 3, 3, 10, 30),
    )


def test_disease_names_match_with_half_width_brackets_and_aliases(con, tmp_path):
    cases = [
        CASES[0],
        [*CASES[1][:4], "糖尿病(合并严重并发症)", *CASES[1][5:]],
        [*CASES[2][:4], "重性精神疾病", *CASES[2][5:]],
    ]
    load(con, write_all(tmp_path / "in", cases=cases))
    names = [
        r[0] for r in con.execute("select disease_name from stg_cases order by case_id").fetchall()
    ]
    assert names[0] == "糖尿病（合并严重并发症）"
    assert names[1].startswith("重性精神疾病（包括精神分裂症")


def test_an_ingest_never_imports_pandas(tmp_path):
    """A load through every path that writes a value of its own into a statement (quarantined
    rows, a row of the wrong width, a key repeated within a file and across two files, an alias,
    a wrong check digit, a Parquet file, a re-export updating a row, the cut-off): all literals,
    no bound parameter, so the command never imports pandas (DuckDB does for any bound one,
    ≈ 0.5 s of a daily load)."""
    first = write_all(
        tmp_path / "a",
        tasks=[*TASKS, ["T5", "C9", "E1", "2026-03-02 10:00", "", "", "", ""], ["T6", "C1"]],
        hospitals=[*HOSPITALS, ["H2", "别的名字", "二类", "民营", "金水区"]],
        cases=[CASES[0], [*CASES[1][:4], "糖尿病(合并严重并发症)", *CASES[1][5:]], CASES[2]],
    )
    second = write_all(tmp_path / "b", tasks=[*TASKS[:3], [*TASKS[3][:5], "不受理", "", ""]])
    pd.DataFrame(EXPERTS[1:], columns=EXPERTS[0]).to_parquet(second / "experts.parquet")
    (second / "experts.csv").unlink()
    write_csv(second / "tasks_more.csv", [TASKS[0], [*TASKS[1][:6], "", ""]])
    probe = (
        "import sys\nfrom pipelines.cli import main\n"
        "codes = [main(['ingest', '--db', sys.argv[1], d]) for d in sys.argv[2:]]\n"
        "print('pandas' in sys.modules, *codes)\n"
    )
    db = tmp_path / "w.duckdb"
    args = [sys.executable, "-c", probe, str(db), str(first), str(second)]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.split() == ["False", "0", "0"], (done.stdout, done.stderr)
    with duckdb.connect(str(db), read_only=True) as con:
        reasons = {r[0] for r in con.execute("select reason_en from quarantine").fetchall()}
        assert any(r.startswith("duplicate key with different content (tasks") for r in reasons)
        assert "wrong number of fields" in " ".join(reasons)
        warnings = con.execute("select warning_en from data_warnings").fetchall()
        assert warnings and all("check digit" in w for (w,) in warnings)  # the fixtures' ids
        cutoff = con.execute("select max(data_cutoff) from load_log").fetchone()[0]
        assert cutoff is not None


@pytest.mark.parametrize("as_literal", [20_000, 0])
def test_empty_lines_keep_line_numbers_written_in_or_registered(
    con, tmp_path, monkeypatch, as_literal
):
    """The lines DuckDB skips (empty ones here) renumber the rows after them the same way
    whether they are written in as a list literal (few) or registered as a table (very many)."""
    import pipelines.readers as readers

    monkeypatch.setattr(readers, "SKIPPED_AS_LITERAL", as_literal)
    d = write_all(tmp_path / "in")
    bad = "H3,某医院,四类,公立,中原区"  # class not in the list
    lines = [",".join(HOSPITALS[0]), ",".join(HOSPITALS[1]), "", "", bad, ",".join(HOSPITALS[2])]
    (d / "hospitals.csv").write_text("\n".join([*lines, "", bad.replace("H3", "H4")]) + "\n")
    load(con, d)
    assert [q[:2] for q in quarantined(con)] == [("hospitals", 5), ("hospitals", 8)]


def test_file_names_map_to_tables():
    assert table_of(Path("cases_2026-10.csv")) == "cases"
    assert table_of(Path("专家鉴定任务日志.xlsx")) == "tasks"
    assert table_of(Path("expected_breaches.json")) is None


def test_mixed_encodings_are_rejected_naming_the_lines(con, tmp_path):
    d = write_all(tmp_path / "in")
    body = ("\n".join(",".join(r) for r in HOSPITALS[:2]) + "\n").encode("utf-8")
    body += (",".join(HOSPITALS[2]) + "\n").encode("gbk")
    (d / "hospitals.csv").write_bytes(body)
    with pytest.raises(FileRejected) as exc:
        load(con, d)
    assert "hospitals.csv" in str(exc.value)
    assert (
        "编码混用" in str(exc.value) and "第 2 行" in str(exc.value) and "第 3 行" in str(exc.value)
    )


def test_wrong_check_digit_is_loaded_with_a_warning(con, tmp_path):
    good = "110105194912310021"  # the check digit is recomputed below (GB 11643)
    digits = [int(c) for c in good[:17]]
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    expected = "10X98765432"[sum(d * w for d, w in zip(digits, weights, strict=True)) % 11]
    valid = good[:17] + expected
    wrong = good[:17] + ("0" if expected != "0" else "1")
    cases = [CASES[0], [CASES[1][0], valid, *CASES[1][2:]], [CASES[2][0], wrong, *CASES[2][2:]]]
    load(con, write_all(tmp_path / "in", cases=cases))
    assert counts(con)["stg_cases"] == 2
    warns = con.execute("select record_key, line, warning_en from data_warnings").fetchall()
    assert warns == [("C2", 3, f"resident ID check digit mismatch (expected {expected})")]


def test_formula_text_is_stored_as_text_and_neutralised_in_downloads(con, tmp_path):
    from pipelines.sheets import to_csv_bom, to_xlsx

    hospitals = [*HOSPITALS[:2], ["H2", '=HYPERLINK("http://x","点我")', "二类", "民营", "金水区"]]
    load(
        con,
        write_all(tmp_path / "in", hospitals=[[c.replace(",", ";") for c in r] for r in hospitals]),
    )
    name = con.execute("select hospital_name from stg_hospitals where hospital_id='H2'").fetchone()[
        0
    ]
    assert name.startswith("=HYPERLINK")
    df = pd.DataFrame({"医院名称": [name], "数量": [-3]})
    assert "'=HYPERLINK" in to_csv_bom(df).decode("utf-8-sig")
    import io

    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(to_xlsx(df))).active
    assert ws["A2"].value.startswith("'=HYPERLINK")
    assert ws["B2"].value == -3


def test_xlsx_with_several_sheets_loads_each_sheet_with_its_own_row_numbers(con, tmp_path):
    from openpyxl import Workbook

    d = write_all(tmp_path / "in")
    (d / "tasks.csv").unlink()
    wb = Workbook()
    first = wb.active
    first.title = "三月"
    first.append(ZH["tasks"])
    first.append(TASKS[1])
    first.append(TASKS[2])
    second = wb.create_sheet("四月")
    second.append(TASKS[0])
    second.append(TASKS[3])
    second.append(["T9", "C9", "E1", "2026-04-01 10:00:00", "", "", "", ""])
    wb.create_sheet("说明").append(["本文件由平台导出"])
    wb.save(d / "tasks.xlsx")
    reports = load(con, d)
    sheets = {r.file: (r.read, r.accepted, r.quarantined) for r in reports if r.table == "tasks"}
    assert sheets == {"tasks.xlsx「三月」": (2, 2, 0), "tasks.xlsx「四月」": (2, 1, 1)}
    assert con.execute("select count(*) from stg_tasks").fetchone()[0] == 3
    assert con.execute("select file_name, line, column_name from quarantine").fetchall() == [
        ("tasks.xlsx「四月」", 3, "case_id")
    ]


def _typed_frames() -> dict[str, pd.DataFrame]:
    """The clean rows as a Parquet exporter would type them: times, dates and numbers native."""
    frames = {}
    for name, rows in ALL.items():
        df = pd.DataFrame(rows[1:], columns=rows[0]).replace("", None)
        spec = SPECS[name]
        for c in spec.columns:
            if c.name not in df:  # Taiyuan's case columns are not in these files
                continue
            if c.kind == "time":
                df[c.name] = pd.to_datetime(df[c.name], format="mixed")
            elif c.kind == "date":
                df[c.name] = pd.to_datetime(df[c.name]).dt.date
            elif c.kind == "number":
                df[c.name] = pd.to_numeric(df[c.name])
        frames[name] = df
    return frames


def _stg(con) -> dict[str, list]:
    out = {}
    for t in ("stg_hospitals", "stg_experts", "stg_cases", "stg_tasks"):
        cols = [r[0] for r in con.execute(f"describe {t}").fetchall() if r[0] != "load_id"]
        out[t] = con.execute(f"select {', '.join(cols)} from {t} order by all").fetchall()
    return out


def test_typed_parquet_loads_the_same_as_csv(con, tmp_path):
    """Native timestamp/date/number Parquet columns are used as they are, with the same result."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.db import connect

    load(con, write_all(tmp_path / "csv"))
    expected = _stg(con)
    d = tmp_path / "typed"
    d.mkdir()
    for name, df in _typed_frames().items():
        table = pa.Table.from_pandas(df, preserve_index=False)
        if name == "tasks":  # nanosecond timestamps, as pandas and Spark write them
            table = table.cast(
                pa.schema(
                    [
                        pa.field(f.name, pa.timestamp("ns")) if pa.types.is_timestamp(f.type) else f
                        for f in table.schema
                    ]
                )
            )
        pq.write_table(table, d / f"{name}.parquet")
    types = pq.read_schema(d / "cases.parquet")
    assert pa.types.is_timestamp(types.field("submitted_at").type)
    assert pa.types.is_date(types.field("discharge_date").type)
    assert pa.types.is_floating(types.field("record_size_mb").type)
    other = connect(tmp_path / "typed.duckdb")
    reports = load(other, d)
    assert [r.quarantined for r in reports] == [0, 0, 0, 0]
    assert not any(r.ignored_columns for r in reports)
    assert _stg(other) == expected


def test_parquet_then_xlsx_then_csv_in_one_load(con, tmp_path):
    """Each file's source is replaced whatever the previous file's format (view or table)."""
    d = tmp_path / "in"
    d.mkdir()
    for name, rows in ALL.items():
        df = pd.DataFrame(rows[1:], columns=rows[0])
        if name in ("hospitals", "experts"):
            df.to_parquet(d / f"{name}.parquet")
        elif name == "cases":
            df.to_excel(d / f"{name}.xlsx", index=False)
        else:
            write_csv(d / f"{name}.csv", rows)
    load(con, d)
    assert counts(con) == CLEAN
    again = tmp_path / "again"
    again.mkdir()
    pd.DataFrame(TASKS[1:], columns=TASKS[0]).to_parquet(again / "tasks.parquet")
    write_csv(again / "cases.csv", CASES)
    reports = load(con, again)
    assert [(r.table, r.unchanged) for r in reports] == [("cases", 2), ("tasks", 4)]


def test_hive_partition_folders_add_no_columns(con, tmp_path):
    d = write_all(tmp_path / "in")
    (d / "tasks.csv").unlink()
    part = tmp_path / "tasks" / "year=2026" / "month=03"
    part.mkdir(parents=True)
    pd.DataFrame(TASKS[1:], columns=TASKS[0]).to_parquet(part / "tasks_2026-03.parquet")
    reports = load(con, d, part)
    assert counts(con) == CLEAN
    assert not any(r.ignored_columns for r in reports)


def test_a_folder_is_walked_with_its_sub_folders(con, tmp_path):
    """A Hive-partitioned export is loaded from its top folder; other sub-folders are not."""
    root = tmp_path / "export"
    for name, rows in ALL.items():
        if name == "tasks":
            for month, part in (("03", rows[1:3]), ("04", rows[3:])):
                d = root / "tasks" / "year=2026" / f"month={month}"
                d.mkdir(parents=True)
                write_csv(d / f"tasks_2026-{month}.csv", [rows[0], *part])
        else:
            (root / name).mkdir(parents=True)
            write_csv(root / name / f"{name}.csv", rows)
    extra = [TASKS[0], ["X1", "C1", "E1", "2026-03-02 10:00:00", "", "", "", ""]]
    for other in (".backup", "expected", "out"):  # not partitions: not entered
        (root / other).mkdir()
        write_csv(root / other / "tasks.csv", extra)
        write_csv(root / other / "cases_expected.csv", CASES)
    reports = load(con, root)
    assert counts(con) == CLEAN
    assert len(reports) == 5
    assert [r.file for r in reports][-2:] == ["tasks_2026-03.csv", "tasks_2026-04.csv"]
    assert con.execute("select count(*) from stg_tasks where task_id = 'X1'").fetchone()[0] == 0


@settings(max_examples=120, deadline=None)
@given(st.lists(st.text("0123456789", min_size=17, max_size=17), min_size=1, max_size=40))
def test_check_digit_sql_agrees_with_gb11643(prefixes):
    """The SQL's digit arithmetic gives GB 11643's check character for any 17 digits."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]

    def expected(p: str) -> str:
        return "10X98765432"[sum(int(d) * w for d, w in zip(p, weights, strict=True)) % 11]

    c = duckdb.connect()
    c.execute(
        "create temp table typed (line bigint, t_case_id varchar, t_person_id varchar, "
        "fail_no integer, is_conflict boolean)"
    )
    c.execute(
        "create table data_warnings (load_id integer, file_name varchar, table_name varchar, "
        "line bigint, column_name varchar, reason_zh varchar, reason_en varchar, "
        "record_key varchar)"
    )
    # each prefix twice: once with its right check character, once with a wrong one
    rows = []
    for i, p in enumerate(prefixes):
        right = expected(p)
        wrong = "0" if right != "0" else "1"
        rows += [
            (2 * i, f"R{i}", p + right, None, False),
            (2 * i + 1, f"W{i}", p + wrong, None, False),
        ]
    c.executemany("insert into typed values (?, ?, ?, ?, ?)", rows)
    c.execute(CHECK_DIGIT_SQL, {"load_id": 1, "file": "f"})
    flagged = c.execute("select record_key, reason_en from data_warnings order by line").fetchall()
    assert [k for k, _r in flagged] == [f"W{i}" for i in range(len(prefixes))]
    for (key, reason), p in zip(flagged, prefixes, strict=True):
        assert reason.endswith(f"(expected {expected(p)})"), (key, p)


# ---- bounds on what one file may hold (issue 15) -------------------------------------------------


def _tasks_workbook(path: Path, copies: int) -> None:
    """tasks.xlsx: the header, then the clean rows `copies` times (T1, T2, … renumbered)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "任务"
    ws.append(TASKS[0])
    for i in range(copies):
        for r in TASKS[1:]:
            ws.append([f"{r[0]}-{i}", *r[1:]])
    wb.save(path)


def test_a_workbook_with_more_rows_than_allowed_is_rejected_naming_the_sheet(con, tmp_path):
    from pipelines.readers import Limits

    d = write_all(tmp_path / "in")
    (d / "tasks.csv").unlink()
    _tasks_workbook(d / "tasks.xlsx", 2)  # 8 rows
    with pytest.raises(FileRejected) as exc:
        ingest(con, [d], loaded_by="t", log=silent, limits=Limits(xlsx_rows=7))
    assert exc.value.file == "tasks.xlsx"
    assert "工作表「任务」超过 7 行" in exc.value.problem
    assert counts(con) == dict.fromkeys(CLEAN, 0)
    # the same workbook within the bound loads: the bound counts data rows, not the header
    reports = ingest(con, [d], loaded_by="t", log=silent, limits=Limits(xlsx_rows=8))
    assert reports[-1].read == 8


def test_a_workbook_that_unpacks_to_more_than_allowed_is_rejected_before_it_is_parsed(
    con, tmp_path
):
    import zipfile

    from pipelines.readers import Limits

    d = write_all(tmp_path / "in")
    (d / "tasks.csv").unlink()
    _tasks_workbook(d / "tasks.xlsx", 500)  # 2,000 rows: well over 100 KB of XML
    with zipfile.ZipFile(d / "tasks.xlsx") as zf:
        unpacked = sum(i.file_size for i in zf.infolist() if i.filename.startswith("xl/work"))
    assert unpacked > 100_000 > (d / "tasks.xlsx").stat().st_size
    with pytest.raises(FileRejected) as exc:
        ingest(con, [d], loaded_by="t", log=silent, limits=Limits(xlsx_bytes=100_000))
    assert "工作簿解压后" in exc.value.problem and "超过上限" in exc.value.problem
    assert counts(con) == dict.fromkeys(CLEAN, 0)


def test_the_page_limits_are_lower_than_the_command_line_ones(con, tmp_path):
    """A 5,716-byte line passes the command line's bound (8,192) and not the page's (4,096);
    a 1,500-character value the same with 2,000 and 1,000."""
    from pipelines.readers import CLI_LIMITS, PAGE_LIMITS

    assert PAGE_LIMITS.line_bytes < CLI_LIMITS.line_bytes
    assert PAGE_LIMITS.field_chars < CLI_LIMITS.field_chars
    assert PAGE_LIMITS.xlsx_bytes < CLI_LIMITS.xlsx_bytes
    assert PAGE_LIMITS.xlsx_rows < CLI_LIMITS.xlsx_rows
    wide = [[*HOSPITALS[0], "备注"], *[[*r, ""] for r in HOSPITALS[1:]]]
    wide.append(["H3", "x" * 1900, "", "", "y" * 1900, "z" * 1900])  # 5,716 bytes
    long_line = write_all(tmp_path / "line", hospitals=wide)
    assert [(r.read, r.quarantined) for r in load(con, long_line)][0] == (3, 0)
    with pytest.raises(FileRejected, match="第 4 行过长.*上限 4,096 字节"):
        ingest(con, [long_line], loaded_by="t", log=silent, limits=PAGE_LIMITS)
    long_value = write_all(
        tmp_path / "value", hospitals=[*HOSPITALS, ["H4", "x" * 1500, "", "", ""]]
    )
    reports = ingest(con, [long_value], loaded_by="t", log=silent, limits=PAGE_LIMITS)
    assert (reports[0].read, reports[0].quarantined) == (3, 1)
    assert con.execute("select line, reason_en from quarantine").fetchall() == [
        (4, "hospital_name longer than 1,000 characters")
    ]


def test_a_conflict_across_files_keeps_the_stored_row_and_is_quarantined_once(con, tmp_path):
    """Two files of one ingest give T1 different content: the row stored by an earlier ingest
    stays as it was, both rows are quarantined, and loading the same files again adds nothing."""
    load(con, write_all(tmp_path / "first"))
    d = tmp_path / "second"
    d.mkdir()
    t1_changed = [*TASKS[1][:7], "不符合"]
    write_csv(d / "tasks.csv", [TASKS[0], t1_changed, TASKS[2]])
    write_csv(d / "tasks_b.csv", [TASKS[0], [*TASKS[1][:7], "符合"], TASKS[2]])
    for _ in range(2):
        reports = load(con, d)
        got = {r.file: (r.read, r.accepted, r.quarantined, r.unchanged) for r in reports}
        assert got == {"tasks.csv": (2, 1, 1, 1), "tasks_b.csv": (2, 1, 1, 1)}
        assert con.execute("select count(*) from quarantine").fetchone()[0] == 2
    assert con.execute(
        "select verdict, load_id from stg_tasks where task_id = 'T1'"
    ).fetchone() == ("符合", 1)
    assert con.execute("select count(*) from stg_tasks").fetchone()[0] == 4
