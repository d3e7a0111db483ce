"""spot-check commits twice (the frozen list, then the draw) but publishes the dashboard's read
snapshot once (`db.one_publish`): one copy of the warehouse, holding both records."""

from __future__ import annotations

import duckdb
import pytest
from test_draw_support import run_cli, spot_check_world

from pipelines import db as wh


def test_spot_check_publishes_one_snapshot_with_both_records(con, db_path, tmp_path, capsys):
    spot_check_world(con)
    wh.publish(con, db_path)  # a dashboard reads this warehouse
    con.close()
    before = wh.snapshot_number(wh.newest_snapshot(db_path))
    argv = ["spot-check", "--db", str(db_path), "--from", "2026-05-01", "--to", "2026-05-31"]
    code, stdout, err = run_cli([*argv, "--seed", "7", "--out", str(tmp_path / "s.csv")], capsys)
    assert code == 0, err
    snapshot = wh.newest_snapshot(db_path)
    assert wh.snapshot_number(snapshot) == before + 1
    with duckdb.connect(str(snapshot), read_only=True) as snap:
        kinds = snap.execute("select kind from draw_log order by record_no").fetchall()
    assert kinds == [("population_frozen",), ("spot_check",)]
    assert stdout.strip().startswith("SC-")


def test_a_failing_block_that_committed_still_publishes(con, db_path):
    wh.publish(con, db_path)
    before = wh.snapshot_number(wh.newest_snapshot(db_path))
    with pytest.raises(RuntimeError), wh.one_publish(con):
        wh.begin(con)
        con.execute("create table kept (a integer)")
        wh.commit(con)
        assert wh.snapshot_number(wh.newest_snapshot(db_path)) == before  # not yet
        raise RuntimeError("after the commit")
    snapshot = wh.newest_snapshot(db_path)
    assert wh.snapshot_number(snapshot) == before + 1
    with duckdb.connect(str(snapshot), read_only=True) as snap:
        assert snap.execute("select count(*) from kept").fetchone() == (0,)
