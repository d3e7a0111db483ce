"""The DuckDB warehouse file: connect and make sure the schema and reference tables exist."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import duckdb

from pipelines.catalogue import load_catalogue
from pipelines.config import DEFAULT_DB
from pipelines.errors import DataError
from pipelines.workcal import ensure_calendar

SQL_DIR = Path(__file__).resolve().parent / "sql"


def sql(name: str) -> str:
    """The text of `<name>.sql` anywhere under `pipelines/sql/` (its layer folders: staging,
    models, audits, marts, draws; or flat)."""
    path = sql_files(SQL_DIR).get(name)
    if path is None:  # added since the folder was indexed
        sql_files.cache_clear()
        path = sql_files(SQL_DIR).get(name)
    if path is None:
        raise FileNotFoundError(f"SQL 文件不存在：{SQL_DIR}/**/{name}.sql")
    return path.read_text(encoding="utf-8")


@cache
def sql_files(root: Path) -> dict[str, Path]:
    """Each `.sql` file under `root` by its name without `.sql`; a name twice is refused (which
    file `sql(name)` means would depend on the folder walk)."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.sql")):
        if (first := found.setdefault(path.stem, path)) != path:
            raise RuntimeError(
                f"SQL 文件重名：{first.relative_to(root)} 与 {path.relative_to(root)}"
                f"（{root} 下每个文件名只能出现一次）"
            )
    return found


