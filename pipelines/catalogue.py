"""The disease catalogue (病种目录) shipped in data/reference/diseases.csv."""

from __future__ import annotations

import csv
import hashlib
import unicodedata

import duckdb

from pipelines.config import REFERENCE_DIR

CATALOGUE = REFERENCE_DIR / "diseases.csv"


def fold(name: str) -> str:
    """Matching key of a disease name: NFKC-folded, without spaces."""
    return "".join(unicodedata.normalize("NFKC", name).split())


def read_catalogue() -> list[dict[str, str]]:
    with CATALOGUE.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def load_catalogue(con: duckdb.DuckDBPyConnection) -> None:
    """Replace the reference tables with the shipped catalogue and its aliases.

    Only when the catalogue file changed since the last time (a fingerprint is kept in
    `ref_meta`): opening the warehouse then writes nothing.
    """
    fingerprint = hashlib.sha256(CATALOGUE.read_bytes()).hexdigest()
    con.execute("create table if not exists ref_meta (name varchar, fingerprint varchar)")
    kept = con.execute("select fingerprint from ref_meta where name = 'diseases'").fetchone()
    has_rows = con.execute("select count(*) from ref_diseases").fetchone()[0] > 0
    if kept and kept[0] == fingerprint and has_rows:
        return
    from pipelines.rules.graph import insert_values  # literals: no pandas (no bound parameter)

    rows = read_catalogue()
    con.execute("delete from ref_meta where name = 'diseases'")
    insert_values(con, "ref_meta", [("diseases", fingerprint)])
    con.execute("delete from ref_diseases")
    con.execute("delete from ref_disease_aliases")
    insert_values(
        con,
        "ref_diseases",
        [(r["disease_name"], int(r["row_no"]), r["specialty"], r["settlement"]) for r in rows],
    )
    aliases: dict[str, str] = {}
    for r in rows:
        names = [r["disease_name"], *[a for a in (r.get("aliases") or "").split(";") if a]]
        for n in names:
            aliases[fold(n)] = r["disease_name"]
    insert_values(con, "ref_disease_aliases", list(aliases.items()))


def specialties() -> list[str]:
    return sorted({r["specialty"] for r in read_catalogue()})
