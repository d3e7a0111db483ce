"""The benchmark's pandas peer (bench/peer.py) gives exactly the product's answers.

The peer is only a fair yardstick if it computes the same thing: strikes, hospital penalties and
the spot check are compared row for row with the product, on hand-made edge cases and on a small
generated data set. Also: the run-count policy, the RESULTS.md bookkeeping, and a tiny national
run end to end (the hidden --scale option).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from test_rules_support import ZZ, case, expert, hospital, load, task, ts

from bench import peer
from bench.run import main as bench_main
from bench.run import write_results
from bench.stages import more_runs
from pipelines.db import connect
from pipelines.draws import spot_check
from pipelines.ingest import ingest
from pipelines.rules import hospital_penalties, strikes
from sample_generator import generate

SEED = "20261122093015478213"
Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))


def assert_same_strikes(con, as_of: dt.datetime, year: int) -> int:
    product = peer.table_rows(strikes(con, as_of, ZZ, year=year), peer.STRIKE_COLUMNS)
    mine = peer.frame_rows(peer.strikes(con, as_of, ZZ, year), peer.STRIKE_COLUMNS)
    assert peer.same_rows("strikes", product, mine) is None
    return len(product)


def assert_same_penalties(con, as_of: dt.datetime, year: int) -> list[tuple]:
    product = peer.table_rows(hospital_penalties(con, as_of, ZZ, year=year), peer.PENALTY_COLUMNS)
    mine = peer.frame_rows(peer.hospital_penalties(con, as_of, ZZ, year), peer.PENALTY_COLUMNS)
    assert peer.same_rows("penalties", product, mine) is None
    return product


def assert_same_spot_check(con, period: tuple[dt.date, dt.date], rate: str, seed: str) -> int:
    result = spot_check(con, period[0], period[1], rate, seed, ZZ, operator="test")
    product = [(p.stratum, p.rank, p.id, p.key) for p in result.picks]
    mine = peer.frame_rows(
        peer.spot_check(con, period[0], period[1], rate, seed), peer.SPOT_CHECK_COLUMNS
    )
    assert peer.same_rows("spot-check", product, mine) is None
    return len(product)


def unanswered(task_id: str, pushed_at: str, expert_id: str = "E2") -> dict:
    return task(task_id, expert_id=expert_id, pushed_at=pushed_at)


def approved(case_id: str, hospital_id: str, decided_at: str) -> dict:
    return case(
        case_id,
        hospital_id=hospital_id,
        submitted_at="2026-06-01 08:00:00",
        outcome="符合",
        decided_at=decided_at,
    )


EDGE_AS_OF = ts("2026-10-09 12:00:00")


def test_peer_equals_the_product_on_the_edges_of_the_rules(con):
    load(
        con,
        hospitals=[hospital("H1"), hospital("H2")],
        experts=[
            expert("E1"),
            expert("E2"),
            expert("E3", disqualified_on="2026-05-01"),
            expert("E4", hospital_id="H2", registered_on="2026-12-01"),
            expert("E5", hospital_id="H2"),
        ],
        cases=[
            case(submitted_at="2025-12-01 08:00:00"),
            approved("C2", "H1", "2026-07-01 00:00:00"),
            approved("C3", "H1", "2026-09-30 23:59:59"),
            approved("C4", "H2", "2026-08-15 10:00:00"),
            approved("C5", "H2", "2026-10-01 00:00:00"),  # outside the quarter
            case("C6", outcome="不符合", decided_at="2026-08-01 10:00:00"),
        ],
        tasks=[
            # exactly 8 h is on time; completion exactly at 24:00 of the 2nd working day too
            task(
                "T01",
                responded_at="2026-03-02 17:00:00",
                response="受理",
                completed_at="2026-03-05 00:00:00",
                verdict="符合",
            ),
            # one second late: an accept_timeout even though accepted
            task("T02", responded_at="2026-03-02 17:00:01", response="受理"),
            # accepted before the October holidays, completed after as_of: still in progress
            task(
                "T03",
                pushed_at="2026-09-30 09:00:00",
                responded_at="2026-09-30 10:00:00",
                response="受理",
                completed_at="2026-10-09 23:00:00",
            ),
            # a response recorded after as_of has not happened: overdue
            task("T04", pushed_at="2026-10-08 09:00:00", responded_at="2026-10-09 13:00:00"),
            task("T05", responded_at="2026-03-02 10:00:00", response="不受理"),
            task("T06", pushed_at="2026-10-09 10:00:00"),  # deadline not yet passed
            # accepted on time, completed one second late
            task(
                "T07",
                responded_at="2026-03-02 10:00:00",
                response="受理",
                completed_at="2026-03-05 00:00:01",
            ),
            # E2: a strike in the old year's last push, ties on one deadline, disqualification
            unanswered("T20", "2025-12-31 20:00:00"),
            unanswered("T22", "2026-04-01 09:00:00"),
            unanswered("T21", "2026-04-01 09:00:00"),
            unanswered("T23", "2026-04-02 09:00:00"),
            unanswered("T24", "2026-05-02 09:00:00", expert_id="E5"),
        ],
    )
    assert assert_same_strikes(con, EDGE_AS_OF, 2026) == 8
    assert assert_same_strikes(con, EDGE_AS_OF, 2025) == 0
    penalties = assert_same_penalties(con, EDGE_AS_OF, 2026)
    # H1: E1 and E2 by their third strike, E3 by the register; H2: E4 registers in December
    assert penalties == [
        ("H1", 3, 3, "1.0000", True, False),
        ("H2", 2, 0, "0.0000", False, True),
    ]
    assert assert_same_spot_check(con, Q3, "0.10", SEED) == 2  # ceil(0.1 × 2), ceil(0.1 × 1)
    assert assert_same_spot_check(con, Q3, "1", "00123") == 3


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A small generated city (2,000 cases, planted breaches) in a warehouse."""
    folder = tmp_path_factory.mktemp("bench-peer")
    generate(2_000, seed=7, out=folder / "data", fmt="parquet")
    con = connect(folder / "w.duckdb")
    ingest(con, [folder / "data"], log=lambda _m: None)
    con.close()
    return folder / "w.duckdb"


