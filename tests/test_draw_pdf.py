"""The printed draw record (抽取记录) and its public version: Chinese text, no personal data."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from test_draw_experts import expert_world
from test_draw_support import CARDIO_SPECIALTY, run_cli

from pipelines.config import load_profile
from pipelines.draws import draw_experts, record_pdf, replace
from pipelines.draws import pdf as pdf_module
from pipelines.errors import DataError

ZZ = load_profile("zhengzhou")
needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")


def text_of(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode("utf-8")


@pytest.fixture
def drawn(con):
    expert_world(con)
    con.execute("update stg_experts set expert_name = '专家' || expert_id")
    res = draw_experts(
        con,
        CARDIO_SPECIALTY,
        3,
        "00123",
        dt.datetime(2026, 7, 1, 12),
        ZZ,
        ["H5"],
        operator="张操作",
        supervisor="李监督",
    )
    replace(con, res.draw_id, res.picks[0].id, "本人因病不能参加", operator="张操作")
    return res


@needs_poppler
def test_internal_record_has_everything_to_sign(con, drawn, tmp_path):
    path = record_pdf(con, drawn.draw_id, tmp_path / "记录.pdf")
    text = text_of(path)
    for needed in (
        "门诊慢特病随机抽取记录",
        drawn.draw_id,
        "00123",
        drawn.record.population_digest,
        "张操作",
        "李监督",
        "操作人（签字）",
        "监督人（签字）",
        "本人因病不能参加",
        f"专家{drawn.picks[1].id}",
        drawn.record.record_hash,
        "回避医院",
        "医院H5（H5）",  # hospitals named by name as well as code
    ):
        assert needed in text.replace("\n", "") or needed in text, needed
    for p in drawn.picks[1:]:  # the first was replaced
        assert p.key[:32] in text.replace(" ", "").replace("\n", "")


@needs_poppler
def test_public_record_leaves_out_names(con, drawn, tmp_path):
    path = record_pdf(con, drawn.draw_id, tmp_path / "公开.pdf", public=True)
    text = text_of(path)
    assert "公开版" in text and "00123" in text and drawn.picks[1].id in text
    for private in ("张操作", "李监督", f"专家{drawn.picks[1].id}", "签字）："):
        assert private not in text


@needs_poppler
def test_pdf_cli_renders_chinese(con, drawn, db_path, tmp_path, capsys):
    con.close()
    out = tmp_path / "r.pdf"
    code, _, err = run_cli(
        ["draw-pdf", "--db", str(db_path), "--draw", drawn.draw_id, "--out", str(out)], capsys
    )
    assert code == 0, err
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True).stdout
    assert "CJK" in fonts or "WenQuanYi" in fonts or "wqy" in fonts.lower()
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(out), str(tmp_path / "page")],
        check=True,
    )
    assert (tmp_path / "page-1.png").stat().st_size > 5000


def test_missing_font_names_the_package(monkeypatch, con, drawn, tmp_path):
    monkeypatch.delenv("MTB_PDF_FONT", raising=False)
    monkeypatch.setattr(pdf_module, "FONT_DIRS", (tmp_path / "nothing",))
    with pytest.raises(DataError, match="fonts-noto-cjk"):
        record_pdf(con, drawn.draw_id, tmp_path / "x.pdf")
    monkeypatch.setenv("MTB_PDF_FONT", str(tmp_path / "missing.ttf"))
    with pytest.raises(DataError, match="MTB_PDF_FONT"):
        record_pdf(con, drawn.draw_id, tmp_path / "x.pdf")
