"""DATA-CUTOFF: the warehouse's data cut-off and the evaluation time rules are judged at.

An export shows what the platform knew when it was taken. Every load records its cut-off
(`load_log.data_cutoff`: given with the load, else its latest event time); the warehouse's cut-off
is the latest of them. The default evaluation time is that cut-off, never the machine clock, and
facts are judged at `min(evaluation time, cut-off)` (`facts_at`): no deadline after the cut-off
can be missed, because the export cannot show whether it was.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb

from pipelines.ingest_spec import SPECS

STALE_DAYS = 2  # a cut-off more than this many calendar days before today is a stale export


def _derived_sql() -> str:
    """Warehouses loaded before cut-offs were recorded: the latest event time (every `time`
    column of every input file, Taiyuan's panel opinions and re-certifications included)."""
    tops = []
    for spec in SPECS.values():
        cols = [f"max({c.name})" for c in spec.columns if c.kind == "time"]
        if cols:
            tops.append(f"(select greatest({', '.join(cols)}) from {spec.stg})")
    return f"select greatest({', '.join(tops)})"


@dataclasses.dataclass(frozen=True)
class EvalTime:
    """The evaluation time asked for and the warehouse's cut-off (None: nothing loaded)."""

    eval_at: dt.datetime
    cutoff: dt.datetime | None

    @property
    def facts_at(self) -> dt.datetime:
        """The instant facts are judged at: the evaluation time, never after the cut-off."""
        if self.cutoff is not None and self.eval_at > self.cutoff:
            return self.cutoff
        return self.eval_at

    @property
    def beyond_cutoff(self) -> bool:
        return self.cutoff is not None and self.eval_at > self.cutoff

    def note(self) -> str | None:
        """What to say when the evaluation time lies after the cut-off (stderr, pages)."""
        if not self.beyond_cutoff:
            return None
        return (
            f"评估时间 {self.eval_at:%Y-%m-%d %H:%M:%S} 晚于数据截止时间 "
            f"{self.cutoff:%Y-%m-%d %H:%M:%S}：规则结果按数据截止时间计算，"
            "截止时间之后到期的任务列为「待核实」。"
        )

    def stale_days(self, today: dt.date | None = None) -> int | None:
        """Calendar days between the cut-off and today when more than STALE_DAYS, else None."""
        if self.cutoff is None:
            return None
        days = ((today or dt.date.today()) - self.cutoff.date()).days
        return days if days > STALE_DAYS else None


def warehouse_cutoff(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """The latest cut-off of all loads; for older warehouses, the latest event time loaded."""
    recorded = con.execute("select max(data_cutoff) from load_log").fetchone()[0]
    if recorded is not None:
        return recorded
    return con.execute(_derived_sql()).fetchone()[0]


def resolve(con: duckdb.DuckDBPyConnection, as_of: dt.datetime | None) -> EvalTime:
    """The evaluation time: the one given, else the warehouse's cut-off (else, empty, now)."""
    cutoff = warehouse_cutoff(con)
    if as_of is None:
        as_of = cutoff if cutoff is not None else dt.datetime.now().replace(microsecond=0)
    return EvalTime(as_of, cutoff)


def facts_at(con: duckdb.DuckDBPyConnection, as_of: dt.datetime | None) -> dt.datetime | None:
    """`as_of` bounded by the cut-off (None stays None: the models' "no bound")."""
    if as_of is None:
        return None
    return resolve(con, as_of).facts_at
