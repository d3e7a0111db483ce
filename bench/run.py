"""`make bench` — every stage of the product timed beside DuckDB's floor and a pandas peer.

    python -m bench.run              # city-year (200,000 cases) and province-year (2,000,000)
    python -m bench.run --quick      # city-year only
    python -m bench.run --national   # 20,000,000 cases as Parquet by year/month (many minutes)
    python -m bench.run --profile    # where the time of the rule stages and the ingest goes
    python -m bench.run --only pages --db W [--city taiyuan]   # pages against a given warehouse

Each stage runs in a fresh process (peak memory = that process's own high-water mark, VmHWM);
its time is the median of its runs (bench.stages.more_runs). Results go to bench/RESULTS.md; the previous run moves
under "Previous run". See bench/README.md for what each stage, the floor and the peer are.
A full run (no --quick) ends with issue 13's targets beside shared/perf (bench/yardsticks.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.stages import more_runs
from bench.workload import (
    NATIONAL_REGIONS,
    RESULTS,
    ROOT,
    SPOT_RATE,
    WORK,
    Workload,
    copy_at_rest,
    national_workload,
    standard_workloads,
)

MEMORY_CAP_MB = 3 * 1024  # "peak memory of any batch stage ≤ 3 GB" (GiB)
NATIONAL_MEMORY = "8GB"  # DuckDB memory_limit for the national run (env MTB_DUCKDB_MEMORY)
TARGET_WORKLOAD = "province-year"
RENDER_TARGET_S = 1.0  # issue 13, item 4: every page rendered warm in Chromium
RULE_STAGES = [
    "deadlines",
    "strikes",
    "penalties",
    "violations",
    "fees",
    "archive",
    "spot-check",
    "expert-draw",
]
PEER_STAGES = ["strikes", "penalties", "spot-check"]
FRESH = " (fresh marts)"  # the same stage on a warehouse whose marts match its as_of and data
GROUPS = ["generate", "ingest", "rules", "peer", "refresh", "pages", "yardsticks"]
FORMATS = ["csv", "parquet"]
TABLES = ["hospitals", "experts", "cases", "tasks"]
VIEWS = ROOT / "dashboard" / "views"


class StageError(RuntimeError):
    """A stage's process failed; the message holds the end of its log."""


