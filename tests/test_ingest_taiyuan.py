"""Taiyuan exports (CONTRACT "Input files"): cases' Taiyuan columns, panel_opinions, recerts —
GBK with Chinese headers, quarantine naming line/column/reason, read = accepted + quarantined,
idempotent, one transaction."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipelines.readers import FileRejected

from test_ingest import ALL, ZH, load, quarantined, write_csv

TY_CASE_ZH = [*ZH["cases"], "病种类别", "公示开始日期", "公示结束日期", "信息录入时间"]
# C1 定额, certified 2026-03-04, publicised 5-11 March, entered 13 March; C2 非定额, pending
TY_CASES = [
    TY_CASE_ZH,
    [*ALL["cases"][1], "定额", "2026-03-05", "2026-03-11", "2026-03-13 09:30:00"],
    [*ALL["cases"][2], "非定额", "", "", ""],
]
PANEL_ZH = ["申报编号", "专家编码", "专家意见", "签字时间"]
PANEL = [
    PANEL_ZH,
    ["C1", "E1", "符合", "2026-03-04 09:00:00"],
    ["C1", "E2", "pass", "2026-03-04 09:10"],
]
RECERT_ZH = ["重新认定编号", "申报编号", "申请时间", "完成时间", "重新认定结果"]
RECERTS = [
    RECERT_ZH,
    ["R1", "C2", "2026-03-20 10:00:00", "2026-04-10 16:00:00", "不符合"],
    ["R2", "C2", "2026-04-20 10:00:00", "", ""],
]


def write_ty(d: Path, panel=PANEL, recerts=RECERTS, cases=TY_CASES) -> Path:
    """The four shared files with Chinese headers, Taiyuan's cases and its two files, all GBK."""
    d.mkdir(parents=True, exist_ok=True)
    for name in ("hospitals", "experts", "tasks"):
        write_csv(d / f"{name}.csv", [ZH[name], *ALL[name][1:]], "gbk")
    write_csv(d / "cases.csv", cases, "gbk")
    write_csv(d / "认定专家组意见.csv", panel, "gbk")
    write_csv(d / "recerts.csv", recerts, "gbk")
    return d


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_taiyuan_columns_and_files_load_from_gbk_with_chinese_headers(con, tmp_path):
    reports = load(con, write_ty(tmp_path / "in"))
    assert {r.table: (r.read, r.accepted) for r in reports}["panel_opinions"] == (2, 2)
    assert rows(
        con,
        "select case_id, category, publicity_from, publicity_to, entered_at from stg_cases "
        "order by case_id",
    ) == [
        ("C1", "定额", dt.date(2026, 3, 5), dt.date(2026, 3, 11), dt.datetime(2026, 3, 13, 9, 30)),
        ("C2", "非定额", None, None, None),
    ]
    assert rows(con, "select * exclude (load_id) from stg_panel_opinions order by expert_id") == [
        ("C1", "E1", "符合", dt.datetime(2026, 3, 4, 9, 0)),
        ("C1", "E2", "符合", dt.datetime(2026, 3, 4, 9, 10)),
    ]
    assert rows(con, "select recert_id, completed_at, outcome from stg_recerts order by 1") == [
        ("R1", dt.datetime(2026, 4, 10, 16, 0), "不符合"),
        ("R2", None, None),
    ]
    # the Taiyuan files' times count for the load's data cut-off (DATA-CUTOFF)
    assert rows(con, "select max(data_cutoff) from load_log") == [(dt.datetime(2026, 4, 20, 10),)]


