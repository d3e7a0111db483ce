"""Where a slow stage's time goes: `python -m bench.run --profile` (markdown for RESULTS.md).

- Rule stages (computed from the staging tables, no marts): each model's calendar check
  (`pipelines.rules.engine.calendar_plan`: the cheap date-range test, and the full probe only
  when that cannot rule a gap out) against its main statement, and DuckDB's profile (JSON, like
  EXPLAIN ANALYZE) of the slowest statements: the operators that took the time.
- `refresh_marts`: per mart, the calendar check, the `create table … as` statement and the check
  of the created table's own `calendar_gap_year`.
- Ingest: every SQL statement of `pipelines.ingest.ingest` of the CSV and of the Parquet files,
  timed through a connection wrapper.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from bench.stages import PROFILE, product_connection
from bench.workload import DRAW_SEED, SPOT_RATE, Workload

Con = duckdb.DuckDBPyConnection
STAGE_MODELS = {
    "deadlines": "fct_tasks",
    "strikes": "fct_strikes",
    "penalties": "mart_hospital_penalty",
    "violations": "mart_violations",
    "fees": "mart_fees",
    "archive": "mart_archive",
    "expert-draw": "fct_disqualifications",
}
TOP = 4


def seconds(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def operators(con: Con, fn: Callable[[], Any], top: int = TOP) -> list[tuple[float, str, str]]:
    """The slowest operators of the last statement fn runs: (seconds, operator, detail)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as fh:
        con.execute("pragma enable_profiling = 'json'")
        con.execute(f"pragma profiling_output = '{fh.name}'")
        try:
            fn()
        finally:
            con.execute("pragma disable_profiling")
        tree = json.loads(Path(fh.name).read_text(encoding="utf-8") or "{}")
    found: list[tuple[float, str, str]] = []

    def walk(node: dict[str, Any]) -> None:
        extra = node.get("extra_info") or {}
        detail = next(
            (
                str(extra[k])
                for k in ("Conditions", "Condition", "Table", "Projections")
                if k in extra
            ),
            "",
        )
        rows = node.get("operator_cardinality")
        name = node.get("operator_name") or node.get("operator_type") or "?"
        found.append(
            (float(node.get("operator_timing") or 0), name.strip(), f"{rows} rows; {detail}")
        )
        for child in node.get("children", []):
            walk(child)

    for child in tree.get("children", []):
        walk(child)
    return sorted(found, reverse=True)[:top]


class EagerConnection:
    """Fetches every result at once, so each statement ends (and is profiled) inside execute."""

    def __init__(self, con: Con) -> None:
        self._con = con

    def execute(self, query: str, *args: Any) -> EagerResult:
        return EagerResult(self._con.execute(query, *args).fetchall())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


class EagerResult:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


def _ops_md(ops: list[tuple[float, str, str]]) -> str:
    return "; ".join(f"{name} {t:.2f} s ({detail[:90]})" for t, name, detail in ops)


def rule_stages(con: Con, w: Workload) -> str:
    """Per rule stage: calendar check vs main statement, and the top operators of both."""
    from pipelines.config import load_profile
    from pipelines.rules.engine import bind, calendar_plan, compose, parameters

    profile = load_profile(PROFILE)
    values = parameters(profile, w.as_of, {"year_from": w.year, "year_to": w.year})
    lines = [
        "| stage | model | calendar check | main statement | top operators (main) | "
        "top operators (check) |",
        "|---|---|---:|---:|---|---|",
    ]
    eager: Any = EagerConnection(con)
    for stage, model in STAGE_MODELS.items():
        statement = compose(model)
        params = bind(statement, values)
        check_s = seconds(lambda m=model: calendar_plan(con, m, values))
        main_s = seconds(lambda s=statement, p=params: con.execute(s, p).to_arrow_table())
        main_ops = operators(con, lambda s=statement, p=params: con.execute(s, p).fetchall())
        check_ops = operators(con, lambda m=model: calendar_plan(eager, m, values))
        lines.append(
            f"| {stage} | {model} | {check_s:.2f} s | {main_s:.2f} s | {_ops_md(main_ops)} | "
            f"{_ops_md(check_ops)} |"
        )
    return "\n".join(lines)


def draws(con: Con, w: Workload) -> str:
    """The spot check and the expert draw split into their steps."""
    from pipelines.config import load_profile
    from pipelines.draws import draw, freeze_spot_check
    from pipelines.draws.spotcheck import approved_cases
    from pipelines.rules import expert_disqualifications

    profile = load_profile(PROFILE)
    date_from, date_to = w.quarter
    population = seconds(lambda: approved_cases(con, date_from, date_to))
    frozen: list[Any] = []
    freeze = seconds(
        lambda: frozen.append(freeze_spot_check(con, date_from, date_to, SPOT_RATE, profile))
    )
    drawn = seconds(lambda: draw(con, frozen[0], DRAW_SEED, operator="bench"))
    dq = seconds(lambda: expert_disqualifications(con, w.as_of, profile))
    return (
        f"- spot-check: population query {population:.2f} s; freeze (population query, ids "
        f"sorted, digest, population JSON of {frozen[0].size:,} cases, draw_log append) "
        f"{freeze:.2f} s; draw (ranking in SQL, log append) {drawn:.2f} s.\n"
        f"- expert-draw: `expert_disqualifications` (every strike of every expert) {dq:.2f} s."
    )


