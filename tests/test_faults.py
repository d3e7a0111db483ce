"""Faults: a killed ingest leaves all or nothing; unwritable paths give a clear message."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.errors import DataError

from test_ingest import CASES, EXPERTS, HOSPITALS, write_csv

ROOT = Path(__file__).resolve().parent.parent
N_TASKS = 60_000


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("big")
    write_csv(d / "hospitals.csv", HOSPITALS)
    write_csv(d / "experts.csv", EXPERTS)
    write_csv(d / "cases.csv", CASES)
    head = "task_id,case_id,expert_id,pushed_at,responded_at,response,completed_at,verdict\n"
    rows = "".join(
        f"T{i:07d},C1,E1,2026-03-02 10:00:00,2026-03-02 11:00:00,受理,2026-03-03 10:00:00,符合\n"
        for i in range(N_TASKS)
    )
    (d / "tasks.csv").write_text(head + rows, encoding="utf-8")
    return d


def _ingest_cmd(db: Path, folder: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipelines",
        "ingest",
        "--db",
        str(db),
        "--no-refresh",
        str(folder),
    ]


def _counts(db: Path) -> tuple[int, int]:
    c = duckdb.connect(str(db))
    try:
        tables = {
            r[0] for r in c.execute("select table_name from information_schema.tables").fetchall()
        }
        if "stg_tasks" not in tables:
            return (0, 0)
        return (
            c.execute("select count(*) from stg_tasks").fetchone()[0],
            c.execute("select count(*) from stg_hospitals").fetchone()[0],
        )
    finally:
        c.close()


@pytest.mark.slow
def test_kill_9_during_ingest_leaves_all_or_nothing(big_folder, tmp_path):
    full = subprocess.run(
        _ingest_cmd(tmp_path / "ref.duckdb", big_folder), cwd=ROOT, capture_output=True
    )
    assert full.returncode == 0, full.stderr.decode()
    t0 = time.monotonic()
    subprocess.run(
        _ingest_cmd(tmp_path / "timing.duckdb", big_folder),
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    duration = time.monotonic() - t0
    rng = random.Random(7)
    outcomes = set()
    for point in range(20):
        db = tmp_path / f"k{point}.duckdb"
        proc = subprocess.Popen(
            _ingest_cmd(db, big_folder),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.05, duration))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        tasks, hospitals = _counts(db)
        assert (tasks, hospitals) in ((0, 0), (N_TASKS, 2)), (point, tasks, hospitals)
        outcomes.add(tasks)
        rerun = subprocess.run(_ingest_cmd(db, big_folder), cwd=ROOT, capture_output=True)
        assert rerun.returncode == 0, rerun.stderr.decode()
        assert _counts(db) == (N_TASKS, 2)
    assert 0 in outcomes  # at least one kill really landed mid-load


def test_unwritable_database_path_gives_a_clear_message(tmp_path):
    from pipelines.db import connect

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(DataError) as exc:
        connect(blocker / "w.duckdb")
    assert "无法打开数据库文件" in str(exc.value)
    assert str(blocker) in str(exc.value)


def test_database_opened_by_another_writer_gives_a_clear_message(tmp_path):
    db = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('ok', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline().strip() == b"ok"
        env = {**os.environ, "MTB_LOCK_WAIT": "2"}
        r = subprocess.run(_ingest_cmd(db, tmp_path), cwd=ROOT, capture_output=True, env=env)
        assert r.returncode == 1
        err = r.stderr.decode()
        assert f"数据库文件 {db} 正被另一进程（进程 PID {holder.pid}）以写方式占用" in err, err
        assert "Traceback" not in err
    finally:
        holder.kill()


def test_memory_is_capped_by_default(tmp_path, monkeypatch):
    from pipelines.db import connect

    monkeypatch.delenv("MTB_DUCKDB_MEMORY", raising=False)
    for read_only in (False, True):
        c = connect(tmp_path / "w.duckdb", read_only=read_only)
        limit = c.execute("select current_setting('memory_limit')").fetchone()[0]
        c.close()
        assert limit.replace(" ", "") in ("1.8GiB", "2.0GB", "1.8GB", "1.9GiB"), limit


def test_memory_limit_comes_from_the_environment(tmp_path, monkeypatch):
    from pipelines.db import connect

    monkeypatch.setenv("MTB_DUCKDB_MEMORY", "512MB")
    c = connect(tmp_path / "w.duckdb")
    limit = c.execute("select current_setting('memory_limit')").fetchone()[0]
    c.close()
    assert limit.replace(" ", "") in ("488.2MiB", "512.0MB", "488.2MB")


def test_a_wrong_memory_setting_is_named(tmp_path, monkeypatch):
    from pipelines.db import connect

    monkeypatch.setenv("MTB_DUCKDB_MEMORY", "lots")
    with pytest.raises(DataError, match="MTB_DUCKDB_MEMORY 的值 'lots' 无效"):
        connect(tmp_path / "w.duckdb")


def _imports_pandas(code: str) -> bool:
    """Whether a fresh interpreter running `code` (in the checkout) has imported pandas."""
    root = Path(__file__).resolve().parent.parent
    code += "\nimport sys\nprint('pandas' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    return done.stdout.strip() == "True"


def test_opening_the_warehouse_imports_no_pandas(tmp_path):
    """The memory cap is set as a checked literal: DuckDB imports pandas (a slow import) on a
    connection's first bound parameter, and a rule command should pay for it only if it binds."""
    from pipelines.db import connect

    connect(tmp_path / "w.duckdb").close()
    db = str(tmp_path / "w.duckdb")
    assert not _imports_pandas(f"from pipelines.db import connect\nconnect({db!r}).close()")


def test_parsing_a_command_line_imports_no_pandas():
    """Every command module is imported to build the parser: none of them imports pandas at
    its top (the verbs that need it import it themselves)."""
    assert not _imports_pandas("import pipelines.cli\npipelines.cli.build_parser()")


def test_a_memory_setting_with_a_quote_is_named(tmp_path, monkeypatch):
    from pipelines.db import connect

    monkeypatch.setenv("MTB_DUCKDB_MEMORY", "2GB'; checkpoint; --")
    with pytest.raises(DataError, match="MTB_DUCKDB_MEMORY 的值 .* 无效"):
        connect(tmp_path / "w.duckdb")
