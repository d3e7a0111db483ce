"""Audit trail of downloads: who downloaded what, when, and how many rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from pipelines.db import begin, commit, release_write

if TYPE_CHECKING:  # pandas imported where used: a command that needs none loads none
    import pandas as pd

DDL = """
create table if not exists download_log (
    downloaded_at timestamp default current_timestamp,
    username varchar,
    role varchar,
    what varchar,
    file_name varchar,
    rows bigint,
    personal_data varchar      -- 'full' / 'masked' / 'none'
)
"""


def log_download(
    con: duckdb.DuckDBPyConnection,
    username: str,
    role: str,
    what: str,
    file_name: str,
    rows: int,
    personal_data: str,
) -> None:
    begin(con)  # refused when the file was replaced; from the dashboard, into the warehouse
    try:
        con.execute(DDL)
        con.execute(
            "insert into download_log (username, role, what, file_name, rows, personal_data) "
            "values (?, ?, ?, ?, ?, ?)",
            [username, role, what, file_name, rows, personal_data],
        )
        commit(con)
    except BaseException:
        con.execute("rollback")
        release_write()  # a page's write: let go of the warehouse at once
        raise


def downloads(con: duckdb.DuckDBPyConnection, username: str | None = None) -> pd.DataFrame:
    """The download log, newest first: everyone's (username None) or one user's; empty when
    nothing was ever downloaded."""
    import pandas as pd

    columns = "downloaded_at, username, role, what, file_name, rows, personal_data"
    found = con.execute(
        "select count(*) from information_schema.tables where table_name = 'download_log'"
    ).fetchone()[0]
    if not found:
        return pd.DataFrame(columns=columns.split(", "))
    return con.execute(
        f"select {columns} from download_log where ? is null or username = ? "
        "order by downloaded_at desc",
        [username, username],
    ).df()