GENERATED_AS_OF = ts("2026-11-20 23:59:59")


def test_peer_equals_the_product_on_generated_data(generated):
    con = connect(generated)
    try:
        assert assert_same_strikes(con, GENERATED_AS_OF, 2026) > 0
        assert assert_same_strikes(con, GENERATED_AS_OF, 2025) >= 0
        penalties = assert_same_penalties(con, GENERATED_AS_OF, 2026)
        assert any(r[2] > 0 for r in penalties), "no disqualification to compare"
        assert assert_same_penalties(con, GENERATED_AS_OF, 2025)
        assert assert_same_spot_check(con, Q3, "0.10", SEED) > 0
        assert assert_same_spot_check(
            con, (dt.date(2026, 1, 1), dt.date(2026, 3, 31)), "0.15", "42"
        )
    finally:
        con.close()


def test_peer_differences_are_named():
    assert peer.same_rows("x", [(1, "a")], [(1, "a")]) is None
    assert "rows" in peer.same_rows("x", [(1, "a")], [])
    assert "row 0 differs" in peer.same_rows("x", [(1, "a")], [(1, "b")])


def test_runs_are_three_for_fast_stages_and_fewer_for_slow_ones():
    assert more_runs([]) and more_runs([0.1, 0.2])
    assert not more_runs([0.1, 0.2, 0.3])
    assert more_runs([12.0]) and not more_runs([12.0, 11.0])
    assert not more_runs([61.0])
    assert not more_runs([0.1], most=1)


def test_results_keep_the_previous_run_and_the_hand_written_text(tmp_path):
    path = tmp_path / "RESULTS.md"
    write_results(path, "standard", "first run\n")
    text = path.read_text(encoding="utf-8").replace(
        "## Profile", "## Analysis\n\nmine\n\n## Profile"
    )
    path.write_text(text, encoding="utf-8")
    write_results(path, "standard", "second run\n")
    text = path.read_text(encoding="utf-8")
    latest = text.split("<!-- bench:standard:begin -->")[1].split("<!-- bench:standard:end -->")[0]
    previous = text.split("<!-- bench:standard-previous:begin -->")[1]
    assert latest.strip() == "second run"
    assert previous.split("<!-- bench:standard-previous:end -->")[0].strip() == "first run"
    assert "## Analysis\n\nmine" in text


@pytest.mark.slow
def test_a_tiny_national_run_partitions_ingests_and_runs_the_rules(tmp_path):
    results = tmp_path / "RESULTS.md"
    args = ["--national", "--scale", "0.0001", "--regions", "2"]
    args += ["--work", str(tmp_path), "--results", str(results)]
    assert bench_main(args) == 0
    tasks = tmp_path / "national" / "parquet" / "tasks"
    assert (tasks / "year=2026" / "month=03" / "tasks_2026-03.parquet").exists()
    national = results.read_text(encoding="utf-8").split("<!-- bench:national:begin -->")[1]
    assert "| ingest (parquet, by year/month) | national |" in national
    assert "| refresh-marts | national |" in national
    assert "ERROR" not in national
