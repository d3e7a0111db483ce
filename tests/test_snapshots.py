"""Read snapshots: each committed write publishes a whole, owner-only copy the dashboard reads.

The dashboard reads the newest copy (never the warehouse), so commands write beside it; a copy
never changes under a page run; a crash between a write and its publish leaves the previous copy
readable; writers (commands, page writes) still take turns on the warehouse file.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pipelines import db as wh
from pipelines.audit import log_download

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    con = wh.connect(path)
    wh.publish(con, path)  # as the dashboard does at start
    con.close()
    return path


def downloads(con) -> int:
    return con.execute("select count(*) from download_log").fetchone()[0]


def test_publish_writes_an_owner_only_copy_and_names_it_in_the_version_file(db):
    snap = wh.newest_snapshot(db)
    folder = wh.snapshot_dir(db)
    assert snap == folder / "w-00000001.duckdb"
    assert (folder / "w.version").read_text(encoding="utf-8") == "w-00000001.duckdb"
    for f, mode in ((snap, 0o600), (folder / "w.version", 0o600), (folder, 0o700)):
        assert stat.S_IMODE(f.stat().st_mode) == mode, f
    with wh.open_snapshot(snap, db) as con:
        assert con.execute("select count(*) from load_log").fetchone() == (0,)


def test_a_page_write_lands_in_the_warehouse_and_the_old_snapshot_stays_as_it_was(db):
    old = wh.open_snapshot(wh.newest_snapshot(db), db)
    log_download(old.cursor(), "demo", "市级监管", "名单", "a.csv", 3, "none")
    new = wh.newest_snapshot(db)
    assert new.name == "w-00000002.duckdb"
    assert wh.published_by_this_thread() == new
    # the run that read the old copy still reads it (the file is gone, its handle is not)
    assert not (wh.snapshot_dir(db) / "w-00000001.duckdb").exists()
    assert old.execute(
        "select count(*) from information_schema.tables where table_name = 'download_log'"
    ).fetchone() == (0,)
    with wh.open_snapshot(new, db) as con:
        assert downloads(con) == 1
    old.close()
    with wh.connect(db, read_only=True) as con:  # the warehouse is no longer attached
        assert downloads(con) == 1


CRASH = """
import os, sys
from pathlib import Path
from pipelines import db as wh
from pipelines.audit import log_download

def half_copy(src, dst):
    Path(dst).write_bytes(Path(src).read_bytes()[:4096])
    os._exit(9)  # killed in the middle of the publish

wh.copy_file = half_copy
con = wh.connect(sys.argv[1])
log_download(con, "cli", "-", "名单", "b.csv", 1, "none")
"""


def test_a_crash_between_the_write_and_the_publish_leaves_the_old_snapshot_usable(db):
    run = subprocess.run([sys.executable, "-c", CRASH, str(db)], cwd=ROOT, timeout=60)
    assert run.returncode == 9
    snap = wh.newest_snapshot(db)
    assert snap.name == "w-00000001.duckdb"  # the half-written copy is named nowhere
    assert [p.name for p in wh.snapshot_dir(db).glob("w-00000002.duckdb.part-*")]
    with wh.open_snapshot(snap, db) as con:
        assert con.execute("select count(*) from load_log").fetchone() == (0,)
    with wh.connect(db) as con:  # the write itself committed; the next publish carries it
        new = wh.publish(con, db)
    assert new.name == "w-00000002.duckdb"
    assert not list(wh.snapshot_dir(db).glob("*.part-*"))
    with wh.open_snapshot(new, db) as con:
        assert downloads(con) == 1


WRITER = """
import sys
from pipelines import db as wh
from pipelines.audit import log_download
con = wh.connect(sys.argv[1])
for i in range(5):
    log_download(con, sys.argv[2], "-", "名单", f"{i}.csv", i, "none")
"""


def test_two_writer_processes_take_turns_and_every_write_is_published(db, monkeypatch):
    monkeypatch.setenv("MTB_LOCK_WAIT", "60")
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(db), who], cwd=ROOT)
        for who in ("a", "b")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    snap = wh.newest_snapshot(db)
    assert snap.name == "w-00000011.duckdb"  # 1 at start + one per write, none lost
    with wh.open_snapshot(snap, db) as con:
        assert con.execute(
            "select username, count(*) from download_log group by 1 order by 1"
        ).fetchall() == [("a", 5), ("b", 5)]


def test_page_writes_of_two_sessions_take_turns_on_the_warehouse(db):
    snap = wh.open_snapshot(wh.newest_snapshot(db), db)
    errors: list[BaseException] = []

    def session(who: str) -> None:
        try:
            for i in range(3):
                log_download(snap.cursor(), who, "-", "名单", f"{i}.csv", i, "none")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(w,)) for w in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with wh.open_snapshot(wh.newest_snapshot(db), db) as con:
        assert downloads(con) == 6
    assert wh.snapshot_number(wh.newest_snapshot(db)) == 7


def test_a_page_write_refused_by_the_inode_check_detaches_the_warehouse(db, tmp_path):
    snap = wh.open_snapshot(wh.newest_snapshot(db), db)
    shutil.copyfile(db, tmp_path / "other.duckdb")
    os.replace(tmp_path / "other.duckdb", db)  # another file now has the name (make clean-demo)
    with pytest.raises(wh.DataError, match="已被替换为另一个文件"):
        log_download(snap.cursor(), "demo", "-", "名单", "c.csv", 1, "none")
    with wh.connect(db) as con:  # not attached any more by the refused page write
        assert con.execute("select count(*) from load_log").fetchone() == (0,)


def write_as_a_command(db: Path) -> None:
    with wh.connect(db) as cli:
        log_download(cli, "cli", "-", "名单", "a.csv", 1, "none")


def test_a_page_run_reads_one_snapshot_to_its_end_and_the_next_run_the_new_one(tmp_path):
    from dashboard.consistency import Snapshots

    db = tmp_path / "w.duckdb"
    served = Snapshots(db)  # creates the warehouse and publishes w-00000001
    with served.reading():
        first = served.pinned()
        command = threading.Thread(target=write_as_a_command, args=(db,))  # writes meanwhile
        command.start()
        command.join(60)
        assert wh.newest_snapshot(db).name == "w-00000002.duckdb"
        assert served.pinned() == first  # the run in flight keeps its snapshot
        assert served.cursor().execute(
            "select count(*) from information_schema.tables where table_name = 'download_log'"
        ).fetchone() == (0,)
    with served.reading():  # the next run
        assert served.pinned().name == "w-00000002.duckdb"
        assert downloads(served.cursor()) == 1
        log_download(served.cursor(), "demo", "-", "名单", "b.csv", 1, "none")  # its own write
        assert served.pinned().name == "w-00000003.duckdb"  # shown in the same run
        assert downloads(served.cursor()) == 2
    with wh.connect(db) as cli:  # the page's write let go of the warehouse
        assert downloads(cli) == 2
