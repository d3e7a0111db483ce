"""The rule models' graph (see `pipelines.rules.engine`): a model's header lines (`refs`,
`checks`, `reach`, `latest`), the closure of models it reads, and one composed statement.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from functools import cache
from typing import Any

from pipelines.db import sql

GAP_COLUMN = "calendar_gap_year"
_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")
_REFS = re.compile(r"^--\s*refs:(.*)$", re.MULTILINE)
_CHECKS = re.compile(r"^--\s*checks:\s*" + GAP_COLUMN + r"\s*$", re.MULTILINE)
_REACH = re.compile(
    r"^--\s*reach:\s*([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\s*\+\s*\$([a-z_][a-z0-9_]*)\s*$",
    re.MULTILINE,
)
_LATEST = re.compile(r"^--\s*latest:\s*([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
_FINAL = "\nselect * from final"
MODEL_PREFIXES = ("fct_", "audit_", "mart_")


@cache
def _text(name: str) -> str:
    """A model's SQL without a trailing semicolon (files are read once per process)."""
    return sql(name).strip().rstrip(";").strip()


def refs(name: str) -> list[str]:
    """The models a model reads, from its `-- refs:` header line."""
    found = _REFS.search(_text(name))
    return [r.strip() for r in found.group(1).split(",") if r.strip()] if found else []


def checks_calendar(name: str) -> bool:
    """Whether the model carries `calendar_gap_year` (`-- checks: calendar_gap_year`)."""
    return bool(_CHECKS.search(_text(name)))


def reaches(name: str) -> list[tuple[str, str, str]]:
    """(table, column, parameter) of each `-- reach:` line: the calendar days the model needs."""
    return _REACH.findall(_text(name))


def latest(name: str) -> tuple[str, str] | None:
    """(table, column) of the model's `-- latest:` line, if it has one."""
    found = _LATEST.search(_text(name))
    return (found.group(1), found.group(2)) if found else None


def closure(name: str, materialised: Collection[str] = ()) -> list[str]:
    """The model and everything it reads, upstream first; materialised models are not entered."""
    order: list[str] = []

    def visit(model: str) -> None:
        if model in order or model in materialised:
            return
        for upstream in refs(model):
            visit(upstream)
        order.append(model)

    visit(name)
    return order


@cache
def _parts(name: str) -> tuple[str, str]:
    """The model's query from `with` to `select * from final`, and its trailing `order by`."""
    lines = _text(name).splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    body = "\n".join(lines)
    if not body.lower().startswith("with"):
        raise ValueError(f"model {name} must start with a `with` clause")
    head, final, tail = body.rpartition(_FINAL)
    tail = tail.strip()
    if not final or (tail and not tail.lower().startswith("order by")):
        raise ValueError(f"model {name} must end with `select * from final` [order by …]")
    return head + final, tail


def order_by(name: str) -> str:
    """The `order by …` of the model's user-facing result ('' when it has none)."""
    return _parts(name)[1]


def _ctes(models: Iterable[str], replaced: Mapping[str, str] | None = None) -> list[str]:
    bodies = replaced or {}
    return [f"{m} as (\n{bodies.get(m) or _parts(m)[0]}\n)" for m in models]


def compose(
    name: str,
    materialised: Collection[str] = (),
    ordered: bool = True,
    replaced: Mapping[str, str] | None = None,
) -> str:
    """One statement: the models `name` reads as CTEs, then the model's own CTEs and select.

    Upstream models are inlined without their `order by`; the model's own is kept when
    `ordered` (a result handed to a caller), dropped otherwise (a table to materialise).
    `replaced` gives some upstream models another CTE body (`pipelines.rules.incremental`).
    """
    upstream = _ctes(closure(name, materialised)[:-1], replaced)
    query, order = _parts(name)
    own = f"{query}\n{order}" if ordered and order else query
    if not upstream:
        return own
    return "with\n" + ",\n".join(upstream) + ",\n" + own[len("with") :].lstrip()


def bind(statement: str, values: dict[str, Any]) -> dict[str, Any]:
    """The parameters a statement uses (DuckDB rejects unused ones); a missing one is a bug."""
    return {p: values[p] for p in sorted(set(_PARAM.findall(statement)))}


@cache
def uses_eval_at(name: str) -> bool:
    """Whether the model (or one it reads) depends on `$eval_at` besides `$as_of`."""
    return "eval_at" in _PARAM.findall(compose(name))
