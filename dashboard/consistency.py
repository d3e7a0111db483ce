"""Every page run sees the data from before a commit or after it, never a mix.

Served (`dashboard/serve.py`), the dashboard reads **snapshots**: it never keeps the warehouse file
open, so commands write it beside the dashboard. Every committed write, a command's or a page's,
publishes a copy (`pipelines.db.publish`); each page run pins the newest copy when it starts and
reads only that one to its end; the next run after a write pins the new copy. A page's own write
goes to the warehouse (`pipelines.db.begin` attaches it for that write only) and the rest of that
run reads the copy the write published. Connections of copies no run reads are dropped.

Run in the test's own process (Streamlit's AppTest, which shares the warehouse connection with
the test), the dashboard reads the warehouse directly through one process-wide connection and the
`SnapshotGate` below keeps page runs and commits apart.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import duckdb
import streamlit as st

from pipelines import db as wh
from pipelines.errors import DataError

WAIT_SECONDS = 60.0


def reads_snapshots() -> bool:
    """True when served by dashboard/serve.py (it sets MTB_READ_SNAPSHOTS=1)."""
    return os.environ.get("MTB_READ_SNAPSHOTS") == "1"


class Snapshots:
    """The snapshots one server process reads: one pinned per page run in flight."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._open: dict[Path, duckdb.DuckDBPyConnection] = {}
        self._pins: dict[int, Path] = {}  # thread of a page run in flight -> its snapshot
        self._newest: Path | None = None
        con = wh.connect(db)  # creates the schema, records the file's identity (inode check)
        try:  # what the warehouse holds now: a write that crashed before publishing shows too
            wh.publish(con, db)
        finally:
            con.close()

    def _connection(self, snap: Path) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if snap not in self._open:
                self._open[snap] = wh.open_snapshot(snap, self.db)
            return self._open[snap]

    def newest(self) -> Path:
        """Open the newest snapshot (a publisher may delete the one just named: read again)."""
        for _ in range(20):
            snap = wh.newest_snapshot(self.db)
            try:
                if snap is not None and snap.is_file():
                    self._connection(snap)
                    self._newest = snap
                    return snap
            except duckdb.IOException:
                pass
            time.sleep(0.05)
        raise DataError(f"看板的读快照不存在：{wh.snapshot_dir(self.db)}（请重新启动看板）")

    def pinned(self) -> Path:
        """This run's snapshot; after the run's own write, the snapshot that write published."""
        me = threading.get_ident()
        with self._lock:
            snap = self._pins.get(me)
        mine = wh.published_by_this_thread()
        if snap is None or (
            mine is not None and wh.snapshot_number(mine) > wh.snapshot_number(snap)
        ):
            snap = self.newest()
            with self._lock:
                if me in self._pins:
                    self._pins[me] = snap
        return snap

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self._connection(self.pinned()).cursor()

    @contextmanager
    def reading(self) -> Iterator[None]:
        me = threading.get_ident()
        wh.release_write()  # a callback of this thread that failed before the run
        snap = self.newest()
        with self._lock:
            self._pins[me] = snap
        try:
            yield
        finally:
            wh.release_write()  # a write the page began and never committed
            with self._lock:
                self._pins.pop(me, None)
                self._close_unread()

    def _close_unread(self) -> None:
        """Forget the connections of snapshots no run reads. Not closed: a download button's
        deferred file still holds a cursor of its run; DuckDB closes the file with the last."""
        keep = {*self._pins.values(), self._newest}
        for snap in [s for s in self._open if s not in keep]:
            del self._open[snap]

    def committing(self):
        """A commit never disturbs a page run (runs read their snapshot): nothing to wait for."""
        return nullcontext()


class SnapshotGate:
    """A writer-preferring readers/writer gate keyed by thread (the in-process mode)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers: dict[int, int] = {}
        self._writers_waiting = 0
        self._writing = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            deadline = time.monotonic() + WAIT_SECONDS
            while (self._writing or self._writers_waiting) and me not in self._readers:
                if not self._cond.wait(timeout=max(deadline - time.monotonic(), 0.01)):
                    break
            self._readers[me] = self._readers.get(me, 0) + 1
        try:
            yield
        finally:
            with self._cond:
                self._readers[me] -= 1
                if not self._readers[me]:
                    del self._readers[me]
                self._cond.notify_all()

    @contextmanager
    def committing(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            self._writers_waiting += 1
            deadline = time.monotonic() + WAIT_SECONDS
            while self._writing or any(t != me for t in self._readers):
                if not self._cond.wait(timeout=max(deadline - time.monotonic(), 0.01)):
                    break
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


@st.cache_resource
def _gate(path: str, snapshots: bool) -> Snapshots | SnapshotGate:
    return Snapshots(Path(path)) if snapshots else SnapshotGate()


def gate() -> Snapshots | SnapshotGate:
    """One per server process and warehouse (all sessions share it)."""
    from dashboard.common import db_path

    return _gate(str(db_path()), reads_snapshots())
