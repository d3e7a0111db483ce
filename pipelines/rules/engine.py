"""Run the rule models in `pipelines/sql/` (fct_*, audit_*, mart_*) as one DuckDB statement each.

A model is one `.sql` file holding one query that starts with `with` (dbt style). Its header says
which other models it reads (`-- refs: fct_tasks, fct_cases`) and whether it carries the column
`calendar_gap_year` (`-- checks: calendar_gap_year`): a year the working-day calendar must cover
for the answer to be known. Running a model inlines the models it reads as CTEs (dbt's
"ephemeral" models), so the CLI, the marts and the tests all run the same SQL; `refresh_marts`
materialises them in order instead. Values come from the rule profile, bound as `$name`
parameters — never formatted into SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable
from functools import cache
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.config import Profile
from pipelines.db import sql
from pipelines.errors import CalendarGapError
from pipelines.workcal import ensure_calendar

GAP_COLUMN = "calendar_gap_year"
_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")
_REFS = re.compile(r"^--\s*refs:(.*)$", re.MULTILINE)
_CHECKS = re.compile(r"^--\s*checks:\s*" + GAP_COLUMN + r"\s*$", re.MULTILINE)


def rule_params(profile: Profile) -> dict[str, Any]:
    """Every profile setting the rule models read, under the `$name` the SQL uses."""
    deadlines, strikes, penalty = (
        profile["deadlines"],
        profile["strikes"],
        profile["hospital_penalty"],
    )
    upload, qual, risk = profile["upload"], profile["expert_qualification"], profile["risk"]
    taiyuan = profile.data.get("taiyuan_rules", {})
    return {
        "profile_name": profile.name,
        "accept_hours": int(deadlines["accept_hours"]),
        "complete_workdays": int(deadlines["complete_workdays"]),
        "experts_per_case": int(profile["assign"]["experts_per_case"]),
        "strike_actions": list(strikes["actions"]),
        "strike_after_last": strikes["after_last"],
        "disqualify_at": int(strikes["disqualify_at"]),
        "penalty_num": int(penalty["rate_numerator"]),
        "penalty_den": int(penalty["rate_denominator"]),
        "penalty_min": int(penalty["min_disqualified"]),
        "fee_yuan": int(profile["fee"]["yuan_per_review"]),
        "upload_max_mb": upload["max_size_mb"],
        "pdf_from": dt.date.fromisoformat(upload["pdf_only_discharged_from"]),
        "pdf_format": upload["pdf_format"],
        "instant_workdays": int(profile["benefit"]["instant_within_workdays"]),
        "qual_titles": list(qual["titles"]),
        "qual_classes": list(qual["hospital_classes"]),
        "qual_ownership": list(qual["ownership"]),
        "risk_accept_hours": int(risk["accept_hours_ahead"]),
        "risk_complete_workdays": int(risk["complete_workdays_ahead"]),
        "reapply_max_failures": int(profile["reapply"]["max_failed_submissions"]),
        "ty_enabled": bool(taiyuan.get("enabled", False)),
        "ty_cycle_workdays": taiyuan.get("cycle_workdays"),
    }


@cache
def _text(name: str) -> str:
    """A model's SQL without a trailing semicolon (files are read once per process)."""
    return sql(name).strip().rstrip(";").strip()


def refs(name: str) -> list[str]:
    """The models a model reads, from its `-- refs:` header line."""
    found = _REFS.search(_text(name))
    return [r.strip() for r in found.group(1).split(",") if r.strip()] if found else []


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


def _query(name: str) -> str:
    """The model's query without its leading comment header, starting at `with`."""
    lines = _text(name).splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    body = "\n".join(lines)
    if not body.lower().startswith("with"):
        raise ValueError(f"model {name} must start with a `with` clause")
    return body


def _ctes(models: Iterable[str]) -> list[str]:
    return [f"{m} as (\n{_query(m)}\n)" for m in models]


def compose(name: str, materialised: Collection[str] = ()) -> str:
    """One statement: the models `name` reads as CTEs, then the model's own CTEs and select."""
    upstream = _ctes(closure(name, materialised)[:-1])
    own = _query(name)
    if not upstream:
        return own
    return "with\n" + ",\n".join(upstream) + ",\n" + own[len("with") :].lstrip()


def bind(statement: str, values: dict[str, Any]) -> dict[str, Any]:
    """The parameters a statement uses (DuckDB rejects unused ones); a missing one is a bug."""
    return {p: values[p] for p in sorted(set(_PARAM.findall(statement)))}


def parameters(profile: Profile, as_of: dt.datetime | None, extra: dict[str, Any]) -> dict:
    """The profile's settings, the evaluation time `$as_of` and a model's own extra values."""
    return {**rule_params(profile), "as_of": as_of, **extra}


def check_calendar(
    con: duckdb.DuckDBPyConnection,
    name: str,
    values: dict[str, Any],
    materialised: Collection[str] = (),
) -> None:
    """Raise CalendarGapError when a model the answer depends on needs an uncovered year."""
    ensure_calendar(con)
    models = closure(name, materialised)
    gapped = [m for m in models if _CHECKS.search(_text(m))]
    if not gapped:
        return
    probe = " union all ".join(f"select {GAP_COLUMN} from {m}" for m in gapped)
    statement = "with\n" + ",\n".join(_ctes(models)) + f"\nselect min({GAP_COLUMN}) from ({probe})"
    year = con.execute(statement, bind(statement, values)).fetchone()[0]
    if year is not None:
        raise CalendarGapError(int(year))


def run(
    con: duckdb.DuckDBPyConnection,
    name: str,
    profile: Profile,
    as_of: dt.datetime | None = None,
    **extra: Any,
) -> pa.Table:
    """Run a model (with everything it reads) and return its rows as an Arrow table."""
    values = parameters(profile, as_of, extra)
    check_calendar(con, name, values)
    statement = compose(name)
    return con.execute(statement, bind(statement, values)).to_arrow_table()


def materialise(
    con: duckdb.DuckDBPyConnection,
    name: str,
    values: dict[str, Any],
    materialised: Collection[str],
) -> None:
    """(Re)create table `name` from its model, reading already materialised models as tables."""
    check_calendar(con, name, values, materialised)
    statement = compose(name, materialised)
    con.execute(f"create or replace table {name} as\n{statement}", bind(statement, values))
