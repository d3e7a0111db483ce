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

from pipelines.ingest.checks import CHECK_DIGIT_SQL
from pipelines.ingest.cli import print_reports, register
from pipelines.ingest.discover import discover, table_of
from pipelines.ingest.store import BEIJING, FileReport, ingest

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