@pytest.mark.parametrize(
    ("table", "row", "column", "reason"),
    [
        ("panel_opinions", ["C9", "E1", "符合", "2026-03-04 09:00"], "case_id", "unknown case"),
        ("panel_opinions", ["C1", "E9", "符合", "2026-03-04 09:00"], "expert_id", "unknown expert"),
        (
            "panel_opinions",
            ["C1", "E3", "同意", "2026-03-04 09:00"],
            "opinion",
            "opinion value outside its list",
        ),
        (
            "panel_opinions",
            ["C1", "E3", "符合", "2026-03-01 09:00"],
            "signed_at",
            "signed before the case was submitted",
        ),
        ("panel_opinions", ["C1", "E3", "符合", ""], "signed_at", "required signed_at missing"),
        (
            "recerts",
            ["R3", "C1", "2026-04-01 09:00", "2026-03-31 09:00", "符合"],
            "completed_at",
            "completed before requested",
        ),
        (
            "recerts",
            ["R3", "C1", "2026-04-01 09:00", "", "符合"],
            "outcome",
            "outcome without completion",
        ),
        ("recerts", ["R3", "C8", "2026-04-01 09:00", "", ""], "case_id", "unknown case"),
        (
            "cases",
            [*ALL["cases"][2][:1], *ALL["cases"][2][1:], "定额", "2026-03-11", "2026-03-05", ""],
            "publicity_to",
            "publicity ends before it starts",
        ),
        (
            "cases",
            [*ALL["cases"][2], "普通", "", "", ""],
            "category",
            "category value outside its list",
        ),
    ],
)
def test_bad_taiyuan_rows_are_quarantined_with_line_and_column(
    con, tmp_path, table, row, column, reason
):
    if table == "cases":
        row = ["C3", *row[1:]]
    base = {"panel_opinions": PANEL, "recerts": RECERTS, "cases": TY_CASES}[table]
    given = [*base, row]
    reports = load(con, write_ty(tmp_path / "in", **{table.replace("_opinions", ""): given}))
    rep = next(r for r in reports if r.table == table)
    assert (rep.read, rep.accepted, rep.quarantined) == (len(given) - 1, len(given) - 2, 1)
    assert quarantined(con) == [(table, len(given), column, reason)]


def test_one_expert_twice_on_a_case_with_other_content_is_a_duplicate(con, tmp_path):
    panel = [
        *PANEL,
        ["C1", "E2", "不符合", "2026-03-04 09:10"],
        ["C1", "E1", "符合", "2026-03-04 09:00"],
    ]
    reports = load(con, write_ty(tmp_path / "in", panel=panel))
    rep = next(r for r in reports if r.table == "panel_opinions")
    # line 5 repeats line 2 exactly (stored once); line 4 gives E2 another opinion on C1
    assert (rep.read, rep.accepted, rep.quarantined, rep.new) == (4, 3, 1, 2)
    assert [q[:3] for q in quarantined(con)] == [("panel_opinions", 4, "case_id")]
    assert rows(con, "select expert_id, opinion from stg_panel_opinions order by 1") == [
        ("E1", "符合"),
        ("E2", "符合"),
    ]


def test_loading_twice_adds_nothing_and_a_re_export_updates_by_case_and_expert(con, tmp_path):
    load(con, write_ty(tmp_path / "a"))
    again = load(con, write_ty(tmp_path / "a"))
    assert all(r.new == 0 and r.updated == 0 for r in again)
    panel = [PANEL_ZH, ["C1", "E1", "不符合", "2026-03-04 09:00:00"], PANEL[2]]
    recerts = [
        RECERT_ZH,
        RECERTS[1],
        ["R2", "C2", "2026-04-20 10:00:00", "2026-05-06 11:00", "符合"],
    ]
    reports = load(con, write_ty(tmp_path / "b", panel=panel, recerts=recerts))
    got = {r.table: (r.new, r.updated) for r in reports}
    assert got["panel_opinions"] == (0, 1) and got["recerts"] == (0, 1)
    assert rows(con, "select expert_id, opinion from stg_panel_opinions order by 1") == [
        ("E1", "不符合"),
        ("E2", "符合"),
    ]
    assert rows(con, "select count(*), max(outcome) from stg_recerts") == [(2, "符合")]


def test_a_rejected_taiyuan_file_loads_nothing_of_the_whole_ingest(con, tmp_path):
    d = write_ty(tmp_path / "in")
    # 完成时间 present, 申请时间 (required) missing
    write_csv(
        d / "recerts.csv", [["重新认定编号", "申报编号", "完成时间"], ["R1", "C2", ""]], "gbk"
    )
    with pytest.raises(FileRejected) as exc:
        load(con, d)
    assert "recerts.csv" in str(exc.value) and "缺少必填列" in str(exc.value)
    assert rows(
        con,
        "select (select count(*) from stg_cases) + (select count(*) from "
        "stg_panel_opinions) + (select count(*) from load_log)",
    ) == [(0,)]
