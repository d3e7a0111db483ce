"""Ingest platform exports into the warehouse (DATA-REJECT, DATA-IDEMPOTENT).

`python -m pipelines ingest --db PATH DIR` loads `hospitals`, `experts`, `cases`, `tasks` files
(.csv UTF-8/GBK, .xlsx, .parquet) in that order. Each file's rows are typed and checked in SQL;
unusable rows go to `quarantine` with file, line, column and a Chinese + English reason, so that
rows read = rows accepted + rows quarantined for every file. Accepted rows are upserted by key:
a row already stored unchanged adds nothing, a changed row (a later export of the same case or
task) replaces the stored one. Within one ingest, in one file or across its files, rows with
the same key and different content are quarantined (a later row of one file; every row across
files), and the stored row is left as it was. The whole ingest is one transaction: it lands whole or not at all.

The package by job: `discover` (which files, as which table), `typed` (the SQL that types a text
value), `checks` (validation, quarantine, data warnings), `store` (the load: upsert into
`stg_<table>`, `load_log`, the cut-off) and `cli` (the verbs ingest, refresh, quarantine).
"""

from pipelines.ingest.cli import print_reports, register

# the load's modules on first use (PEP 562): the command line imports this package for `register`,
# and every other command would pay for the readers, checks and store it never runs
_LAZY = {
    "CHECK_DIGIT_SQL": "pipelines.ingest.checks",
    "discover": "pipelines.ingest.discover",
    "table_of": "pipelines.ingest.discover",
    "BEIJING": "pipelines.ingest.store",
    "FileReport": "pipelines.ingest.store",
    "ingest": "pipelines.ingest.store",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pipelines.ingest' has no attribute {name!r}")


__all__ = [
    "BEIJING",
    "CHECK_DIGIT_SQL",
    "FileReport",
    "discover",
    "ingest",
    "print_reports",
    "register",
    "table_of",
]
