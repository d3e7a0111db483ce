"""Bad input loses nothing, no door left open (issue 15): upload names, file modes, a database
file deleted under an open connection, read commands on a read-only copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from dashboard.uploads import safe_name, save_uploads
from pipelines import cli, sessions
from pipelines.audit import log_download
from pipelines.db import connect, file_problem, loose_modes
from pipelines.errors import DataError, UsageError
from pipelines.users import User, ensure_demo
from sample_generator import generate

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-20 23:59:59"


class Upload:
    def __init__(self, name: str, data: bytes = b"x") -> None:
        self.name, self.data = name, data

    def getvalue(self) -> bytes:
        return self.data


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("../../x.csv", "x.csv"),
        ("/etc/cron.d/cases.csv", "cases.csv"),
        ("..\\..\\Windows\\tasks.xlsx", "tasks.xlsx"),
        ("cases 2026.csv", "cases 2026.csv"),
    ],
)
def test_upload_names_are_cut_to_their_base_name(name, base):
    assert safe_name(name) == base


@pytest.mark.parametrize("name", ["", ".", "..", "a/..", "x/", "/", "../.", "a\0.csv"])
def test_upload_names_with_nothing_left_are_refused(name):
    with pytest.raises(UsageError, match="上传文件名无效"):
        safe_name(name)


def test_uploads_land_inside_their_folder_and_same_names_are_refused(tmp_path):
    folder = tmp_path / "private"
    folder.mkdir()
    paths = save_uploads([Upload("../../cases.csv", b"a"), Upload("/tmp/tasks.csv", b"b")], folder)
    assert paths == [folder / "cases.csv", folder / "tasks.csv"]
    assert [p.read_bytes() for p in paths] == [b"a", b"b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["private"]
    with pytest.raises(UsageError, match="两个同名文件 x.csv"):
        save_uploads([Upload("a/x.csv", b"1"), Upload("b/x.csv", b"2")], tmp_path / "other")
    assert not (tmp_path / "other").exists()  # nothing written when one name is refused


def _mode(p: Path) -> int:
    return p.stat().st_mode & 0o777


def test_a_new_warehouse_is_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        db = tmp_path / "data" / "warehouse.duckdb"
        con = connect(db)
        con.execute("set memory_limit = '30MB'")
        con.execute("set preserve_insertion_order = false")
        # a sort bigger than the memory cap spills into <db>.tmp
        con.execute("create table big as select range as i, random() as r from range(3000000)")
        con.execute("select * from big order by r").fetchall()
        spill = Path(con.execute("select current_setting('temp_directory')").fetchone()[0])
        assert spill == db.with_name("warehouse.duckdb.tmp")
        assert spill.is_dir() and _mode(spill) == 0o700
        assert (_mode(db.parent), _mode(db)) == (0o700, 0o600)
        wal = db.with_name("warehouse.duckdb.wal")
        assert wal.exists() and _mode(wal) == 0o600
        con.close()
    finally:
        os.umask(old)


def test_loose_modes_are_named_at_start(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sessions.users_mod, "USERS_FILE", tmp_path / "users.json")
    db = tmp_path / "w.duckdb"
    connect(db).close()
    assert loose_modes(db) == []
    db.chmod(0o644)
    connect(db).close()
    err = capsys.readouterr().err
    assert f"警告：{db} 的权限为 0644" in err and f"chmod 600 {db}" in err
    assert loose_modes(db) == [
        f"警告：{db} 的权限为 0644，本机其他用户可读取其中的个人信息；请执行 chmod 600 {db}"
    ]


def test_a_data_folder_others_may_only_pass_through_is_not_named(tmp_path, monkeypatch):
    monkeypatch.setattr(sessions.users_mod, "USERS_FILE", tmp_path / "data" / "users.json")
    db = tmp_path / "data" / "w.duckdb"
    connect(db).close()
    db.parent.chmod(0o711)  # make run's: not listable, reference files readable by path
    assert loose_modes(db) == []
    db.parent.chmod(0o755)
    assert loose_modes(db) == [
        f"警告：{db.parent} 的权限为 0755，本机其他用户可读取其中的个人信息；"
        f"请执行 chmod 711 {db.parent}"
    ]


def test_revoked_sessions_file_is_owner_only(tmp_path):
    users = tmp_path / "users.json"
    ensure_demo(users)
    rec = sessions.users_mod._read(users)["demo"]
    token = sessions.issue(User(**rec), 60, users_path=users)
    old = os.umask(0o022)
    try:
        sessions.revoke(token, users_path=users)
    finally:
        os.umask(old)
    assert _mode(tmp_path / ".sessions_revoked") == 0o600


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exports")
    generate(cases=100, seed=3, out=out)
    return out


def test_writes_refused_when_the_file_was_deleted(tmp_path, exports):
    from pipelines.ingest import ingest

    db = tmp_path / "w.duckdb"
    con = connect(db)
    assert file_problem(db) is None
    db.unlink()
    db.with_name("w.duckdb.wal").unlink(missing_ok=True)
    assert "在打开后已被删除" in file_problem(db)
    with pytest.raises(DataError, match=f"数据库文件 {db} 在打开后已被删除.*拒绝写入"):
        ingest(con, [exports], loaded_by="t")
    with pytest.raises(DataError, match="已被删除"):
        log_download(con, "demo", "市级管理员", "x", "x.csv", 1, "none")
    con.close()
    assert not db.exists()


def test_writes_refused_when_the_file_was_replaced(tmp_path):
    db = tmp_path / "w.duckdb"
    con = connect(db)
    db.rename(tmp_path / "moved.duckdb")
    db.write_bytes(b"")  # another file now has the name
    with pytest.raises(DataError, match="已被替换为另一个文件"):
        log_download(con, "demo", "市级管理员", "x", "x.csv", 1, "none")
    con.close()


def test_cli_ingest_says_why_when_the_file_goes_during_the_load(
    tmp_path, exports, monkeypatch, capsys
):
    import pipelines.ingest.store as ingest_store

    db = tmp_path / "w.duckdb"
    read = ingest_store.read_file

    def read_then_delete(*args, **kwargs):
        db.unlink(missing_ok=True)  # `make clean-demo` while the load runs
        return read(*args, **kwargs)

    monkeypatch.setattr(ingest_store, "read_file", read_then_delete)
    assert cli.main(["ingest", "--db", str(db), "--as-of", AS_OF, str(exports)]) == 1
    assert f"数据库文件 {db} 在打开后已被删除" in capsys.readouterr().err
    assert not db.exists()


def _as_nobody(cmd: list[str]) -> list[str]:
    """Root ignores file modes: run the command as `nobody` so that 0444 / 0555 mean it."""
    if os.geteuid() != 0:
        return cmd
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]


def test_read_commands_work_on_a_read_only_copy(tmp_path, exports):
    db = tmp_path / "w.duckdb"
    assert cli.main(["ingest", "--db", str(db), "--as-of", AS_OF, str(exports)]) == 0
    with tempfile.TemporaryDirectory() as top:
        top = Path(top)
        top.chmod(0o755)
        ro, out = top / "ro", top / "out"
        ro.mkdir()
        out.mkdir(mode=0o777)
        out.chmod(0o777)
        shutil.copy(db, ro / "w.duckdb")
        (ro / "w.duckdb").chmod(0o444)
        ro.chmod(0o555)
        for verb in ("violations", "quarantine"):
            cmd = [sys.executable, "-m", "pipelines", verb, "--db", str(ro / "w.duckdb")]
            cmd += ["--out", str(out / f"{verb}.csv")]
            if verb == "violations":
                cmd += ["--as-of", AS_OF]
            run = subprocess.run(_as_nobody(cmd), cwd=ROOT, capture_output=True, text=True)
            assert run.returncode == 0, run.stderr
            assert (
                (out / f"{verb}.csv")
                .read_text(encoding="utf-8-sig")
                .startswith("rule_id" if verb == "violations" else "file_name")
            )
        assert sorted(p.name for p in ro.iterdir()) == ["w.duckdb"]  # nothing written beside it
