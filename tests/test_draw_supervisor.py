"""The 监督人 requirement in one place (pipelines.draws.engine.supervisor_name): pages refuse a
draw without a witness, the command line records "监督人未填写" explicitly."""

from __future__ import annotations

import duckdb
import pytest
from test_draw_support import run_cli, spot_check_world

from pipelines.draws import load_records
from pipelines.draws.engine import NO_SUPERVISOR, SUPERVISOR_NEEDED, supervisor_name
from pipelines.errors import UsageError


def test_a_name_is_recorded_trimmed():
    assert supervisor_name("  王纪检 ", required=True) == "王纪检"
    assert supervisor_name("王纪检", required=False) == "王纪检"


@pytest.mark.parametrize("name", [None, "", "   ", NO_SUPERVISOR])
def test_a_page_refuses_a_draw_without_a_witness(name):
    with pytest.raises(UsageError) as err:
        supervisor_name(name, required=True)
    assert str(err.value) == SUPERVISOR_NEEDED


@pytest.mark.parametrize("name", [None, "", "   "])
def test_the_command_line_records_the_missing_witness(name):
    assert supervisor_name(name, required=False) == "监督人未填写"


def spot_check_argv(db_path, tmp_path, *extra: str) -> list[str]:
    return [
        "spot-check",
        "--db",
        str(db_path),
        "--from",
        "2026-05-01",
        "--to",
        "2026-05-31",
        "--seed",
        "00123",
        "--out",
        str(tmp_path / "spot.csv"),
        *extra,
    ]


@pytest.mark.parametrize(
    ("extra", "recorded"),
    [
        ((), "监督人未填写"),
        (("--supervisor", "  "), "监督人未填写"),
        (("--supervisor", " 王纪检 "), "王纪检"),
    ],
)
def test_cli_draw_records_say_who_witnessed(con, db_path, tmp_path, capsys, extra, recorded):
    spot_check_world(con)
    con.close()
    assert run_cli(spot_check_argv(db_path, tmp_path, *extra), capsys)[0] == 0
    code, out, _ = run_cli(["verify-log", "--db", str(db_path)], capsys)
    assert code == 0 and out.startswith("OK")
    with duckdb.connect(str(db_path), read_only=True) as c:
        records = load_records(c)
    assert [(r.kind, r.supervisor) for r in records] == [
        ("population_frozen", recorded),
        ("spot_check", recorded),
    ]