def marts(con: Con, w: Workload) -> str:
    """refresh_marts step by step: each mart's calendar check and its create statement."""
    from pipelines.config import load_profile
    from pipelines.errors import CalendarGapError
    from pipelines.rules.engine import (
        GAP_COLUMN,
        REFRESH_EXTRA,
        bind,
        calendar_plan,
        compose,
        mart_state,
        parameters,
    )
    from pipelines.rules.marts import MARTS, VIEWS, _view

    profile = load_profile(PROFILE)
    values = parameters(profile, w.as_of, dict(REFRESH_EXTRA))
    values.update(mart_state(con, profile))
    done: list[str] = []
    rows: list[tuple[str, float, float, float, str]] = []
    for name in MARTS:
        values["marts"] = list(done)
        if name in VIEWS:  # a view over another mart, as the refresh makes it
            _view(con, name, values, done)
            done.append(name)
            continue
        try:
            check_own: list[bool] = []
            check_s = seconds(
                lambda n=name, o=check_own: o.append(calendar_plan(con, n, values, done))
            )
        except CalendarGapError:
            continue
        statement = compose(name, done, ordered=False)
        create = f"create or replace table {name} as\n{statement}"
        params = bind(statement, values)
        t0 = time.perf_counter()
        ops = operators(con, lambda c=create, p=params: con.execute(c, p))
        create_s = time.perf_counter() - t0
        own_s = 0.0
        if check_own[0]:
            gap = f"select min({GAP_COLUMN}) from {name}"
            own_s = seconds(lambda q=gap: con.execute(q).fetchone())
        done.append(name)
        rows.append((name, check_s, create_s, own_s, _ops_md(ops[:3])))
    total = sum(r[1] + r[2] + r[3] for r in rows)
    lines = [
        f"Total {total:.2f} s (profiling on).",
        "",
        "| mart | calendar check | create | own gap check | top operators (create) |",
        "|---|---:|---:|---:|---|",
    ]
    lines += [f"| {n} | {c:.2f} s | {m:.2f} s | {g:.2f} s | {o} |" for n, c, m, g, o in rows]
    return "\n".join(lines)


class TimedConnection:
    """A DuckDB connection that times every `execute` (for the ingest's statements)."""

    def __init__(self, con: Con) -> None:
        self._con = con
        self.log: list[tuple[float, str]] = []

    def execute(self, query: str, *args: Any) -> Con:
        t0 = time.perf_counter()
        out = self._con.execute(query, *args)
        self.log.append((time.perf_counter() - t0, " ".join(query.split())))
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def ingest(data: Path, scratch: Path) -> str:
    """The ingest's statements by time, on a fresh warehouse from one folder of files."""
    from pipelines.ingest import ingest as run_ingest

    db = scratch / "profile-ingest.duckdb"
    db.unlink(missing_ok=True)
    con = product_connection(str(db))
    timed = TimedConnection(con)
    t0 = time.perf_counter()
    run_ingest(timed, [data], loaded_by="bench", log=lambda _m: None)  # type: ignore[arg-type]
    total = time.perf_counter() - t0
    con.close()
    db.unlink(missing_ok=True)
    in_sql = sum(t for t, _ in timed.log)
    lines = [
        f"Total {total:.2f} s, of which {in_sql:.2f} s in {len(timed.log)} SQL statements "
        f"(the rest: encoding check and Python).",
        "",
        "| seconds | statement |",
        "|---:|---|",
    ]
    lines += [f"| {t:.2f} | `{q[:120]}…` |" for t, q in sorted(timed.log, reverse=True)[:10]]
    return "\n".join(lines)


def report(w: Workload, db: Path, data: Path, scratch: Path) -> str:
    """The whole profile of a workload as markdown; data holds csv/ and parquet/ folders."""
    scratch.mkdir(parents=True, exist_ok=True)
    copy = scratch / "profile.duckdb"
    shutil.copyfile(db, copy)
    con = product_connection(str(copy))
    parts = [
        f"#### Profile: {w.name} ({dt.datetime.now():%Y-%m-%d %H:%M})",
        "",
        "Rule stages — calendar check vs main statement (seconds, single runs):",
        "",
        rule_stages(con, w),
        "",
        "Draws:",
        "",
        draws(con, w),
        "",
        "refresh_marts, mart by mart:",
        "",
        marts(con, w),
        "",
    ]
    con.close()
    copy.unlink(missing_ok=True)
    for fmt in ("csv", "parquet"):
        parts += [f"Ingest ({fmt}), statement by statement:", "", ingest(data / fmt, scratch), ""]
    return "\n".join(parts)
