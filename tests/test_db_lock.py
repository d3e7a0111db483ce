"""One writer at a time: a second process waits its turn for the warehouse file (bounded).

DuckDB lets one process open a database file for writing. Two supervisors drawing from the command
line at the same moment, or an ingest started while a draw runs, must each get a complete result
one after the other, not a refusal; a process that never lets go ends the wait with a message that
names the file, the holder's PID and what to do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.db import connect, lock_wait
from pipelines.draws.verify import verify_log
from pipelines.errors import DataError
from sample_generator import generate

ROOT = Path(__file__).resolve().parent.parent

HOLD = """
import sys, time
from pipelines.db import connect
con = connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def hold(db: Path, seconds: float) -> subprocess.Popen:
    """Another process that opens the file for writing and keeps it `seconds` long."""
    p = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db), str(seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout.readline().strip() == "holding"
    return p


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    connect(path).close()
    return path


def test_waits_for_the_other_process_then_opens(db, monkeypatch, capfd):
    monkeypatch.setenv("MTB_LOCK_WAIT", "60")
    holder = hold(db, 1.5)
    start = time.monotonic()
    con = connect(db)
    waited = time.monotonic() - start
    con.execute("select count(*) from load_log").fetchone()
    con.close()
    assert holder.wait(timeout=30) == 0
    assert waited >= 0.5  # it did wait for the holder to let go
    assert "正被另一进程使用，等待其完成" in capfd.readouterr().err


def test_read_only_open_waits_too(db, monkeypatch):
    monkeypatch.setenv("MTB_LOCK_WAIT", "60")
    holder = hold(db, 1.0)
    con = connect(db, read_only=True)
    assert con.execute("select count(*) from load_log").fetchone() == (0,)
    con.close()
    holder.wait(timeout=30)


def test_a_holder_that_never_lets_go_ends_the_wait_with_a_clear_message(db, monkeypatch):
    monkeypatch.setenv("MTB_LOCK_WAIT", "0.8")
    holder = hold(db, 30)
    try:
        start = time.monotonic()
        with pytest.raises(DataError) as err:
            connect(db)
        assert 0.7 <= time.monotonic() - start < 15
        message = str(err.value)
        assert str(db) in message
        assert f"PID {holder.pid}" in message
        assert "MTB_LOCK_WAIT" in message and "等待该进程结束" in message
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("value, expected", [("5", 5.0), ("0", 0.0), ("-3", 0.0), ("abc", 120.0)])
def test_lock_wait_setting(monkeypatch, value, expected):
    monkeypatch.setenv("MTB_LOCK_WAIT", value)
    assert lock_wait() == expected


def test_two_cli_draws_at_the_same_moment_both_complete(tmp_path):
    """Two supervisors start a spot check in the same second: two separate, complete records."""
    generate(cases=400, seed=7, out=tmp_path / "in")
    db = tmp_path / "w.duckdb"
    ingest = [sys.executable, "-m", "pipelines", "ingest", "--db", str(db), str(tmp_path / "in")]
    assert subprocess.run(ingest, cwd=ROOT, capture_output=True).returncode == 0
    env = {**os.environ, "MTB_LOCK_WAIT": "120"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipelines",
                "spot-check",
                "--db",
                str(db),
                "--from",
                "2026-01-01",
                "--to",
                "2026-06-30",
                "--rate",
                "10%",
                "--seed",
                seed,
                "--supervisor",
                supervisor,
                "--out",
                str(tmp_path / f"{k}.csv"),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for k, (supervisor, seed) in enumerate(
            [("王监管", "11111111112222222222"), ("李监管", "33333333334444444444")]
        )
    ]
    outs = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert [rc for rc, _o, _e in outs] == [0, 0], outs
    con = connect(db)
    records = con.execute(
        "select draw_id, kind, supervisor, frozen_id from draw_log order by record_no"
    ).fetchall()
    chain = verify_log(con)
    con.close()
    assert chain.ok, chain.message
    frozen = {r[0]: r[2] for r in records if r[1] == "population_frozen"}
    drawn = [r for r in records if r[1] == "spot_check"]
    assert sorted(r[2] for r in drawn) == ["李监管", "王监管"]
    assert len(frozen) == 2 and all(frozen[r[3]] == r[2] for r in drawn)
    for k in range(2):
        assert (tmp_path / f"{k}.csv").stat().st_size > 0