@dataclasses.dataclass
class Row:
    """One line of the results table."""

    stage: str
    workload: str
    times: list[float]
    rss_mb: float | None = None
    floor: float | None = None
    peer: float | None = None
    batch: bool = True  # held to the memory cap
    derived: bool = False  # a sum of other rows' medians
    note: str = ""
    error: str | None = None
    checks: list[tuple[str, bool]] = dataclasses.field(default_factory=list)

    @property
    def seconds(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    def ratio(self, other: float | None) -> float | None:
        s = self.seconds
        return s / other if s is not None and other else None


# ---- processes -------------------------------------------------------------------------------


def run_process(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> float:
    """Run a command to completion, its output appended to log; its wall time in seconds."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as fh:
        fh.write(f"\n$ {' '.join(cmd)[:400]}\n".encode())
        fh.flush()
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=env)
        wall = time.perf_counter() - t0
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise StageError(f"exit {done.returncode}: " + " | ".join(tail)[-1500:])
    return wall


def worker(kind: str, spec: dict[str, Any], log: Path, env: dict[str, str] | None = None) -> dict:
    """Run one bench.stages worker in a fresh process and return its JSON result.

    Adds `wall` (the process's wall time, interpreter start included). Peak memory comes from
    the worker itself (VmHWM), not from wait4: a child's ru_maxrss starts at its parent's.
    """
    out = log.parent / f"{log.stem}.{time.time_ns()}.json"
    spec = {**spec, "kind": kind, "out": str(out)}
    wall = run_process([sys.executable, "-m", "bench.stages", json.dumps(spec)], log, env)
    result = json.loads(out.read_text(encoding="utf-8"))
    result["wall"] = wall
    return result


def command(module: str, args: list[str], log: Path, env: dict[str, str]) -> tuple[float, float]:
    """`python -m module args…` in a fresh process: (wall seconds, peak memory in MiB)."""
    r = worker("command", {"module": module, "args": args}, log, env)
    return r["wall"], r["rss_mb"]


def copy_db(src: Path, dst: Path) -> Path:
    return copy_at_rest(src, dst)


def fresh_db(path: Path) -> Path:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)
    return path


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


# ---- the benchmark -------------------------------------------------------------------------


class Bench:
    """One `bench.run` invocation: runs stages, prints each line, collects the rows."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rows: list[Row] = []
        self.facts: list[str] = []
        self.failed = False
        self.base_env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    def log(self, w: Workload, stage: str) -> Path:
        return w.dir / "logs" / f"{stage}.log"

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print(console_line(row), flush=True)
        if row.error:
            self.failed = True
        return row

    def attempt(self, stage: str, w: Workload, fn: Any, *args: Any) -> Any:
        """Run one stage function; a failure becomes an error row instead of ending the run."""
        try:
            return fn(*args)
        except StageError as exc:
            self.add(Row(stage, w.name, [], error=str(exc)))
            return None

    # -- generate -----------------------------------------------------------------------------

    def generate(self, w: Workload, fmt: str) -> Row:
        """The sample generator writing the workload once per format (reused when unchanged)."""
        folder, record = w.dir / fmt, w.dir / f"{fmt}.params.json"
        params = w.generator_params(fmt)
        if not self.args.regenerate and record.exists() and (folder / f"tasks.{fmt}").exists():
            old = json.loads(record.read_text(encoding="utf-8"))
            if old["params"] == params:
                note = f"reused data generated {old['at']}"
                return Row(f"generate ({fmt})", w.name, [old["seconds"]], old["rss_mb"], note=note)
        shutil.rmtree(folder, ignore_errors=True)
        args = ["--cases", str(w.cases), "--seed", str(w.seed), "--out", str(folder)]
        args += ["--format", fmt, "--quiet", "--start", w.start.isoformat()]
        args += ["--end", w.end.isoformat()]
        log = self.log(w, f"generate-{fmt}")
        seconds, rss = command("sample_generator", args, log, self.base_env)
        at = dt.datetime.now().isoformat(timespec="minutes")
        record.write_text(
            json.dumps({"params": params, "seconds": seconds, "rss_mb": rss, "at": at}),
            encoding="utf-8",
        )
        return Row(f"generate ({fmt})", w.name, [seconds], rss)

    # -- ingest -------------------------------------------------------------------------------

    def ingest(self, w: Workload, fmt: str) -> Row:
        """`python -m pipelines ingest --no-refresh` into a fresh file, beside DuckDB's bare read.

        Floor and product runs alternate, so a change in the machine's load hits both alike.
        """
        folder, db = w.dir / fmt, w.dir / f"ingest-{fmt}.duckdb"
        floor_db = w.dir / f"floor-{fmt}.duckdb"
        log = self.log(w, f"ingest-{fmt}")
        times: list[float] = []
        floors: list[float] = []
        rss = 0.0
        while more_runs(times):
            spec = {"dir": str(folder), "format": fmt, "db": str(fresh_db(floor_db))}
            floors.append(worker("floor-ingest", spec, self.log(w, f"floor-ingest-{fmt}"))["wall"])
            args = ["ingest", "--no-refresh", "--db", str(fresh_db(db)), str(folder)]
            seconds, peak = command("pipelines", args, log, self.base_env)
            times.append(seconds)
            rss = max(rss, peak)
        fresh_db(floor_db)
        row = Row(f"ingest ({fmt})", w.name, times, rss, floor=statistics.median(floors))
        row.error = check_loaded(db, folder)
        return row

    # -- rule pipelines -----------------------------------------------------------------------

    def rule(
        self,
        w: Workload,
        stage: str,
        db: Path,
        env: dict[str, str] | None = None,
        most: int = 3,
        suffix: str = "",
    ) -> Row:
        """One rule pipeline (or refresh-marts) in a worker: its runs, then its floor's."""
        spec = {"workload": w.to_json(), "stage": stage, "db": str(db), "most": most}
        spec["fresh"] = bool(suffix)
        log = self.log(w, stage + ("-fresh" if suffix else ""))
        r = worker("rule", spec, log, env or self.base_env)
        floor = statistics.median(r["floor_times"])
        return Row(
            stage + suffix, w.name, r["times"], r["rss_mb"], floor=floor, note=f"{r['rows']:,} rows"
        )

    def peer(self, w: Workload, stage: str, db: Path) -> dict[str, Any]:
        spec = {"workload": w.to_json(), "stage": stage, "db": str(db)}
        return worker("peer", spec, self.log(w, f"peer-{stage}"), self.base_env)

    def rules(self, w: Workload, base: Path) -> None:
        """Each rule pipeline on a copy of the ingested warehouse, then the peer beside three."""
        db = copy_db(base, w.dir / "rules.duckdb")
        by_stage: dict[str, Row] = {}
        for stage in RULE_STAGES:
            row = self.attempt(stage, w, self.rule, w, stage, db)
            if row is not None:
                by_stage[stage] = self.add(row)
        peers: dict[str, dict[str, Any]] = {}
        if "peer" in self.args.groups:
            for stage in PEER_STAGES:
                try:
                    peers[stage] = self.peer(w, stage, db)
                except StageError as exc:
                    self.add(Row(f"peer {stage}", w.name, [], error=str(exc)))
        for stage, p in peers.items():
            if stage in by_stage:
                by_stage[stage].peer = statistics.median(p["times"])
            mismatch = p.get("mismatch")
            self.facts.append(
                f"{w.name}: peer {stage} — {p['rows']:,} rows, median "
                f"{statistics.median(p['times']):.3f} s over {len(p['times'])} runs, peak "
                f"{fmt_mb(p['rss_mb'])}; "
                + (f"**MISMATCH**: {mismatch}" if mismatch else "equal to the product")
            )
            if mismatch:
                self.failed = True
                print(f"!! peer {stage} differs from the product: {mismatch}", flush=True)
        self.totals(w, by_stage, peers)

    def rules_fresh(self, w: Workload, marts: Path) -> None:
        """The rule pipelines again on a copy of the refreshed warehouse: fresh marts are read."""
        db = copy_db(marts, w.dir / "rules-fresh.duckdb")
        by_stage: dict[str, Row] = {}
        for stage in RULE_STAGES:
            row = self.attempt(stage + FRESH, w, self.rule, w, stage, db, None, 3, FRESH)
            if row is not None:
                by_stage[stage] = self.add(row)
        self.totals(w, by_stage, {}, FRESH)

    def totals(
        self, w: Workload, by_stage: dict[str, Row], peers: dict[str, Any], suffix: str = ""
    ) -> None:
        """The rule pipelines together, and the three the peer implements against the peer."""
        if len(by_stage) == len(RULE_STAGES):
            name = "rules total (8 pipelines" + (", fresh marts)" if suffix else ")")
            total = Row(name, w.name, [], batch=False, derived=True)
            total.times = [sum(r.seconds or 0 for r in by_stage.values())]
            total.floor = sum(r.floor or 0 for r in by_stage.values())
            total.note = "sum of the medians above"
            self.add(total)
        if peers and all(s in by_stage and s in peers for s in PEER_STAGES):
            both = Row(
                "rules vs peer (strikes+penalties+spot-check)",
                w.name,
                [],
                batch=False,
                derived=True,
            )
            both.times = [sum(by_stage[s].seconds or 0 for s in PEER_STAGES)]
            both.floor = sum(by_stage[s].floor or 0 for s in PEER_STAGES)
            both.peer = sum(statistics.median(peers[s]["times"]) for s in PEER_STAGES)
            self.add(both)

    def refresh(self, w: Workload, base: Path) -> Path | None:
        db = copy_db(base, w.dir / "marts.duckdb")
        row = self.attempt("refresh-marts", w, self.rule, w, "refresh-marts", db)
        if row is None:
            return None
        self.add(row)
        return db

    # -- dashboard pages ----------------------------------------------------------------------

    def page(self, w: Workload, page: str, db: Path, city: str = "zhengzhou") -> list[Row]:
        """Cold: the page's first run in a fresh process (median over processes); warm: reruns."""
        colds: list[float] = []
        warms: list[float] = []
        rss = 0.0
        errors: list[str] = []
        while more_runs(colds):
            spec = {"stage": page, "db": str(db), "profile": city}
            r = worker("page", spec, self.log(w, f"page-{page}"), self.base_env)
            colds += r["times"]
            warms += r["warm_times"]
            rss = max(rss, r["rss_mb"])
            errors += r["errors"]
        error = f"page raised: {errors[0]}" if errors else None
        cold = Row(f"page {page} (cold)", w.name, colds, rss, batch=False, error=error)
        warm = Row(f"page {page} (warm)", w.name, warms, rss, batch=False, error=error)
        return [cold, warm]

    def pages(self, w: Workload, marts: Path, city: str = "zhengzhou") -> None:
        db = copy_db(marts, w.dir / "pages.duckdb")
        for name in sidebar_views(city):
            rows = self.attempt(f"page {name}", w, self.page, w, name, db, city) or []
            for row in rows:
                self.add(row)
        for row in self.attempt("pages in Chromium", w, self.render, w, db, city) or []:
            self.add(row)

    def render(self, w: Workload, db: Path, city: str = "zhengzhou") -> list[Row]:
        """Each page of the city's sidebar clicked in Chromium against the real server: cold
        (first) and warm visits."""
        spec = {"db": str(db), "rounds": 4, "profile": city}
        r = worker("render", spec, self.log(w, f"render-{city}"), self.base_env)
        error = f"page raised: {r['errors'][0]}" if r["errors"] else None
        rows = []
        for page, times in r["pages"].items():
            link = page if city == "zhengzhou" else f"{page} [{city}]"
            note = "click → run finished and page on screen; server peak RSS shown"
            rows.append(
                Row(f"rendered {link} (cold)", w.name, times[:1], r["rss_mb"], batch=False,
                    error=error, note=note)
            )  # fmt: skip
            rows.append(
                Row(f"rendered {link} (warm)", w.name, times[1:], r["rss_mb"], batch=False,
                    error=error, note=note)
            )  # fmt: skip
        return rows

    # -- one standard workload ----------------------------------------------------------------

    def standard(self, w: Workload) -> None:
        g = self.args.groups
        shutil.rmtree(w.dir / "logs", ignore_errors=True)
        w.dir.mkdir(parents=True, exist_ok=True)
        for fmt in FORMATS:
            row = self.attempt(f"generate ({fmt})", w, self.generate, w, fmt)
            if row is not None and "generate" in g:
                self.add(row)
        self.facts.append(workload_fact(w))
        base = w.dir / "ingest-parquet.duckdb"
        loaded = base.exists() and "ingest" not in g
        for fmt in FORMATS:
            if "ingest" in g or not base.exists():
                row = self.attempt(f"ingest ({fmt})", w, self.ingest, w, fmt)
                if row is not None:
                    self.add(row)
                    loaded = fmt == "parquet" and row.error is None
        if not loaded:
            print(f"{w.name}: no complete warehouse from the Parquet ingest; later stages skipped")
            return
        if "rules" in g:
            self.rules(w, base)
        marts = w.dir / "marts.duckdb"
        if "refresh" in g or ("pages" in g and not marts.exists()):
            marts = self.refresh(w, base) or marts
        if "rules" in g and marts.exists():
            self.rules_fresh(w, marts)
        if "pages" in g and marts.exists():
            self.pages(w, marts)

    # -- national -----------------------------------------------------------------------------

    def national_env(self) -> dict[str, str]:
        return {
            **self.base_env,
            "MTB_DUCKDB_MEMORY": os.environ.get("MTB_DUCKDB_MEMORY", NATIONAL_MEMORY),
        }

    def national_data(self, w: Workload) -> list[Row]:
        """Regions generated one process each, then one data set partitioned by year/month."""
        folder, record = w.dir / "parquet", w.dir / "parquet.params.json"
        params = w.generator_params("parquet")
        if not self.args.regenerate and record.exists() and folder.exists():
            old = json.loads(record.read_text(encoding="utf-8"))
            if old["params"] == params:
                note = f"reused data generated {old['at']}"
                return [
                    Row(r["stage"], w.name, [r["seconds"]], r["rss_mb"], note=note)
                    for r in old["rows"]
                ]
        staging = w.dir / "staging"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        gen_times: list[float] = []
        gen_rss = 0.0
        for region in range(w.regions):
            spec = {
                "workload": w.to_json(),
                "region": region,
                "dir": str(staging / f"r{region:02d}"),
            }
            r = worker("generate-region", spec, self.log(w, "generate-region"), self.national_env())
            gen_times.append(r["wall"])
            gen_rss = max(gen_rss, r["rss_mb"])
        spec = {"staging": str(staging), "dir": str(folder)}
        p = worker("partition", spec, self.log(w, "partition"), self.national_env())
        shutil.rmtree(staging, ignore_errors=True)
        rows = [
            Row(f"generate ({w.regions} regions, parquet)", w.name, [sum(gen_times)], gen_rss),
            Row("partition by year/month", w.name, [p["wall"]], p["rss_mb"]),
        ]
        rows[0].note = f"{w.cases // w.regions:,} cases per region, one process each"
        at = dt.datetime.now().isoformat(timespec="minutes")
        saved = [{"stage": r.stage, "seconds": r.times[0], "rss_mb": r.rss_mb} for r in rows]
        record.write_text(json.dumps({"params": params, "rows": saved, "at": at}), encoding="utf-8")
        return rows

    def national_ingest(self, w: Workload) -> tuple[Row, Path]:
        folder, db = w.dir / "parquet", w.dir / "national.duckdb"
        floor_db = w.dir / "floor-national.duckdb"
        env = self.national_env()
        spec = {"dir": str(folder), "format": "parquet", "db": str(fresh_db(floor_db))}
        floor = worker("floor-ingest", spec, self.log(w, "floor-ingest"), env)
        fresh_db(floor_db)
        r = worker(
            "ingest-national",
            {"dir": str(folder), "db": str(fresh_db(db))},
            self.log(w, "ingest"),
            env,
        )
        row = Row("ingest (parquet, by year/month)", w.name, [r["wall"]], r["rss_mb"])
        row.floor = floor["wall"]
        row.note = f"{r['files']} files; memory_limit {env['MTB_DUCKDB_MEMORY']}; in-process call"
        return row, db

    def national(self, w: Workload) -> None:
        shutil.rmtree(w.dir / "logs", ignore_errors=True)
        w.dir.mkdir(parents=True, exist_ok=True)
        rows = self.attempt("generate", w, self.national_data, w) or []
        for row in rows:
            self.add(row)
        self.facts.append(workload_fact(w))
        got = self.attempt("ingest", w, self.national_ingest, w)
        if got is None:
            return
        self.add(got[0])
        db, env = got[1], self.national_env()
        for stage in [*RULE_STAGES, "refresh-marts"]:
            row = self.attempt(stage, w, self.rule, w, stage, db, env, 1)
            if row is not None:
                self.add(row)

    # -- profile ------------------------------------------------------------------------------

    def profile(self, w: Workload) -> str:
        """Profile the rule stages, the marts and the ingest of a workload (bench.profile)."""
        base = w.dir / "ingest-parquet.duckdb"
        for fmt in FORMATS:
            self.generate(w, fmt)
        if not base.exists():
            self.ingest(w, "parquet")
        spec = {
            "workload": w.to_json(),
            "db": str(base),
            "data": str(w.dir),
            "scratch": str(w.dir / "profile"),
        }
        r = worker("profile", spec, self.log(w, "profile"), self.base_env)
        (w.dir / "profile.md").write_text(r["markdown"], encoding="utf-8")
        return r["markdown"]


def sidebar_views(city: str) -> list[str]:
    """The views of the city's sidebar (a view outside it cannot be opened), 总览 first."""
    from dashboard.nav import sections

    files = [f for items in sections(city).values() for f, *_ in items]
    names = [f.removesuffix(".py") for f in files if (VIEWS / f).exists()]
    return sorted(names, key=lambda n: (n != "home", n))


def check_loaded(db: Path, folder: Path) -> str | None:
    """The ingest must accept every generated row (the benchmark data has no bad rows)."""
    import duckdb

    expected = json.loads((folder / "expected_breaches.json").read_text(encoding="utf-8"))["rows"]
    con = duckdb.connect(str(db), read_only=True)
    try:
        got = {t: con.execute(f"select count(*) from stg_{t}").fetchone()[0] for t in TABLES}
        quarantined = con.execute("select count(*) from quarantine").fetchone()[0]
    finally:
        con.close()
    if got != expected or quarantined:
        return f"loaded {got}, quarantined {quarantined}; generated {expected}"
    return None


def workload_fact(w: Workload) -> str:
    rows: dict[str, int] = {}
    report = w.dir / "csv" / "expected_breaches.json"
    if report.exists():
        rows = json.loads(report.read_text(encoding="utf-8"))["rows"]
    sizes = ", ".join(
        f"{fmt} {size_mb(w.dir / fmt):,.0f} MiB" for fmt in FORMATS if (w.dir / fmt).exists()
    )
    counts = ", ".join(f"{t} {n:,}" for t, n in rows.items()) or f"cases {w.cases:,}"
    return (
        f"{w.name}: {counts}; {sizes}; submissions {w.start} – {w.end}, as_of {w.as_of}, "
        f"year {w.year}, month {w.month}, spot check {w.quarter[0]} – {w.quarter[1]} at "
        f"{SPOT_RATE}"
    )


# ---- targets -----------------------------------------------------------------------------


def judge(rows: Iterable[Row]) -> None:
    """Attach the province-year targets; memory ≤ 3 GiB for every batch stage."""
    for row in rows:
        if row.workload != TARGET_WORKLOAD or row.seconds is None:
            continue
        s, name = row.seconds, row.stage
        if name.startswith("generate"):
            row.checks.append(("≤ 60 s", s <= 60))
        elif name == "ingest (csv)" and row.floor:
            row.checks.append(("≤ 2× floor", s <= 2 * row.floor))
        elif name == "ingest (parquet)" and row.floor:
            row.checks.append(("≤ 1.5× floor", s <= 1.5 * row.floor))
        elif name.startswith("rules total") or name == "refresh-marts":
            row.checks.append(("≤ 2 s", s <= 2))
        elif name.startswith("rules vs peer") and row.peer:
            row.checks.append(("≥ 3× faster than peer", row.peer >= 3 * s))
        elif name.startswith("page") and name.endswith("(warm)"):
            row.checks.append(("≤ 0.5 s", s <= 0.5))
        elif name.startswith("rendered") and name.endswith("(warm)"):
            row.checks.append((f"≤ {RENDER_TARGET_S:.1f} s", s <= RENDER_TARGET_S))
        if row.batch and row.rss_mb is not None:
            row.checks.append(("≤ 3 GB memory", row.rss_mb <= MEMORY_CAP_MB))


# ---- formatting --------------------------------------------------------------------------


def fmt_s(s: float | None) -> str:
    if s is None:
        return "—"
    return (
        f"{s:.3f} s"
        if s < 1
        else f"{s:.2f} s"
        if s < 10
        else f"{s:.1f} s"
        if s < 100
        else f"{s:,.0f} s"
    )


def fmt_x(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}×" if x < 10 else f"{x:.0f}×"


def fmt_mb(mb: float | None) -> str:
    if mb is None:
        return "—"
    return f"{mb:,.0f} MiB" if mb < 1024 else f"{mb / 1024:.2f} GiB"


def verdict(row: Row) -> str:
    if row.error:
        return "ERROR"
    if not row.checks:
        return "—"
    return "; ".join("pass" if ok else "**FAIL**" for _, ok in row.checks)


def console_line(row: Row) -> str:
    if row.error:
        return f"{row.stage:<46} {row.workload:<14} ERROR {row.error[:300]}"
    return (
        f"{row.stage:<46} {row.workload:<14} {fmt_s(row.seconds):>9} "
        f"({'Σ' if row.derived else len(row.times)})"
        f"  floor {fmt_x(row.ratio(row.floor)):>7}  peer {fmt_x(row.ratio(row.peer)):>7}"
        f"  {fmt_mb(row.rss_mb):>10}  {row.note}"
    )


def table(rows: list[Row]) -> str:
    lines = [
        "| stage | workload | runs | time (median) | × floor | × peer | peak memory | target "
        "| result | note |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in rows:
        note = r.error[:200].replace("|", "/") if r.error else r.note
        lines.append(
            f"| {r.stage} | {r.workload} | {'Σ' if r.derived else len(r.times)} | "
            f"{fmt_s(r.seconds)} | "
            f"{fmt_x(r.ratio(r.floor))} | {fmt_x(r.ratio(r.peer))} | {fmt_mb(r.rss_mb)} | "
            f"{'; '.join(t for t, _ in r.checks) or '—'} | {verdict(r)} | {note} |"
        )
    return "\n".join(lines)


def floor_table(rows: list[Row]) -> str:
    lines = ["| stage | workload | product | floor | peer |", "|---|---|---:|---:|---:|"]
    for r in rows:
        if r.floor is not None or r.peer is not None:
            lines.append(
                f"| {r.stage} | {r.workload} | {fmt_s(r.seconds)} | {fmt_s(r.floor)} | "
                f"{fmt_s(r.peer)} |"
            )
    return "\n".join(lines)


def machine(load_start: tuple[float, float, float], source: str = "") -> str:
    import duckdb
    import pandas

    cpu = "unknown"
    ram = "unknown"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f"{kb / 2**20:.1f} GiB"
    except (OSError, StopIteration, AttributeError):
        pass
    load_end = os.getloadavg()
    if not source:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        source = f"commit {commit or '?'} (plus uncommitted work)"
    return (
        f"Machine: {len(os.sched_getaffinity(0))} CPUs ({cpu}), {ram} RAM, "
        f"load average at start {load_start[0]:.2f} / {load_start[1]:.2f} / {load_start[2]:.2f} "
        f"(1/5/15 min), at end {load_end[0]:.2f}; Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}, pandas {pandas.__version__}; code: {source}."
    )


def section(title: str, bench: Bench, load_start: tuple[float, float, float], cmd: str) -> str:
    rows = bench.rows
    failed = [r for r in rows if any(not ok for _, ok in r.checks)]
    lines = [
        f"### {title} — {dt.datetime.now():%Y-%m-%d %H:%M} (`{cmd}`)",
        "",
        machine(load_start, bench.args.source),
        "",
        *[f"- {f}" for f in bench.facts],
        "",
        table(rows),
        "",
        "Floor and peer, absolute times:",
        "",
        floor_table(rows),
        "",
        f"Targets missed: {', '.join(f'{r.stage} ({r.workload})' for r in failed) or 'none'}.",
    ]
    return "\n".join(lines)


# ---- RESULTS.md --------------------------------------------------------------------------

TEMPLATE = """# Benchmark results

Written by `python -m bench.run` (`make bench`, `make bench-national`); see `bench/README.md`.
Times are medians of the runs counted in "runs"; "× floor" and "× peer" are this stage's time
divided by DuckDB's floor and by the pandas peer (below 1× = faster). Targets apply to the
province-year workload. Sections between the `bench:` markers are rewritten by each run; the rest
of the file is kept.

## Latest run

<!-- bench:standard:begin -->
<!-- bench:standard:end -->

## Previous run

<!-- bench:standard-previous:begin -->
<!-- bench:standard-previous:end -->

## National run

<!-- bench:national:begin -->
<!-- bench:national:end -->

### Previous national run

<!-- bench:national-previous:begin -->
<!-- bench:national-previous:end -->

## Profile

<!-- bench:profile:begin -->
<!-- bench:profile:end -->
"""


def block(text: str, name: str) -> str:
    m = re.search(f"<!-- bench:{name}:begin -->\n(.*?)<!-- bench:{name}:end -->", text, re.S)
    return m.group(1) if m else ""


def put_block(text: str, name: str, body: str) -> str:
    begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
    body = body.rstrip("\n") + "\n" if body.strip() else ""
    if begin not in text:
        text = text.rstrip("\n") + f"\n\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}{end}{tail}"


def write_results(path: Path, name: str, body: str, keep_previous: bool = True) -> None:
    """Put body in block `name`; the block's old content moves to `name`-previous."""
    text = path.read_text(encoding="utf-8") if path.exists() else TEMPLATE
    if keep_previous:
        old = block(text, name)
        if old.strip():
            text = put_block(text, f"{name}-previous", old)
    path.write_text(put_block(text, name, body), encoding="utf-8")


# ---- command line ------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="city-year only")
    p.add_argument("--national", action="store_true", help="20 M cases by year/month (slow)")
    p.add_argument("--profile", action="store_true", help="profile the slow stages instead")
    p.add_argument("--regenerate", action="store_true", help="generate the data again")
    p.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--work", type=Path, default=WORK, help=argparse.SUPPRESS)
    p.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    p.add_argument("--regions", type=int, default=NATIONAL_REGIONS, help=argparse.SUPPRESS)
    p.add_argument("--source", default="", help=argparse.SUPPRESS)  # e.g. "snapshot of abc123"
    p.add_argument(
        "--db",
        type=Path,
        help="with --only pages: time the pages against this warehouse (a copy; counted as "
        "province-year)",
    )
    p.add_argument("--city", default="zhengzhou", help="with --db: whose sidebar to render")
    p.add_argument(
        "--only", default=",".join(GROUPS), help=argparse.SUPPRESS
    )  # e.g. --only rules,peer (a partial run does not touch RESULTS.md)
    args = p.parse_args(argv)
    args.groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = set(args.groups) - set(GROUPS)
    if unknown:
        p.error(
            f"--only: unknown group(s) {', '.join(sorted(unknown))}; known: {', '.join(GROUPS)}"
        )
    if args.db is not None and (args.groups != ["pages"] or not args.db.is_file()):
        p.error(f"--db goes with --only pages and an existing warehouse file: {args.db}")
    return args


def given_pages(bench: Bench, args: argparse.Namespace) -> None:
    """The page stages against a given warehouse (copied into the province workload's folder)."""
    w = next(w for w in standard_workloads(1.0, False, args.work) if w.name == TARGET_WORKLOAD)
    w.dir.mkdir(parents=True, exist_ok=True)
    bench.facts.append(f"pages against {args.db} ({args.city}'s sidebar)")
    bench.pages(w, args.db, args.city)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_start = os.getloadavg()
    bench = Bench(args)
    cmd = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.profile:
        parts = [bench.profile(w) for w in standard_workloads(args.scale, args.quick, args.work)]
        text = "\n\n".join(parts)
        print(text)
        write_results(args.results, "profile", text, keep_previous=False)
        return 0
    if args.db is not None:
        given_pages(bench, args)
        name, title = "pages", "Pages run"
    elif args.national:
        bench.national(national_workload(args.scale, args.work, args.regions))
        name, title = "national", "National run"
    else:
        for w in standard_workloads(args.scale, args.quick, args.work):
            bench.standard(w)
        name, title = "standard", "Run"
    judge(bench.rows)
    body = section(title, bench, load_start, cmd.strip())
    if "yardsticks" in args.groups and not (args.quick or args.national or args.scale != 1.0):
        from bench import yardsticks

        body += yardsticks.section()
        print(body[body.rfind("## Issue 13") :])
    if set(args.groups) == set(GROUPS):
        write_results(args.results, name, body)
        print(f"\nResults written to {args.results}")
    missed = [r for r in bench.rows if any(not ok for _, ok in r.checks)]
    for r in missed:
        print(f"target missed: {r.stage} ({r.workload}): {verdict(r)} — {fmt_s(r.seconds)}")
    return 1 if bench.failed else 0


if __name__ == "__main__":
    sys.exit(main())
