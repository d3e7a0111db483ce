"""The disease catalogue (病种目录) shipped in data/reference/diseases.csv."""

from __future__ import annotations

import csv
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
    """Replace the reference tables with the shipped catalogue and its aliases."""
    rows = read_catalogue()
    con.execute("delete from ref_diseases")
    con.execute("delete from ref_disease_aliases")
    con.executemany(
        "insert into ref_diseases values (?, ?, ?, ?)",
        [(r["disease_name"], int(r["row_no"]), r["specialty"], r["settlement"]) for r in rows],
    )
    aliases: dict[str, str] = {}
    for r in rows:
        names = [r["disease_name"], *[a for a in (r.get("aliases") or "").split(";") if a]]
        for n in names:
            aliases[fold(n)] = r["disease_name"]
    con.executemany("insert into ref_disease_aliases values (?, ?)", list(aliases.items()))


def specialties() -> list[str]:
    return sorted({r["specialty"] for r in read_catalogue()})
