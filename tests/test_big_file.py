"""A 1 GB tasks file through the real command line, in bounded memory, with progress shown.

The file (11 million rows of 91 bytes) is written in a few seconds: one line of bytes, copied a
million times into a numpy array whose id digits are then filled in column by column. Eleven rows,
one per million, name an expert who does not exist, so that the quarantine shows whether every
row kept its line number through DuckDB's parallel read.

Memory: the ingest runs with MTB_DUCKDB_MEMORY=1GB. DuckDB keeps its buffers within that cap and
spills the rest to disk; above it come the interpreter and its libraries (~150 MB) and DuckDB's
allocations outside the buffer pool. The bound, 2 GiB, is the cap plus 1 GiB for those, and is
well under what a reader holding the file in Python would need (the 1 GB of bytes, then 1-2 GB
of decoded text, then the rows).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest

from test_ingest import CASES, EXPERTS, HOSPITALS, TASKS, write_csv

ROOT = Path(__file__).resolve().parent.parent
ROWS = 11_000_000
BAD_EVERY, BAD_AT = 1_000_000, 777  # row i with i % BAD_EVERY == BAD_AT names expert E9
LINE = "T000000000,C1,E1,2026-03-02 10:00:00,2026-03-02 11:00:00,受理,2026-03-03 10:00:00,符合\n"
MEMORY_CAP = "1GB"
RSS_BOUND = 2 << 30


def write_tasks(path: Path, rows: int) -> int:
    """Rows T000000000, T000000001, … (row i on line i + 2); returns the file's size."""
    line = LINE.encode()
    block = 1 << 20
    expert = line.index(b",E1,") + 2
    powers = 10 ** np.arange(8, -1, -1, dtype=np.int64)
    template = np.frombuffer(line, np.uint8)
    with path.open("wb") as fh:
        fh.write((",".join(TASKS[0]) + "\n").encode())
        for start in range(0, rows, block):
            ids = np.arange(start, min(start + block, rows), dtype=np.int64)
            arr = np.empty((len(ids), len(line)), np.uint8)
            arr[:] = template
            arr[:, 1:10] = (ids[:, None] // powers) % 10 + ord("0")
            arr[ids % BAD_EVERY == BAD_AT, expert] = ord("9")
            fh.write(arr.tobytes())
    return path.stat().st_size


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the machine is shared; on two idle cores this takes about a minute
def test_a_1gb_file_loads_in_bounded_memory_with_progress(tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    try:
        write_csv(data / "hospitals.csv", HOSPITALS)
        write_csv(data / "experts.csv", EXPERTS)
        write_csv(data / "cases.csv", CASES)
        size = write_tasks(data / "tasks.csv", ROWS)
        assert size > 1_000_000_000
        db = tmp_path / "big.duckdb"
        out, err = (tmp_path / "stdout.txt").open("w"), (tmp_path / "stderr.txt").open("w")
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipelines",
                "ingest",
                "--no-refresh",
                "--db",
                str(db),
                str(data),
            ],
            cwd=ROOT,
            stdout=out,
            stderr=err,
            env={**os.environ, "MTB_DUCKDB_MEMORY": MEMORY_CAP},
        )
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - t0
        out.close()
        err.close()
        stderr = (tmp_path / "stderr.txt").read_text()
        peak = usage.ru_maxrss * 1024  # Linux reports kilobytes
        cpu = usage.ru_utime + usage.ru_stime
        print(f"\n1 GB ingest: {seconds:.0f} s ({cpu:.0f} s CPU), peak RSS {peak / 2**20:,.0f} MiB")

        assert proc.returncode == 0, stderr[-3000:]
        assert peak <= RSS_BOUND, f"peak RSS {peak / 2**20:,.0f} MiB"

        bad = [i for i in range(ROWS) if i % BAD_EVERY == BAD_AT]
        c = duckdb.connect(str(db), read_only=True)
        try:
            assert c.execute("select count(*) from stg_tasks").fetchone()[0] == ROWS - len(bad)
            assert c.execute("select min(task_id), max(task_id) from stg_tasks").fetchone() == (
                "T000000000",
                f"T{ROWS - 1:09d}",
            )
            log = c.execute(
                "select rows_read, rows_accepted, rows_quarantined from load_log "
                "where file_name = 'tasks.csv'"
            ).fetchall()
            assert log == [(ROWS, ROWS - len(bad), len(bad))]
            quarantined = c.execute(
                "select line, column_name, reason_en, raw::json->>'task_id' from quarantine "
                "order by line"
            ).fetchall()
            assert quarantined == [(i + 2, "expert_id", "unknown expert", f"T{i:09d}") for i in bad]
        finally:
            c.close()

        # progress, as plain lines since stderr is not a terminal
        assert "\r" not in stderr
        assert "已计算文件校验和" in stderr
        assert "检查编码" not in stderr  # a UTF-8 file costs no encoding pass of its own
        parsing = re.findall(r"解析 tasks\.csv：(\d+)%", stderr)
        assert len(parsing) >= 3 and parsing[-1] == "100", stderr[-3000:]
        assert f"已读取 {ROWS:,} 行" in stderr
        assert f"已写入 {ROWS - len(bad):,} 行" in stderr
        assert re.search(
            r"tasks\.csv\s+tasks\s+11,000,000\s+10,999,989\s+10,999,989\s+0\s+11", stderr
        )
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)  # pytest keeps old tmp dirs: not these 2 GB
