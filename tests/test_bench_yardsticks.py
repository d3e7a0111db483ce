"""The yardstick table of `make bench` (bench/yardsticks.py): the shared scripts' timings read
back, and each issue 13 target judged on hand-made numbers."""

from __future__ import annotations

from bench import yardsticks

DUCK_OUT = (
    "load 1.50s cal 0.10s strikes 0.53s (342860) penalties 0.01s spot-check 0.32s (45251) "
    "floor-scan 0.05s\n"
)


def test_script_timings_are_read_from_the_shared_scripts_output() -> None:
    got = yardsticks.script_timings(DUCK_OUT)
    assert got == {
        "load": 1.5,
        "cal": 0.1,
        "strikes": 0.53,
        "penalties": 0.01,
        "spot-check": 0.32,
        "floor-scan": 0.05,
    }


def _measured(rule_s: float, peer_s: float, ingest_s: float) -> dict:
    return {
        "rules": {"strikes": [rule_s, 9.0, rule_s], "penalties": [0.5], "spot-check": [0.5]},
        "peer_wall": [peer_s],
        "ingest": {"ingest": [ingest_s], "copy": [5.0]},
        "duck": [yardsticks.script_timings(DUCK_OUT) | {"wall": 2.0}],
    }


def test_each_target_is_judged_on_medians() -> None:
    rows = {r[0]: r for r in yardsticks.rows(_measured(0.9, 5.7, 15.0))}
    strikes = rows["`strikes` process, --as-of ≠ marts'"]
    assert strikes[1:4] == (0.9, "≤ 1.0 s", True)  # median of 0.9, 9.0, 0.9
    assert strikes[4] == "DuckDB alone 0.53 s (in memory, loaded)"
    three = rows["strikes + penalties + spot-check"]
    assert three[1] == 1.9 and three[3] is True  # 5.7 >= 3 × 1.9
    assert rows["`ingest` + refresh, 4 Parquet files"][3] is True  # 15 <= 3 × 5


def test_misses_are_marked() -> None:
    rows = {r[0]: r for r in yardsticks.rows(_measured(1.1, 5.0, 15.5))}
    assert rows["`strikes` process, --as-of ≠ marts'"][3] is False
    assert rows["strikes + penalties + spot-check"][3] is False  # 5.0 < 3 × 2.1
    assert rows["`ingest` + refresh, 4 Parquet files"][3] is False
    assert "| **FAIL** |" in yardsticks.table(_measured(1.1, 5.0, 15.5))
