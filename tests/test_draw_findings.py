"""ZZ-SPOTCHECK findings: retrieval list out, filled-in list back (CSV or xlsx), summary per hospital."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook
from test_draw_support import run_cli, spot_check_world

from pipelines.config import load_profile
from pipelines.draws import (
    findings_summary,
    import_findings,
    retrieval_list,
    spot_check,
    write_retrieval_list,
)
from pipelines.errors import DataError

ZZ = load_profile("zhengzhou")
HEAD = "申报编号,抽查结论,追回金额,备注\n"


@pytest.fixture
def drawn(con):
    """A spot check of the 4-hospital world: (draw_id, picks by hospital)."""
    spot_check_world(con)
    res = spot_check(con, dt.date(2026, 5, 1), dt.date(2026, 5, 31), "0.1", "7", ZZ)
    by_hospital: dict[str, list[str]] = {}
    for p in res.picks:
        by_hospital.setdefault(p.stratum, []).append(p.id)
    return res.draw_id, by_hospital


def write(tmp_path: Path, text: str, encoding: str = "utf-8-sig") -> Path:
    path = tmp_path / "结果.csv"
    path.write_text(text, encoding=encoding)
    return path


def summary(con, draw_id: str) -> dict[str, tuple]:
    return {
        r["hospital_id"]: (
            r["cases_drawn"],
            r["cases_checked"],
            r["cases_passed"],
            r["cases_failed"],
            r["recover_yuan"],
        )
        for r in findings_summary(con, draw_id).to_pylist()
    }


def test_import_csv_and_summarise_per_hospital(con, drawn, tmp_path):
    draw_id, picks = drawn
    h2 = picks["H02"]
    text = HEAD + f'{h2[0]},不合格,"1,234.50",病历与诊断不符\n{h2[1]},合格,,\n{h2[2]},,,\n'
    res = import_findings(con, draw_id, write(tmp_path, text), recorded_by="稽核科")
    assert (res.recorded, res.skipped) == (2, 1)
    s = summary(con, draw_id)
    assert s["H02"] == (4, 2, 1, 1, Decimal("1234.50"))
    assert s["H01"] == (2, 0, 0, 0, Decimal("0.00"))
    assert sorted(s) == ["H01", "H02", "H03", "H04"]


def test_a_later_import_wins_and_history_is_kept(con, drawn, tmp_path):
    draw_id, picks = drawn
    c = picks["H03"][0]
    import_findings(con, draw_id, write(tmp_path, HEAD + f"{c},不合格,500,\n"))
    import_findings(con, draw_id, write(tmp_path, HEAD + f"{c},合格,0,复查后改判\n"))
    assert summary(con, draw_id)["H03"][1:] == (1, 1, 0, Decimal("0.00"))
    assert con.execute("select count(*) from spot_check_findings").fetchone()[0] == 2


def test_retrieval_list_round_trip_through_xlsx(con, drawn, tmp_path):
    draw_id, picks = drawn
    path = tmp_path / "抽查名单.xlsx"
    assert write_retrieval_list(con, draw_id, path) == sum(len(v) for v in picks.values())
    assert "姓名" not in retrieval_list(con, draw_id).column_names
    wb = load_workbook(path)
    ws = wb.active
    head = [c.value for c in ws[1]]
    assert head[:3] == ["申报编号", "医院编码", "医院名称"]
    col = {h: n + 1 for n, h in enumerate(head)}
    ws.cell(2, col["抽查结论"], "不合格")
    ws.cell(2, col["追回金额"], 88.8)
    ws.cell(3, col["抽查结论"], "合格")
    wb.save(path)
    res = import_findings(con, draw_id, path)
    assert res.recorded == 2
    first = ws.cell(2, col["申报编号"]).value
    assert con.execute(
        "select result, recover_yuan from spot_check_findings_latest where case_id = ?", [first]
    ).fetchone() == ("不合格", Decimal("88.80"))


def test_gbk_csv_is_read(con, drawn, tmp_path):
    draw_id, picks = drawn
    path = write(tmp_path, HEAD + f"{picks['H04'][0]},不合格,10,备注\n", encoding="gbk")
    assert import_findings(con, draw_id, path).recorded == 1


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{c},通过,,", "第 3 行：抽查结论应为“合格”或“不合格”"),
        ("{c},不合格,abc,", "第 3 行：追回金额 'abc' 不是金额"),
        ("{c},不合格,-5,", "第 3 行：追回金额 '-5' 应为不小于 0"),
        ("{c},不合格,1.234,", "最多两位小数"),
        ("{c},合格,100,", "第 3 行：抽查结论为合格，追回金额应为 0"),
        ("NOT-DRAWN,合格,,", "第 3 行：申报编号 NOT-DRAWN 不在本次抽查名单中"),
        ("{first},合格,,", "第 3 行：申报编号 {first} 与第 2 行重复"),
        (",合格,,", "第 3 行：缺少申报编号"),
    ],
)
def test_bad_values_name_the_line_and_nothing_is_imported(con, drawn, tmp_path, row, message):
    draw_id, picks = drawn
    first, c = picks["H02"][0], picks["H02"][1]
    text = HEAD + f"{first},合格,,\n" + row.format(c=c, first=first) + "\n"
    with pytest.raises(DataError, match=message.format(first=first)):
        import_findings(con, draw_id, write(tmp_path, text))
    assert con.execute("select count(*) from spot_check_findings").fetchone()[0] == 0


def test_a_file_without_the_headers_is_refused(con, drawn, tmp_path):
    draw_id, _ = drawn
    with pytest.raises(DataError, match="未找到表头"):
        import_findings(con, draw_id, write(tmp_path, "a,b\n1,2\n"))
    with pytest.raises(DataError, match="抽查结论"):
        import_findings(con, draw_id, write(tmp_path, "申报编号,备注\n1,2\n"))


def test_findings_import_cli(con, drawn, db_path, tmp_path, capsys):
    draw_id, picks = drawn
    con.close()
    path = write(tmp_path, HEAD + f"{picks['H01'][0]},不合格,20,\n")
    out = tmp_path / "summary.csv"
    argv = [
        "findings-import",
        "--db",
        str(db_path),
        "--draw",
        draw_id,
        str(path),
        "--summary-out",
        str(out),
    ]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    assert "已导入抽查结论 1 条" in err and "20.00 元" in err
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == (
        "hospital_id,hospital_name,cases_drawn,cases_checked,cases_passed,cases_failed,recover_yuan"
    )
    assert lines[1] == "H01,医院H01,2,1,0,1,20.00"
    bad = write(tmp_path, HEAD + "X,合格,,\n")
    code, _, err = run_cli(argv[:-3] + [str(bad)], capsys)
    assert code == 1 and "第 2 行" in err


def test_summary_and_list_work_on_a_read_only_connection(con, drawn, db_path):
    draw_id, picks = drawn
    con.close()
    with duckdb.connect(str(db_path), read_only=True) as ro:
        assert retrieval_list(ro, draw_id).num_rows == sum(len(v) for v in picks.values())
        assert findings_summary(ro, draw_id).num_rows == 4


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_cli_retrieval_list_carries_no_live_formula(con, db_path, tmp_path, capsys, suffix):
    """Issue 15 item 7: the list sent to hospitals is written by the one sheet writer."""
    spot_check_world(con)
    con.execute('update stg_hospitals set hospital_name = \'=HYPERLINK("http://x","点我")\'')
    con.close()
    out = tmp_path / f"抽查名单{suffix}"
    argv = ["spot-check", "--db", str(db_path), "--from", "2026-05-01", "--to", "2026-05-31"]
    argv += ["--rate", "0.1", "--seed", "7", "--out", str(tmp_path / "r.csv")]
    code, _, err = run_cli([*argv, "--list-out", str(out)], capsys)
    assert code == 0, err
    if suffix == ".xlsx":
        ws = load_workbook(out).active
        names = [ws.cell(r, 3).value for r in range(2, ws.max_row + 1)]
        assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    else:
        rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))[1:]
        names = [r[2] for r in rows]
    assert len(names) == 2 + 4 + 4 + 1  # ceil(10% of 11, 31, 31, 1)
    assert all(n.startswith("'=HYPERLINK") for n in names), names[:2]
