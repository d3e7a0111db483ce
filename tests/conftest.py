"""Shared fixtures: a fresh warehouse with schema, catalogue and calendar, plus row builders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines.db import connect
from pipelines.ingest_spec import SPECS

TABLE_COLUMNS = {spec.stg: [c.name for c in spec.columns] for spec in SPECS.values()}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def con(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A real DuckDB file with the schema, catalogue and working-day calendar."""
    c = connect(db_path)
    yield c
    c.close()


def put(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    """Insert hand-written rows into a staging table (missing columns are null)."""
    cols = TABLE_COLUMNS[table]
    for r in rows:
        unknown = set(r) - set(cols)
        assert not unknown, f"unknown columns for {table}: {unknown}"
        con.execute(
            f"insert into {table} ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
            [r.get(c) for c in cols],
        )


@pytest.fixture(scope="session")
def users_file(tmp_path_factory) -> Path:
    """A users file with the documented demo accounts (bcrypt hashes)."""
    from pipelines.users import ensure_demo

    f = tmp_path_factory.mktemp("users") / "users.json"
    ensure_demo(f)
    return f


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never a browser Playwright downloads)."""
    from playwright.sync_api import sync_playwright

    from browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
