"""ZZ-SPOTCHECK: ceil(rate × approved cases) per hospital, verifiable, refused below 10%."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from test_draw_support import (
    approved,
    expected_spot_check,
    first_k,
    read,
    run_cli,
    spot_check_world,
)
from test_rules_support import expert, hospital, load

from pipelines.config import ROOT, load_profile
from pipelines.draws import load_records, spot_check
from pipelines.draws.engine import draw, freeze_population, stage_population
from pipelines.draws.keys import population_digest, rank_members, take
from pipelines.draws.log import picks_json, population_json
from pipelines.draws.spotcheck import freeze_spot_check
from pipelines.draws.verify import verify_log
from pipelines.errors import DataError, UsageError

SEED = "00123"
ZZ = load_profile("zhengzhou")


def spot(db: Path, out: Path, *extra: str, rate: str = "0.1", seed: str = SEED) -> list[str]:
    return [
        "spot-check",
        "--db",
        str(db),
        "--from",
        "2026-05-01",
        "--to",
        "2026-05-31",
        "--rate",
        rate,
        "--seed",
        seed,
        "--out",
        str(out),
        *extra,
    ]


def test_strata_of_10_30_31_1_give_1_3_4_1_byte_for_byte(con, db_path, tmp_path, capsys):
    ids = spot_check_world(con)
    ids["H01"].remove("H01-EDGE1")  # back to exactly 10, 30, 31, 1 approved cases
    ids["H02"].remove("H02-EDGE2")
    con.execute("delete from stg_cases where case_id in ('H01-EDGE1', 'H02-EDGE2')")
    con.close()
    out = tmp_path / "spot.csv"
    code, _, err = run_cli(spot(db_path, out), capsys)
    assert code == 0, err
    text = read(out)
    assert text == expected_spot_check(SEED, ids, 1, 10)
    rows = text.splitlines()[1:]
    assert [sum(1 for r in rows if r.startswith(h)) for h in ("H01", "H02", "H03", "H04")] == [
        1,
        3,
        4,
        1,
    ]
    assert "抽查完成" in err and "共抽取 9 件" in err


def test_period_is_inclusive_dates_of_approved_cases_only(con, db_path, tmp_path, capsys):
    ids = spot_check_world(con)  # + one case at 00:00 of D1 and one at 23:59:59 of D2
    con.close()
    out = tmp_path / "spot.csv"
    code, _, err = run_cli(spot(db_path, out, rate="10%"), capsys)
    assert code == 0, err
    assert read(out) == expected_spot_check(SEED, ids, 1, 10)
    assert "X-" not in read(out)
    with duckdb.connect(str(db_path), read_only=True) as ro:
        rec = [r for r in load_records(ro) if r.kind == "population_frozen"][0]
        population = json.loads(rec.text("population"))["rows"]  # kept apart: read while open
    assert sorted(r[0] for r in population) == sorted(i for v in ids.values() for i in v)
    assert json.loads(rec.parameters)["k"] == {"H01": 2, "H02": 4, "H03": 4, "H04": 1}


def test_a_larger_rate_extends_the_smaller_draw(con):
    spot_check_world(con)
    d1, d2 = dt.date(2026, 5, 1), dt.date(2026, 5, 31)
    small = spot_check(con, d1, d2, "0.1", SEED, ZZ).picks
    big = spot_check(con, d1, d2, "0.35", SEED, ZZ).picks
    for h in ("H01", "H02", "H03", "H04"):
        a = [p.id for p in small if p.stratum == h]
        b = [p.id for p in big if p.stratum == h]
        assert b[: len(a)] == a and len(b) >= len(a)


@pytest.mark.parametrize("rate", ["0.05", "9.99%", "0.0999"])
def test_a_rate_below_the_profile_minimum_is_refused(con, db_path, tmp_path, capsys, rate):
    spot_check_world(con)
    con.close()
    out = tmp_path / "spot.csv"
    code, _, err = run_cli(spot(db_path, out, rate=rate), capsys)
    assert code == 2
    assert "低于" in err and "10%" in err and "ZZ-SPOTCHECK" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "abc"], "无法识别"),
        (["--rate", "120%"], "不超过"),
        (["--seed", "  "], "种子不能为空"),
        (["--from", "2026-06-01"], "晚于"),
        (["--to", "2026-13-01"], "日期格式"),
    ],
)
def test_wrong_usage_exits_2_with_a_chinese_message(con, db_path, tmp_path, capsys, args, message):
    spot_check_world(con)
    con.close()
    argv = spot(db_path, tmp_path / "o.csv")
    for flag, value in zip(args[::2], args[1::2], strict=True):
        argv[argv.index(flag) + 1] = value
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and message in err


def test_seed_keeps_leading_zeros_end_to_end(con, db_path, tmp_path, capsys):
    ids = spot_check_world(con)
    con.close()
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run_cli(spot(db_path, a, seed="00123"), capsys)[0] == 0
    assert run_cli(spot(db_path, b, seed="123"), capsys)[0] == 0
    assert read(a) == expected_spot_check("00123", ids, 1, 10)
    assert read(b) == expected_spot_check("123", ids, 1, 10)
    assert read(a) != read(b)


def test_frozen_population_is_recorded_before_the_draw_and_not_redrawn_silently(con):
    spot_check_world(con)
    frozen = freeze_spot_check(con, dt.date(2026, 5, 1), dt.date(2026, 5, 31), "0.1", ZZ)
    first = draw(con, frozen.draw_id, SEED)
    assert first.record.frozen_id == frozen.draw_id
    assert first.record.record_no > frozen.record.record_no
    assert first.record.population_digest == frozen.digest
    with pytest.raises(UsageError, match="不能重抽"):
        draw(con, frozen.draw_id, "another seed")
    with pytest.raises(UsageError, match="不能更改"):
        draw(con, frozen.draw_id, SEED, k={"H01": 5}, reason="x")
    again = draw(con, frozen.draw_id, "99999", reason="种子宣读有误，经监督人同意重抽")
    assert again.record.reason == "种子宣读有误，经监督人同意重抽"
    assert [r.kind for r in load_records(con)] == ["population_frozen", "spot_check", "spot_check"]


def test_empty_period_writes_only_the_header(con, db_path, tmp_path, capsys):
    spot_check_world(con)
    con.close()
    out = tmp_path / "spot.csv"
    argv = spot(db_path, out)
    argv[argv.index("--from") + 1] = "2025-01-01"
    argv[argv.index("--to") + 1] = "2025-01-31"
    assert run_cli(argv, capsys)[0] == 0
    assert read(out) == "hospital_id,rank,case_id,key\n"


def test_python_m_pipelines_spot_check_end_to_end(con, db_path, tmp_path):
    ids = spot_check_world(con)
    con.close()
    out = tmp_path / "spot.csv"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines", *spot(db_path, out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert read(out) == expected_spot_check(SEED, ids, 1, 10)


def test_spot_check_never_imports_pandas_arrow_or_numpy(con, db_path, tmp_path):
    """The whole spot-check process (freeze, digest, draw, log, CSV) without pandas: pyarrow
    imports it for any Arrow array built from Python objects, DuckDB for any bound parameter or
    registered Arrow table — a quarter of a second of every draw; and without Arrow or numpy
    (0.15 s more): the population and the picks stay in DuckDB."""
    ids = spot_check_world(con)
    con.close()
    out = tmp_path / "spot.csv"
    probe = (
        "import sys\nfrom pipelines.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "print(*[m for m in ('pandas', 'pyarrow', 'numpy') if m in sys.modules], status)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *spot(db_path, out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.stdout.split()[-1:] == ["0"], done.stderr
    assert not set(done.stdout.split()) & {"pandas", "pyarrow", "numpy"}, done.stdout
    assert read(out) == expected_spot_check(SEED, ids, 1, 10)


@pytest.mark.parametrize("odd", ["H05", 'H"5\\'])
def test_the_record_built_in_sql_is_the_python_reference_byte_for_byte(con, odd):
    """The frozen list, digest and picks spot-check writes from DuckDB are exactly what
    log.population_json, keys.population_digest and log.picks_json write (a hospital id with a
    quote and a backslash: the texts needing JSON escapes are written by Python)."""
    spot_check_world(con)
    cases = approved(odd, [f"C{j}" for j in range(12)])
    load(con, hospitals=[hospital(odd)], experts=[expert("E9")], cases=cases)
    res = spot_check(con, dt.date(2026, 5, 1), dt.date(2026, 5, 31), "0.1", SEED, ZZ)
    frozen = load_records(con)[0]
    members = frozen.members()
    assert len(members) == 86 and frozen.text("population") == population_json(members)
    assert frozen.population_digest == population_digest(m.id for m in members)
    k = json.loads(res.record.parameters)["k"]
    assert res.record.picks == picks_json(take(rank_members(SEED, members), k))
    assert [p.id for p in res.picks if p.stratum == odd] == [
        i for i, _ in first_k(SEED, [f"C{j}" for j in range(12)], 2)
    ]
    assert verify_log(con).ok


@pytest.mark.parametrize(
    ("ids", "message"), [(["A", "B", "A"], "编号 A 重复"), (["A", " B"], "' B'")]
)
def test_a_staged_population_with_a_repeated_or_unusable_id_is_refused(con, ids, message):
    rows = ", ".join(f"('{i}', 'H', 'H')" for i in ids)
    staged = stage_population(con, f"select * from (values {rows}) t(id, stratum, hospital_id)")
    with pytest.raises(DataError, match=message):
        freeze_population(con, "spot_check", staged, {"k": {"H": 1}})
    assert load_records(con) == []
