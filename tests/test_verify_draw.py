"""tools/verify_draw.py: the stand-alone verifier re-derives published draws (standard library only)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from test_draw_experts import expert_world
from test_draw_support import CARDIO_SPECIALTY, digest, first_k, key, run_cli, spot_check_world

from pipelines.config import ROOT

TOOL = ROOT / "tools" / "verify_draw.py"
SEED = "00123"


def verify(*args: str | Path, cwd: Path) -> tuple[int, str]:
    """Run the tool isolated (-I: no project on the path, no site packages) from another folder."""
    proc = subprocess.run(
        [sys.executable, "-I", str(TOOL), *map(str, args)], cwd=cwd, capture_output=True, text=True
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def published(con, db_path, tmp_path, capsys) -> dict[str, Path]:
    """A spot check and an expert draw, published with draw-export."""
    expert_world(con)
    ids = spot_check_world(con)
    con.close()
    files = {"ids": ids}
    spot = [
        "spot-check",
        "--db",
        str(db_path),
        "--from",
        "2026-05-01",
        "--to",
        "2026-05-31",
        "--rate",
        "10%",
        "--seed",
        SEED,
        "--out",
        str(tmp_path / "spot.csv"),
        "--population-out",
        str(tmp_path / "spot_population.csv"),
    ]
    assert run_cli(spot, capsys)[0] == 0
    experts = [
        "draw-experts",
        "--db",
        str(db_path),
        "--specialty",
        CARDIO_SPECIALTY,
        "--n",
        "4",
        "--seed",
        SEED,
        "--avoid-hospital",
        "H5",
        "--as-of",
        "2026-07-01 12:00",
        "--out",
        str(tmp_path / "experts.csv"),
        "--population-out",
        str(tmp_path / "experts_population.csv"),
    ]
    assert run_cli(experts, capsys)[0] == 0
    return {"dir": tmp_path, **{p.stem: p for p in tmp_path.glob("*.csv")}, **files}


def test_only_the_standard_library_is_imported():
    tree = ast.parse(TOOL.read_text(encoding="utf-8"))
    names = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    names |= {
        n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    assert names - {"__future__"} <= set(sys.stdlib_module_names)


def test_spot_check_verifies_ok_with_the_digest(published):
    ids = [i for v in published["ids"].values() for i in v]
    code, out = verify(
        "--seed",
        SEED,
        "--population",
        published["spot_population"],
        "--rate",
        "0.1",
        "--result",
        published["spot"],
        "--digest",
        digest(ids),
        cwd=published["dir"],
    )
    assert code == 0, out
    assert f"population: {len(ids)} ids, digest {digest(ids)}" in out
    assert out.strip().endswith("OK")


def test_expert_draw_verifies_ok(published):
    code, out = verify(
        "--seed",
        SEED,
        "--population",
        published["experts_population"],
        "--k",
        "4",
        "--result",
        published["experts"],
        cwd=published["dir"],
    )
    assert code == 0, out


def test_a_changed_seed_is_caught(published):
    code, out = verify(
        "--seed",
        "123",
        "--population",
        published["spot_population"],
        "--rate",
        "10%",
        "--result",
        published["spot"],
        cwd=published["dir"],
    )
    assert code == 1 and "MISMATCH" in out and "line 2" in out


def test_a_changed_population_is_caught(published, tmp_path):
    pop = published["spot_population"].read_text(encoding="utf-8").splitlines()
    smaller = tmp_path / "smaller.csv"
    smaller.write_text("\n".join(pop[:-1]) + "\n", encoding="utf-8")
    ids = [i for v in published["ids"].values() for i in v]
    code, out = verify(
        "--seed",
        SEED,
        "--population",
        smaller,
        "--rate",
        "10%",
        "--digest",
        digest(ids),
        cwd=tmp_path,
    )
    assert code == 1 and "digest" in out
    # an id added at the top of a hospital's order changes the picks, with or without a digest
    winner = next(
        f"H02-NEW{n}"
        for n in range(10_000)
        if key(SEED, f"H02-NEW{n}") < first_k(SEED, published["ids"]["H02"], 1)[0][1]
    )
    bigger = tmp_path / "bigger.csv"
    bigger.write_text("\n".join([*pop, f"{winner},H02"]) + "\n", encoding="utf-8")
    code, out = verify(
        "--seed",
        SEED,
        "--population",
        bigger,
        "--rate",
        "10%",
        "--result",
        published["spot"],
        cwd=tmp_path,
    )
    assert code == 1 and "'H02', rank 1" in out and winner in out


def test_a_swapped_pick_is_caught(published, tmp_path):
    rows = published["spot"].read_text(encoding="utf-8").splitlines()
    h, rank, _, _ = rows[1].split(",")
    other = next(i for i in published["ids"][h] if i not in "".join(rows))
    forged = tmp_path / "forged.csv"
    forged.write_text(
        "\n".join([rows[0], f"{h},{rank},{other},{key(SEED, other)}", *rows[2:]]) + "\n",
        encoding="utf-8",
    )
    code, out = verify(
        "--seed",
        SEED,
        "--population",
        published["spot_population"],
        "--rate",
        "10%",
        "--result",
        forged,
        cwd=tmp_path,
    )
    assert code == 1 and "MISMATCH" in out


def test_wrong_k_is_caught_and_k_can_be_inferred(published):
    args = [
        "--seed",
        SEED,
        "--population",
        published["experts_population"],
        "--result",
        published["experts"],
    ]
    code, out = verify(*args, "--k", "5", cwd=published["dir"])
    assert code == 1 and "rank 5" in out
    code, out = verify(*args, cwd=published["dir"])
    assert code == 0 and "taken from the result: 4" in out


def test_one_id_per_line_prints_the_draw(tmp_path):
    ids = ["E3", "E1", "专家-2", "E10"]
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n", encoding="utf-8")
    code, out = verify("--seed", " 00123 ", "--population", "ids.txt", "--k", "2", cwd=tmp_path)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == f"population: 4 ids, digest {digest(ids)}"
    assert lines[1] == "stratum,rank,id,key"
    assert lines[2:4] == [f",{n},{i},{k}" for n, (i, k) in enumerate(first_k(SEED, ids, 2), 1)]


def test_result_alone_checks_keys_and_ranks(published):
    code, out = verify("--seed", SEED, "--result", published["spot"], cwd=published["dir"])
    assert code == 0 and "only the keys and ranks" in out
    code, out = verify("--seed", "0123", "--result", published["spot"], cwd=published["dir"])
    assert code == 1


def test_unreadable_inputs_exit_2(tmp_path):
    assert verify("--seed", "1", "--population", "missing.txt", cwd=tmp_path)[0] == 2
    assert verify("--seed", "  ", "--population", "missing.txt", cwd=tmp_path)[0] == 2
    (tmp_path / "dup.txt").write_text("A\nA\n", encoding="utf-8")
    code, out = verify("--seed", "1", "--population", "dup.txt", cwd=tmp_path)
    assert code == 2 and "twice" in out


def test_review_plan_draws_verify_after_draw_export(con, db_path, tmp_path, capsys):
    from test_draw_review import SEED as REVIEW_SEED
    from test_draw_review import review_world

    from pipelines.draws import load_records

    review_world(con)
    con.close()
    plan = [
        "review-plan",
        "--profile",
        "taiyuan",
        "--db",
        str(db_path),
        "--quarter",
        "2026Q3",
        "--seed",
        REVIEW_SEED,
        "--expert-seed",
        "777",
        "--as-of",
        "2026-07-06 09:00",
        "--out",
        str(tmp_path / "plan.csv"),
        "--cases-out",
        str(tmp_path / "cases.csv"),
        "--experts-out",
        str(tmp_path / "experts.csv"),
    ]
    assert run_cli(plan, capsys)[0] == 0
    with duckdb.connect(str(db_path), read_only=True) as ro:
        ids = {r.kind: r.draw_id for r in load_records(ro)}
    for kind, name in (("review_cases", "cases"), ("review_experts", "experts")):
        argv = [
            "draw-export",
            "--db",
            str(db_path),
            "--draw",
            ids[kind],
            "--population",
            str(tmp_path / f"{name}_pop.csv"),
            "--result",
            str(tmp_path / f"{name}_result.csv"),
        ]
        assert run_cli(argv, capsys)[0] == 0
        assert (tmp_path / f"{name}_result.csv").read_bytes() == (
            tmp_path / f"{name}.csv"
        ).read_bytes()
    code, out = verify(
        "--seed",
        REVIEW_SEED,
        "--population",
        "cases_pop.csv",
        "--rate",
        "10%",
        "--result",
        "cases.csv",
        cwd=tmp_path,
    )
    assert code == 0, out
    code, out = verify(
        "--seed",
        "777",
        "--population",
        "experts_pop.csv",
        "--strata-column",
        "specialty",
        "--result",
        "experts.csv",
        cwd=tmp_path,
    )
    assert code == 0 and "taken from the result" in out, out
