"""Reuse a materialised model's settled rows at another evaluation time (issue 13).

A model with one row per row of a staging table can say so in three header lines:

    -- keyed: stg_tasks(task_id, case_id, expert_id, pushed_at, responded_at, response, ...)
    -- present: pushed_at <= $as_of
    -- settled: responded_at <= $as_of
    --     and (completed_at <= $as_of or completed_at is null and not is_accepted_on_time)

`keyed`: each row of the model belongs to one row of that table (by the first column, its key);
the model reads the table row by row and only the columns listed, and passes them through as they
were at `$as_of` (later events nulled) — so computing it over some of the table's rows gives
exactly those rows' answers, and a stored row is as good a source as the staging row for any
earlier evaluation time. `present`: which rows exist at `$as_of`. `settled`: a present row whose
every event lies at or before `$as_of`, so that the row is the same at every later evaluation
time (over the model's own output columns; null counts as not settled).

When the table was materialised at a time Y (`mart_meta`, same data, rules and calendar) and a
command asks for X <= Y, the rows present and settled at X are read from the table; only the
others (present at X, not settled: tasks still open, a few percent) are computed from the
staging table — dbt's incremental model with a `unique_key`, turned around to answer an earlier
time from a later materialisation.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import cache

from pipelines.rules.graph import _parts, _text

_KEYED = re.compile(r"^--\s*keyed:\s*([a-z_][a-z0-9_]*)\(([a-z0-9_,\s]+)\)\s*$", re.MULTILINE)
_PRESENT = re.compile(r"^--\s*present:\s*(.+?)\s*$", re.MULTILINE)
_SETTLED = re.compile(r"^--\s*settled:\s*(.+?)\s*$", re.MULTILINE)
_GO_ON = re.compile(r"\s*\n--\s{4,}")  # a header line goes on over lines indented `--     …`


@cache
def keyed(name: str) -> tuple[str, list[str], str, str] | None:
    """(table, columns read (key first), present, settled) of a model with all three header
    lines, else None."""
    text = _GO_ON.sub(" ", _text(name))
    found = _KEYED.search(text), _PRESENT.search(text), _SETTLED.search(text)
    if not all(found):
        return None
    table, columns = found[0].group(1), [c.strip() for c in found[0].group(2).split(",")]
    present = found[1].group(1)
    settled = found[2].group(1)
    return table, columns, present, settled


def reuse_body(name: str) -> str:
    """The model's CTE body answering at `$as_of` from its table materialised at a later time:
    the settled rows as stored, the other present rows computed again from what they carry."""
    table, columns, present, settled = keyed(name)
    query = _parts(name)[0]
    stored = f"main.{name}"
    is_settled = f"coalesce({settled}, false)"
    return (
        f"select * from {stored} where ({present}) and {is_settled}\n"
        f"union all\n(\nwith {table} as (\n"
        f"    select {', '.join(columns)} from {stored}\n"
        f"    where ({present}) and not {is_settled}\n"
        f"),\n{query[len('with') :].lstrip()}\n)"
    )


def reuse_bodies(models: Collection[str]) -> dict[str, str]:
    """Each model's CTE body reading its settled rows (see `reuse_body`)."""
    return {m: reuse_body(m) for m in models}
