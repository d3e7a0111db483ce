"""Expert draws: only qualified (ZZ-EXPERT-QUAL), registered, not disqualified, not avoided."""

from __future__ import annotations

import csv
import io
import json

import duckdb
from test_draw_support import CARDIO_SPECIALTY, first_k, read, run_cli
from test_rules_support import case, expert, hospital, load, task

SEED = "20260701"
AS_OF = "2026-07-01 12:00:00"


def cardio(expert_id: str, hospital_id: str = "H1", **kw) -> dict:
    return expert(expert_id, hospital_id=hospital_id, specialty=CARDIO_SPECIALTY, **kw)


def expert_world(con) -> list[str]:
    """The hand-made register; returns the ids that must be candidates at AS_OF outside H5."""
    load(
        con,
        hospitals=[
            hospital("H1"),
            hospital("H2", hospital_class="二类"),
            hospital("H3", hospital_class="一类"),
            hospital("H4", ownership="民营"),
            hospital("H5"),
        ],
        experts=[
            cardio("E01"),
            cardio("E02", "H2", title="副主任医师"),
            cardio("E03", title="主治医师"),
            cardio("E04", "H3"),
            cardio("E05", "H4"),
            cardio("E06", registered_on="2026-07-02"),
            cardio("E07", registered_on="2026-07-01"),
            cardio("E08", disqualified_on="2026-07-01"),
            cardio("E09", "H2", disqualified_on="2026-07-02"),
            cardio("E10", "H5"),
            cardio("E11"),
            cardio("E12", "H9"),
            expert("E13", hospital_id="H2", specialty="内分泌科"),
            *[cardio(f"E{n}", "H2") for n in range(14, 19)],
        ],
        cases=[case("C1")],
        tasks=[  # three unanswered pushes: strike 3 (disqualify) at 2026-03-04 17:00
            task(f"T{d}", case_id="C1", expert_id="E11", pushed_at=f"2026-03-0{d} 09:00:00")
            for d in (2, 3, 4)
        ],
    )
    return ["E01", "E02", "E07", "E09", "E14", "E15", "E16", "E17", "E18"]


def draw_args(db, out, n="4", as_of=AS_OF, *extra) -> list[str]:
    return [
        "draw-experts",
        "--db",
        str(db),
        "--specialty",
        CARDIO_SPECIALTY,
        "--n",
        n,
        "--seed",
        SEED,
        "--avoid-hospital",
        "H5",
        "--as-of",
        as_of,
        "--out",
        str(out),
        *extra,
    ]


def expected(ids: list[str], n: int, hospitals: dict[str, str]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["rank", "expert_id", "hospital_id", "key"])
    for rank, (i, k) in enumerate(first_k(SEED, ids, n), start=1):
        w.writerow([rank, i, hospitals[i], k])
    return out.getvalue()


def hospitals_of(db) -> dict[str, str]:
    with duckdb.connect(str(db), read_only=True) as ro:
        return dict(ro.execute("select expert_id, hospital_id from stg_experts").fetchall())


def test_draw_experts_byte_for_byte_with_every_exclusion(con, db_path, tmp_path, capsys):
    candidates = expert_world(con)
    con.close()
    out = tmp_path / "experts.csv"
    code, _, err = run_cli(draw_args(db_path, out), capsys)
    assert code == 0, err
    assert read(out) == expected(candidates, 4, hospitals_of(db_path))
    assert "抽取 4 人" in err


def test_exclusions_are_recorded_with_their_reasons(con, db_path, tmp_path, capsys):
    expert_world(con)
    con.close()
    assert run_cli(draw_args(db_path, tmp_path / "o.csv"), capsys)[0] == 0
    with duckdb.connect(str(db_path), read_only=True) as ro:
        params = json.loads(
            ro.execute(
                "select parameters from draw_log where kind = 'population_frozen'"
            ).fetchone()[0]
        )
    assert {e["id"]: e["reason_code"] for e in params["exclusions"]} == {
        "E03": "title",
        "E04": "hospital_class",
        "E05": "ownership",
        "E06": "not_registered",
        "E08": "disqualified_register",
        "E10": "avoid_hospital",
        "E11": "disqualified_strike",
        "E12": "hospital_unknown",
    }
    assert params["avoid_hospitals"] == ["H5"]
    strike = next(e for e in params["exclusions"] if e["id"] == "E11")
    assert "2026-03-04 17:00:00" in strike["reason"]


