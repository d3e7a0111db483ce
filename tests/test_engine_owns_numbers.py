"""Issue 14 item 1: the pages only show — no SQL text in dashboard/ names a staging (`stg_`), fact
(`fct_`) or audit (`audit_`) table; pages read marts, dimensions and pipelines functions.

Every string literal of every module (f-string parts too) is searched, so a table name in a
query, in require_marts(...) or in a dict key all count; a file name such as `audit_log.py` (a
page) does not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE = re.compile(r"\b(?:stg|fct|audit)_[a-z0-9_]+\b(?!\.py)")


def table_names(source: str) -> list[tuple[int, str]]:
    """(line, name) of each stg_/fct_/audit_ table named in a string literal of `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [(node.lineno, m) for m in TABLE.findall(node.value)]
    return sorted(found)


def dashboard_files() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "dashboard").rglob("*.py"))


def test_the_search_finds_a_table_in_a_query_and_an_fstring():
    source = 'q = f"select * from {x} join fct_tasks as t"\nr = "from stg_cases"\n'
    assert table_names(source) == [(1, "fct_tasks"), (2, "stg_cases")]
    assert table_names('page = "audit_log.py"\nt = "mart_tasks, dim_hospitals"\n') == []


@pytest.mark.parametrize("path", dashboard_files())
def test_no_page_sql_names_a_staging_fact_or_audit_table(path):
    hits = table_names((ROOT / path).read_text(encoding="utf-8"))
    assert not hits, f"{path}: " + "；".join(f"第{line}行 {name}" for line, name in hits)
