"""The benchmark workloads and the one set of parameters every stage of a workload is run with.

Standard library only: the orchestrator (`bench.run`) imports this without loading the product.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "RESULTS.md"

SEED = 20261122
DRAW_SEED = "20261122093015478213"  # a 20-digit dice seed, kept as text end to end
SPOT_RATE = "0.10"
EXPERT_DRAW_N = 5
START = dt.date(2025, 11, 1)
END = dt.date(2026, 11, 20)

# cases per workload at scale 1 (the generator makes ≈2.2 tasks per case)
STANDARD = {"city-year": 200_000, "province-year": 2_000_000}
NATIONAL_REGIONS = 10
NATIONAL_REGION_CASES = 2_000_000
MIN_CASES = 100  # the generator's minimum


@dataclasses.dataclass(frozen=True)
class Workload:
    """One generated data set and the rule parameters its stages are measured with."""

    name: str
    cases: int
    seed: int = SEED
    start: dt.date = START
    end: dt.date = END
    regions: int = 1  # national: independent province-sized regions with prefixed ids
    work: Path = WORK

    @property
    def dir(self) -> Path:
        return self.work / self.name

    @property
    def as_of(self) -> dt.datetime:
        """The generator's evaluation time: 23:59:59 of its last submission day."""
        return dt.datetime.combine(self.end, dt.time(23, 59, 59))

    @property
    def year(self) -> int:
        return self.end.year

    @property
    def month(self) -> str:
        """The month of the fees and archive stages (a full month inside the period)."""
        return f"{self.end.year}-03"

    @property
    def quarter(self) -> tuple[dt.date, dt.date]:
        """The spot-check period: the third quarter of the last year."""
        return dt.date(self.end.year, 7, 1), dt.date(self.end.year, 9, 30)

    def generator_params(self, fmt: str) -> dict[str, Any]:
        """What identifies a generated data set: reuse it only when these are equal."""
        return {
            "cases": self.cases,
            "seed": self.seed,
            "format": fmt,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "regions": self.regions,
        }

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["start"], d["end"] = self.start.isoformat(), self.end.isoformat()
        d["work"] = str(self.work)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Workload:
        return cls(
            name=d["name"],
            cases=int(d["cases"]),
            seed=int(d["seed"]),
            start=dt.date.fromisoformat(d["start"]),
            end=dt.date.fromisoformat(d["end"]),
            regions=int(d.get("regions", 1)),
            work=Path(d.get("work", WORK)),
        )


def scaled(cases: int, scale: float) -> int:
    return max(MIN_CASES, round(cases * scale))


def standard_workloads(
    scale: float = 1.0, quick: bool = False, work: Path = WORK
) -> list[Workload]:
    names = ["city-year"] if quick else list(STANDARD)
    return [Workload(n, scaled(STANDARD[n], scale), work=work) for n in names]


def national_workload(
    scale: float = 1.0, work: Path = WORK, regions: int = NATIONAL_REGIONS
) -> Workload:
    per_region = scaled(NATIONAL_REGION_CASES, scale)
    return Workload("national", per_region * regions, regions=regions, work=work)


def copy_at_rest(src: Path, dst: Path) -> Path:
    """Copy a warehouse file for a measurement and flush the copy to disk first, so that the
    first command that commits (a draw, an ingest) does not wait in its fsync for the copy's
    unwritten pages: the command is timed, not the benchmark's own copy."""
    for p in (dst, dst.with_name(dst.name + ".wal")):
        p.unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return dst