def test_strike_disqualification_applies_once_the_third_deadline_has_passed(
    con, db_path, tmp_path, capsys
):
    expert_world(con)
    con.close()
    out = tmp_path / "o.csv"
    # the third deadline (17:00) is missed only once the evaluation time is after it
    assert run_cli(draw_args(db_path, out, "99", "2026-03-04 17:00:00"), capsys)[0] == 0
    assert "E11" in read(out)
    assert run_cli(draw_args(db_path, out, "99", "2026-03-04 17:00:01"), capsys)[0] == 0
    assert "E11" not in read(out)


def test_too_few_candidates_draws_all_and_says_so(con, db_path, tmp_path, capsys):
    candidates = expert_world(con)
    con.close()
    out = tmp_path / "o.csv"
    code, _, err = run_cli(draw_args(db_path, out, "20"), capsys)
    assert code == 0
    assert read(out) == expected(candidates, 20, hospitals_of(db_path))
    assert "不足" in err and "需 20 人，仅有 9 人" in err


def test_a_larger_n_extends_a_smaller_draw(con, db_path, tmp_path, capsys):
    expert_world(con)
    con.close()
    small, big = tmp_path / "s.csv", tmp_path / "b.csv"
    assert run_cli(draw_args(db_path, small, "3"), capsys)[0] == 0
    assert run_cli(draw_args(db_path, big, "6"), capsys)[0] == 0
    assert read(big).splitlines()[:4] == read(small).splitlines()


def test_n_below_one_is_a_usage_error(con, db_path, tmp_path, capsys):
    expert_world(con)
    con.close()
    for n in ("0", "-2"):
        code, _, err = run_cli(draw_args(db_path, tmp_path / "o.csv", n), capsys)
        assert code == 2 and "至少为 1" in err
    assert not (tmp_path / "o.csv").exists()


def test_avoided_hospitals_can_be_repeated(con, db_path, tmp_path, capsys):
    candidates = expert_world(con)
    con.close()
    out = tmp_path / "o.csv"
    argv = draw_args(db_path, out, "99", AS_OF, "--avoid-hospital", "H2")
    assert run_cli(argv, capsys)[0] == 0
    assert read(out) == expected(["E01", "E07"], 99, hospitals_of(db_path))
    assert set(candidates) > {"E01", "E07"}


def test_avoiding_a_hospital_avoids_its_whole_group(con):
    """ZZ-AVOID: campuses sharing a group_id (or naming the main campus) count as one hospital."""
    from test_rules_support import ts

    from pipelines.config import load_profile
    from pipelines.draws.experts import expert_candidates, with_groups

    load(
        con,
        hospitals=[
            hospital("H5"),
            hospital("H6", group_id="H5"),  # 二院区 of H5
            hospital("H7", group_id="H5"),
            hospital("H8"),
        ],
        experts=[cardio("E5", "H5"), cardio("E6", "H6"), cardio("E7", "H7"), cardio("E8", "H8")],
    )
    assert with_groups(con, ["H6"]) == ["H5", "H6", "H7"]
    assert with_groups(con, ["H8"]) == ["H8"]
    zz = load_profile("zhengzhou")
    members, excluded = expert_candidates(con, CARDIO_SPECIALTY, ts(AS_OF), zz, ["H7"])
    assert [m.id for m in members] == ["E8"]
    assert {e["id"]: e["reason_code"] for e in excluded} == {
        "E5": "avoid_hospital",
        "E6": "avoid_hospital",
        "E7": "avoid_hospital",
    }