def init_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables, refresh the catalogue and the calendar (one transaction)."""
    begin(con)
    try:
        con.execute(sql("schema"))
        con.execute(sql("draw_log_schema"))  # the decisions the rule models read live there
        load_catalogue(con)
        ensure_calendar(con)
        commit(con, publish=False)
    except BaseException:
        con.execute("rollback")
        raise


# The file this process opened at each path: (device, inode). A file deleted (`make clean-demo`)
# or replaced while a connection is open keeps living under that connection alone; whatever is
# written to it is gone at the next start, so writes check that the path still names it.
_OPENED: dict[str, tuple[int, int]] = {}


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def file_problem(path: str | Path) -> str | None:
    """Why the warehouse file this process opened at `path` is no longer the one the path names
    (deleted or replaced), in Chinese; None while it is the same file (or was never opened)."""
    key = str(Path(path).resolve())
    opened = _OPENED.get(key)
    if opened is None:
        return None
    now = _identity(Path(key))
    if now == opened:
        return None
    what = "已被删除" if now is None else "已被替换为另一个文件"
    return (
        f"数据库文件 {path} 在打开后{what}（打开时 设备 {opened[0]} inode {opened[1]}）："
        "现在写入的数据会随旧文件一起丢失，因此拒绝写入。请重新启动看板或重新运行命令。"
        f"(database file {path} was deleted or replaced while open; writes refused)"
    )


def _path_of(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    return row[0] if row else None


def ensure_same_file(con: duckdb.DuckDBPyConnection) -> None:
    """Raise DataError if the file `con` writes to is no longer the one its path names."""
    path = _path_of(con)
    if path and (problem := file_problem(path)):
        raise DataError(problem)


def begin(con: duckdb.DuckDBPyConnection) -> None:
    """Start a write transaction, refused when the database file was deleted or replaced.

    On a read snapshot (the dashboard's), the transaction goes to the warehouse file itself,
    attached for this write only (`_attach_warehouse`)."""
    if (db := _SNAPSHOT_OF.get(_path_of(con) or "")) is not None:
        _attach_warehouse(con, db)
    try:
        ensure_same_file(con)
        con.execute("begin transaction")
    except BaseException:
        release_write()  # refused: let go of the warehouse attached for it
        raise


def commit(con: duckdb.DuckDBPyConnection, publish: bool = True) -> None:
    """Commit, refused (the caller rolls back) when the file was deleted meanwhile; then publish
    a read snapshot when a dashboard reads them (the snapshot folder exists)."""
    ensure_same_file(con)
    con.execute("commit")
    write = _WRITES.get(threading.get_ident())
    if write is not None and write[0] is con:
        try:
            _publish_quietly(con, write[2], WAREHOUSE)
        finally:
            release_write()
    elif publish and (path := _path_of(con)) and snapshot_dir(Path(path)).is_dir():
        held = _HELD.get(threading.get_ident())
        if held is not None and held[0] is con:
            held[1] = True  # published once when `one_publish` ends
        else:
            _publish_quietly(con, Path(path))


PRIVATE_UMASK = 0o077  # every file the product writes holds personal data: owner only


def loose_modes(db: Path) -> list[str]:
    """The warehouse files and folders other local users can read, one Chinese line each."""
    from pipelines import sessions

    _, secret, revoked = sessions._files(None)
    spill = db.with_name(db.name + ".tmp")
    lines = []
    for f in (db.parent, db, db.with_name(db.name + ".wal"), spill, secret.parent, revoked):
        try:
            mode = f.stat().st_mode & 0o777
        except OSError:  # absent, or in a folder this user may not look into: nothing to say
            continue
        # a folder others may pass through but not list (0711) is fine: what it holds is
        # owner-only, and the tracked reference files under data/ stay readable by path
        if mode & (0o066 if f.is_dir() else 0o077):
            want = 0o711 if f.is_dir() else 0o600
            lines.append(
                f"警告：{f} 的权限为 {mode:04o}，本机其他用户可读取其中的个人信息；"
                f"请执行 chmod {want:o} {f}"
            )
    return list(dict.fromkeys(lines))


_MEMORY_VALUE = re.compile(r"\d+(\.\d+)?\s*[A-Za-z]{0,3}")  # 2GB, 512 MB, 1.5GiB (no quote)
DEFAULT_MEMORY = "2GB"  # DuckDB's own default is 80 % of RAM: one batch stage took 3.6 GiB


def memory_limit() -> str:
    """DuckDB's memory cap, $MTB_DUCKDB_MEMORY (e.g. "3GB") or 2GB; past it, work spills to disk
    (a temp folder beside the database file), so every command stays within about 3 GB."""
    return os.environ.get("MTB_DUCKDB_MEMORY") or DEFAULT_MEMORY


def _set_memory_limit(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Set on the open database rather than passed as connect() configuration: a process may
    open the same file again (the dashboard, a test) and DuckDB refuses a second connection
    whose configuration differs from the first's."""
    try:
        # a literal: DuckDB imports pandas on a connection's first bound parameter
        if not _MEMORY_VALUE.fullmatch(memory_limit()):
            raise duckdb.InvalidInputException("not a size")
        con.execute(f"set memory_limit = '{memory_limit()}'")
    except duckdb.Error as exc:
        con.close()
        raise DataError(
            f"环境变量 MTB_DUCKDB_MEMORY 的值 {memory_limit()!r} 无效（应为如 2GB、512MB）："
            f"{str(exc).splitlines()[0]}"
        ) from exc
    return con


LOCK_WAIT_SECONDS = 120.0  # default of $MTB_LOCK_WAIT


def lock_wait() -> float:
    """How long to wait for another process's write lock on the file: $MTB_LOCK_WAIT seconds."""
    try:
        return max(0.0, float(os.environ.get("MTB_LOCK_WAIT", LOCK_WAIT_SECONDS)))
    except ValueError:
        return LOCK_WAIT_SECONDS


def _is_lock_conflict(exc: BaseException) -> bool:
    return "Could not set lock" in str(exc) or "Conflicting lock" in str(exc)


def _open(db: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, waiting its turn (bounded) while another process holds the file.

    DuckDB lets one process at a time open a file for writing; a second command (two supervisors'
    draws at the same moment, an ingest while a draw runs) waits up to `lock_wait()` seconds,
    retrying with growing pauses, instead of failing at once.
    """
    deadline = time.monotonic() + lock_wait()
    pause, told = 0.05, False
    while True:
        try:
            con = _set_memory_limit(duckdb.connect(str(db), read_only=read_only))
            _OPENED[str(db.resolve())] = _identity(db)
            return con
        except duckdb.IOException as exc:
            if not _is_lock_conflict(exc) or time.monotonic() >= deadline:
                raise
            if not told:
                print(f"数据库文件 {db} 正被另一进程使用，等待其完成…", file=sys.stderr, flush=True)
                told = True
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 1.0)


def _lock_message(db: Path, exc: BaseException) -> str:
    pid = re.search(r"PID (\d+)", str(exc))
    holder = f"（进程 PID {pid.group(1)}）" if pid else ""
    return (
        f"数据库文件 {db} 正被另一进程{holder}以写方式占用，等待 {lock_wait():.0f} 秒后仍未释放。"
        "请等待该进程结束后再运行命令；"
        "可用环境变量 MTB_LOCK_WAIT 设置等待秒数。"
        f"(database file is locked by another process: {exc})"
    )


_warned: set[str] = set()


def _private(db: Path) -> None:
    """New files and folders of this process are owner-only (the .wal, the spill folder
    `<db>.tmp`, exports), the data folder is made 0700 when created; files already readable by
    others are named on stderr (each once per process)."""
    os.umask(PRIVATE_UMASK)
    if not db.parent.exists():
        db.parent.mkdir(parents=True, mode=0o700)
    for line in loose_modes(db):
        if line not in _warned:
            _warned.add(line)
            print(line, file=sys.stderr, flush=True)


def connect(path: str | Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (created with its schema unless read-only).

    Sets this process's umask to 077: everything it writes afterwards is owner-only."""
    db = Path(path) if path else DEFAULT_DB
    if read_only:
        if not db.exists():
            raise DataError(f"数据库文件不存在：{db}（请先运行 python -m pipelines ingest）")
        _private(db)
        try:
            return _open(db, read_only=True)
        except duckdb.IOException as exc:
            if _is_lock_conflict(exc):
                raise DataError(_lock_message(db, exc)) from exc
            raise
        except duckdb.ConnectionException:
            # this process already holds the file for writing (the dashboard's own process, a
            # test): DuckDB refuses a second, read-only instance, so read through that one
            return _open(db, read_only=False)
    try:
        _private(db)
        con = _open(db, read_only=False)
    except (OSError, duckdb.IOException) as exc:
        if _is_lock_conflict(exc):
            raise DataError(_lock_message(db, exc)) from exc
        raise DataError(f"无法打开数据库文件 {db}：{exc}") from exc
    init_schema(con)
    return con


# ---- read snapshots: the dashboard reads copies, so commands can write beside it (issue 13) ----
#
# DuckDB lets one process write a file, and a read-only open elsewhere blocks that writer. So the
# dashboard never keeps the warehouse open: every committed write (a command's or a page's)
# CHECKPOINTs and publishes a consistent copy `.snapshots/<stem>-<n>.duckdb` beside the file, and
# the dashboard reads the newest copy (one per page run). A page's own write attaches the
# warehouse for that write only.

WAREHOUSE = "mtb_warehouse"  # the catalog name of the warehouse attached for a page's write
_SNAPSHOT_OF: dict[str, Path] = {}  # open snapshot file -> the warehouse it copies
_WRITES: dict[int, tuple[duckdb.DuckDBPyConnection, str, Path]] = {}  # thread -> (con, home, db)
_WRITE_LOCK = threading.Lock()  # one page write at a time in this process
_PUBLISHED: dict[int, Path] = {}  # thread -> the snapshot its last write published


def snapshot_dir(db: Path) -> Path:
    return db.parent / ".snapshots"


def _version_file(db: Path) -> Path:
    return snapshot_dir(db) / f"{db.stem}.version"


def newest_snapshot(db: Path) -> Path | None:
    """The newest published snapshot of `db`, or None before the first publish."""
    try:
        name = _version_file(db).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return snapshot_dir(db) / name if name else None


def snapshot_number(snapshot: Path | None) -> int:
    return int(snapshot.stem.rsplit("-", 1)[1]) if snapshot else 0


def _replace_atomically(target: Path, fill) -> None:
    part = target.with_name(f"{target.name}.part-{os.getpid()}")
    fill(part)
    os.chmod(part, 0o600)
    os.replace(part, target)


def copy_file(source: Path, target: Path) -> None:
    """Copy in another process: DuckDB's lock on the file is a POSIX record lock, which this
    process would lose the moment it closed any descriptor of the file (a writer of another
    process could then open it mid-write and corrupt it). `--reflink=auto` makes the copy
    nearly free on file systems that share blocks (btrfs, xfs)."""
    subprocess.run(["cp", "--reflink=auto", str(source), str(target)], check=True)


def publish(con: duckdb.DuckDBPyConnection, db: Path, catalog: str | None = None) -> Path:
    """CHECKPOINT the warehouse and publish a copy of it as the newest snapshot.

    The caller holds the file for writing (its open read-write connection or attachment), so no
    other process writes while the copy is made. The copy is written under a temporary name and
    renamed (readers see a whole file or none), owner-only; then the version file is swapped the
    same way. Older snapshots are deleted: a dashboard still reading one keeps its open handle.
    """
    con.execute(f"checkpoint {catalog}" if catalog else "checkpoint")
    folder = snapshot_dir(db)
    folder.mkdir(mode=0o700, exist_ok=True)
    current = newest_snapshot(db)
    target = folder / f"{db.stem}-{snapshot_number(current) + 1:08d}.duckdb"
    _replace_atomically(target, lambda part: copy_file(db, part))
    _replace_atomically(_version_file(db), lambda part: part.write_text(target.name, "utf-8"))
    ours = re.compile(re.escape(db.stem) + r"-\d{8}\.duckdb(\.part-\d+|\.wal)?")
    for old in folder.iterdir():
        if old != target and ours.fullmatch(old.name) and old.is_file():
            old.unlink(missing_ok=True)
    _PUBLISHED[threading.get_ident()] = target
    return target


_HELD: dict[int, list] = {}  # thread -> [con, committed since] inside `one_publish`


@contextlib.contextmanager
def one_publish(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Publish the read snapshot once, when the block ends, rather than after each commit in
    it: a command that commits twice (spot-check: the frozen list, then the draw) copies the
    warehouse once. Readers see the snapshot before the block until then, never a state
    between its commits; a block that committed and then failed still publishes."""
    me = threading.get_ident()
    if me in _HELD:  # nested: the outer block publishes
        yield
        return
    _HELD[me] = [con, False]
    try:
        yield
    finally:
        _, committed = _HELD.pop(me)
        if committed:
            _publish_quietly(con, Path(_path_of(con)))


def _publish_quietly(con: duckdb.DuckDBPyConnection, db: Path, catalog: str | None = None) -> None:
    """Publish; a failure (full disk) keeps the committed write and the previous snapshot."""
    try:
        publish(con, db, catalog)
    except (OSError, subprocess.CalledProcessError, duckdb.Error) as exc:
        print(
            f"警告：数据已写入 {db}，但看板的读快照未能更新（{exc}）；下一次写入时会再次发布。",
            file=sys.stderr,
            flush=True,
        )


def published_by_this_thread() -> Path | None:
    """The snapshot the last write of this thread published (a page shows its own write)."""
    return _PUBLISHED.get(threading.get_ident())


def open_snapshot(snapshot: Path, db: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection on a snapshot; writes begun on it go to `db` (see `begin`)."""
    con = _set_memory_limit(duckdb.connect(str(snapshot.resolve()), read_only=True))
    _SNAPSHOT_OF[str(snapshot.resolve())] = db.resolve()
    return con


def _attach_warehouse(con: duckdb.DuckDBPyConnection, db: Path) -> None:
    """Attach the warehouse read-write to a snapshot cursor and make it the default catalog,
    waiting (bounded) while a command holds the file; one page write at a time."""
    home = con.execute("select current_database()").fetchone()[0]
    if not _WRITE_LOCK.acquire(timeout=lock_wait()):
        raise DataError(f"看板的另一写入仍未完成，等待 {lock_wait():.0f} 秒后放弃。")
    try:
        quoted = str(db).replace("'", "''")
        attach = f"attach '{quoted}' as {WAREHOUSE} (read_only false)"
        _retry_locked(lambda: con.execute(attach), db)
        con.execute(f"use {WAREHOUSE}")
    except BaseException:
        _WRITE_LOCK.release()
        raise
    _WRITES[threading.get_ident()] = (con, home, db)


def _retry_locked(step, db: Path) -> None:
    deadline = time.monotonic() + lock_wait()
    pause = 0.05
    while True:
        try:
            step()
            return
        except duckdb.IOException as exc:
            if not _is_lock_conflict(exc):
                raise
            if time.monotonic() >= deadline:
                raise DataError(_lock_message(db, exc)) from exc
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def release_write() -> None:
    """Detach the warehouse this thread attached for a write (rolling back what was not
    committed), so commands can open it again. Safe to call when nothing is attached."""
    write = _WRITES.pop(threading.get_ident(), None)
    if write is None:
        return
    con, home, _db = write
    try:
        for statement in ("rollback", f'use "{home}"', f"detach {WAREHOUSE}"):
            with contextlib.suppress(duckdb.Error):
                con.execute(statement)
    finally:
        _WRITE_LOCK.release()
