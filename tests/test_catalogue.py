"""The disease catalogue is loaded into the warehouse when the shipped file changes, not on
every connect (a connect that changes nothing writes nothing)."""

from __future__ import annotations

import shutil

from pipelines import catalogue
from pipelines.db import connect


def _names(c) -> list[str]:
    return [
        r[0] for r in c.execute("select disease_name from ref_diseases order by row_no").fetchall()
    ]


def test_the_catalogue_is_reloaded_only_when_its_file_changes(tmp_path, monkeypatch):
    copy = tmp_path / "diseases.csv"
    shutil.copy(catalogue.CATALOGUE, copy)
    monkeypatch.setattr(catalogue, "CATALOGUE", copy)
    db = tmp_path / "w.duckdb"
    c = connect(db)
    shipped = _names(c)
    assert len(shipped) == 46
    # a hand edit of the table survives a reconnect: the unchanged file is not loaded again
    c.execute("update ref_diseases set specialty = 'X' where row_no = 1")
    c.close()
    c = connect(db)
    assert c.execute("select specialty from ref_diseases where row_no = 1").fetchone()[0] == "X"
    c.close()
    # a changed file is loaded at the next connect
    text = copy.read_text(encoding="utf-8-sig")
    copy.write_text(text.replace(shipped[0], shipped[0] + "（新）", 1), encoding="utf-8")
    c = connect(db)
    assert _names(c)[0] == shipped[0] + "（新）"
    assert c.execute("select specialty from ref_diseases where row_no = 1").fetchone()[0] != "X"
    assert (
        c.execute(
            "select disease_name from ref_disease_aliases where alias_key = ?",
            [catalogue.fold(shipped[0] + "（新）")],
        ).fetchone()[0]
        == shipped[0] + "（新）"
    )
    c.close()
