"""Sheet and file names of downloads built from data (issue 15, 13a).

A hospital's name goes into the sheet name and the file name of its 取消资格依据 download;
Excel refuses `[ ] : * ? / \\` in a sheet name and more than 31 characters.
"""

from __future__ import annotations

import io

import pandas as pd
from openpyxl import load_workbook

from dashboard.downloads import file_stem
from pipelines.sheets import sheet_name, to_xlsx

BAD = "取消资格依据_郑州/第[1]医院:分院*?\\"


def test_xlsx_of_a_name_with_forbidden_characters_opens():
    data = to_xlsx(pd.DataFrame({"医院": ["甲"]}), BAD)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["取消资格依据_郑州_第_1_医院_分院___"]
    assert wb.active["A2"].value == "甲"


def test_sheet_name_is_cut_to_31_characters():
    assert sheet_name("医" * 40) == "医" * 31


def test_sheet_name_never_blank_nor_quoted():
    assert sheet_name("") == "数据"
    assert sheet_name("'甲医院'") == "甲医院"


def test_sheet_names_are_unique_ignoring_case():
    taken = {"Data", "医" * 31}
    assert sheet_name("DATA", taken) == "DATA(2)"
    assert sheet_name("医" * 40, taken) == "医" * 28 + "(2)"
    assert sheet_name("data", {"data", "data(2)"}) == "data(3)"


def test_file_stem_has_no_path_characters():
    stem = file_stem('取消资格依据_a/b\\c:d*e?f"g<h>i|j', "2026")
    assert stem.startswith("取消资格依据_a_b_c_d_e_f_g_h_i_j_2026_")
