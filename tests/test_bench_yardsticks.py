"""The yardstick table of `make bench` (bench/yardsticks.py): the shared scripts' timings read
back, and each issue 13 target judged on hand-made numbers."""

from __future__ import annotations

import datetime as dt
import os

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


def _measured(rule_s: float, peer_s: float, ingest_s: float, delta_s: float = 4.0) -> dict:
    return {
        "rules": {"strikes": [rule_s, 9.0, rule_s], "penalties": [0.5], "spot-check": [0.5]},
        "delta": [delta_s, 60.0, delta_s],
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
    day = rows["daily delta: `ingest` + refresh, one day's tasks"]
    assert day[1:4] == (4.0, "≤ 5 s", True)  # median of 4, 60, 4


def test_misses_are_marked() -> None:
    rows = {r[0]: r for r in yardsticks.rows(_measured(1.1, 5.0, 15.5, 5.1))}
    assert rows["`strikes` process, --as-of ≠ marts'"][3] is False
    assert rows["strikes + penalties + spot-check"][3] is False  # 5.0 < 3 × 2.1
    assert rows["`ingest` + refresh, 4 Parquet files"][3] is False
    assert rows["daily delta: `ingest` + refresh, one day's tasks"][3] is False
    assert "| **FAIL** |" in yardsticks.table(_measured(1.1, 5.0, 15.5))


def test_the_daily_delta_is_one_day_of_tasks_with_the_unanswered_ones_completed(tmp_path) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute(
        "create table tasks as select * from (values "
        "('T1', 'C1', 'E1', timestamp '2026-11-25 09:00:00', timestamp '2026-11-25 10:00:00', "
        "'受理', timestamp '2026-11-30 12:00:00', '符合'), "
        "('T2', 'C2', 'E1', timestamp '2026-11-26 09:00:00', null, null, null, null), "
        "('T3', 'C3', 'E2', timestamp '2026-11-26 23:00:00', timestamp '2026-11-26 23:30:00', "
        "'不受理', null, null), "
        "('T4', 'C4', 'E2', timestamp '2026-11-27 00:30:00', null, null, null, null)"
        ") as t(task_id, case_id, expert_id, pushed_at, responded_at, response, completed_at, "
        "verdict)"
    )
    con.execute(f"copy tasks to '{tmp_path}/tasks.parquet' (format parquet)")
    delta = yardsticks.delta_folder(tmp_path, tmp_path / "work")
    rows = con.execute(f"select * from '{delta}/tasks.parquet' order by task_id").fetchall()
    assert [r[0] for r in rows] == ["T2", "T3"]  # 26 Nov, the day before the last push's
    t2 = rows[0]
    assert t2[4:] == (
        dt.datetime(2026, 11, 26, 11, 0),
        "受理",
        dt.datetime(2026, 11, 30, 12, 1),  # a minute after the data's last completion
        "符合",
    )
    assert rows[1][4:] == (dt.datetime(2026, 11, 26, 23, 30), "不受理", None, None)


def test_a_measured_copy_is_the_file_at_rest_without_a_stale_wal(tmp_path, monkeypatch) -> None:
    """copy_at_rest: the same bytes, the destination's old WAL gone (a WAL of another file would
    be replayed into the copy), and the copy flushed (fsync of that file) before it is timed."""
    from bench import workload

    src, dst = tmp_path / "w.duckdb", tmp_path / "copy.duckdb"
    src.write_bytes(b"warehouse" * 1000)
    dst.write_bytes(b"old")
    dst.with_name("copy.duckdb.wal").write_bytes(b"stale")
    synced = []
    real = os.fsync
    monkeypatch.setattr(workload.os, "fsync", lambda fd: synced.append(os.fstat(fd)) or real(fd))
    assert workload.copy_at_rest(src, dst) == dst
    assert dst.read_bytes() == src.read_bytes()
    assert not dst.with_name("copy.duckdb.wal").exists()
    assert [s.st_ino for s in synced] == [dst.stat().st_ino]
