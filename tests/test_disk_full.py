"""A full disk mid-ingest: a clear message, the database keeps its earlier state, a rerun works.

The disk is "filled" for the ingest process alone with RLIMIT_FSIZE (the largest file it may
write), with SIGXFSZ ignored so that writes past the limit fail with EFBIG as on a full disk.
"""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

import duckdb

from test_ingest import CASES, EXPERTS, HOSPITALS, write_all, write_csv

ROOT = Path(__file__).resolve().parent.parent
N_TASKS = 60_000


def _ingest(db: Path, folder: Path, max_file_bytes: int | None = None):
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run(
        [sys.executable, "-m", "pipelines", "ingest", "--db", str(db), str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        preexec_fn=limit if max_file_bytes else None,
    )


def _state(db: Path) -> tuple:
    c = duckdb.connect(str(db), read_only=True)
    try:
        return (
            c.execute("select count(*) from stg_tasks").fetchone()[0],
            c.execute("select count(*) from stg_cases").fetchone()[0],
            c.execute("select count(*) from load_log").fetchone()[0],
        )
    finally:
        c.close()


def test_a_full_disk_fails_cleanly_and_keeps_the_earlier_load(tmp_path):
    db = tmp_path / "w.duckdb"
    first = _ingest(db, write_all(tmp_path / "first"))
    assert first.returncode == 0, first.stderr
    before = _state(db)

    big = tmp_path / "big"
    big.mkdir()
    write_csv(big / "hospitals.csv", HOSPITALS)
    write_csv(big / "experts.csv", EXPERTS)
    write_csv(big / "cases.csv", CASES)
    (big / "tasks.csv").write_text(
        "task_id,case_id,expert_id,pushed_at,responded_at,response,completed_at,verdict\n"
        + "".join(
            f"B{i:07d},C1,E1,2026-03-02 10:00:00,2026-03-02 11:00:00,受理,"
            "2026-03-03 10:00:00,符合\n"
            for i in range(N_TASKS)
        ),
        encoding="utf-8",
    )
    full = _ingest(db, big, max_file_bytes=256 * 1024)
    assert full.returncode == 1, (full.returncode, full.stderr[-3000:])
    assert "Traceback" not in full.stderr, full.stderr[-3000:]
    assert "磁盘空间不足" in full.stderr, full.stderr[-3000:]
    assert str(db) in full.stderr
    assert "没有留下半截数据" in full.stderr
    assert _state(db) == before

    again = _ingest(db, big)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _state(db)[0] == before[0] + N_TASKS


def test_storage_failures_are_named_and_other_errors_are_not():
    from pipelines.cliutil import disk_problem

    nospace = OSError(28, "No space left on device")
    assert disk_problem(nospace).startswith("磁盘空间不足 (No space left on device)")
    try:
        try:
            raise duckdb.IOException(
                'Could not write file "/d/w.duckdb.wal": Read-only file system'
            )
        except duckdb.IOException:
            raise duckdb.TransactionException("cannot rollback - no transaction is active")  # noqa: B904 (the implicit chain is what is tested)
    except duckdb.TransactionException as chained:
        assert (
            disk_problem(chained) == "文件系统只读 (Read-only file system)，文件：/d/w.duckdb.wal"
        )
    assert disk_problem(duckdb.CatalogException("Table with name x does not exist")) is None


def test_a_full_disk_after_the_load_landed_is_named_and_refresh_repairs_it(
    tmp_path, monkeypatch, capsys
):
    """The load committed, then the mart refresh hit the full disk: exit 1, data kept, say so."""
    import pipelines.cli as cli
    import pipelines.rules as rules

    real = rules.refresh_marts

    def full(*_a, **_k):
        raise duckdb.IOException(
            f'Could not write file "{tmp_path}/w.duckdb": No space left on device'
        )

    monkeypatch.setattr(rules, "refresh_marts", full)
    db = tmp_path / "w.duckdb"
    status = cli.main(["ingest", "--db", str(db), str(write_all(tmp_path / "in"))])
    err = capsys.readouterr().err
    assert status == 1, err
    assert "磁盘空间不足" in err and "数据已导入并已保存" in err and "统计表未能重算" in err
    assert f"python -m pipelines refresh --db {db}" in err
    loaded = _state(db)
    assert loaded[0] > 0 and loaded[2] > 0

    monkeypatch.setattr(rules, "refresh_marts", real)
    assert cli.main(["refresh", "--db", str(db), "--as-of", "2026-11-20 23:59:59"]) == 0
    assert "已按评估时间 2026-11-20 23:59:59 重算统计表" in capsys.readouterr().err
    c = duckdb.connect(str(db), read_only=True)
    try:
        assert c.execute("select count(*) from mart_meta").fetchone()[0] > 0
    finally:
        c.close()
    assert _state(db) == loaded


def test_another_failure_of_the_refresh_is_a_warning(tmp_path, monkeypatch, capsys):
    import pipelines.cli as cli
    import pipelines.rules as rules

    def broken(*_a, **_k):
        raise duckdb.BinderException("something else")

    monkeypatch.setattr(rules, "refresh_marts", broken)
    db = tmp_path / "w.duckdb"
    assert cli.main(["ingest", "--db", str(db), str(write_all(tmp_path / "in"))]) == 0
    err = capsys.readouterr().err
    assert "警告：数据已导入并已保存，但统计表未重算：something else" in err
