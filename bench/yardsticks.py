"""Issue 13's targets beside the yardsticks of `shared/perf/` (`make bench`, group `yardsticks`).

On one province-year of `gen_min.py` data (2,000,000 cases, 5.2 M tasks; made once under
bench/work/yardsticks/data and reused), each a fresh process, median of 3 runs:

- `python -m pipelines strikes|penalties|spot-check` on a warehouse whose marts were refreshed at
  the data cut-off, asked for another evaluation time (AS_OF) — each ≤ 1.0 s; the three together
  ≥ 3× faster than `peer_pandas.py` (all three rules, its own load included) in the same run;
- `duck_minimal.py`: DuckDB alone (load, calendar, the three rules) — the floor of the rules;
- `python -m pipelines ingest` of the four files with its refresh against DuckDB copying the
  same Parquet into a database file — ≤ 3×;
- a daily delta: the last full day's tasks re-exported with its open accepted tasks completed
  (`DELTA_SQL`), ingested with its refresh into a copy of that warehouse — ≤ 5 s.

The shared scripts are found in $MTB_PERF_DIR, else `shared/perf` beside or above the checkout.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.workload import ROOT, WORK, copy_at_rest

CASES = 2_000_000
AS_OF = "2026-11-20 23:59:59"  # before the data cut-off gen_min's data implies (2026-12-06)
YEAR = "2026"
RULE_TARGET_S = 1.0
PEER_FACTOR = 3.0
COPY_FACTOR = 3.0
DELTA_TARGET_S = 5.0
COMMANDS = {
    "strikes": ["strikes", "--year", YEAR, "--as-of", AS_OF],
    "penalties": ["penalties", "--year", YEAR, "--as-of", AS_OF],
    "spot-check": [
        "spot-check", "--from", "2026-07-01", "--to", "2026-09-30", "--rate", "10%",
        "--seed", "31415926535897932384", "--supervisor", "bench",
    ],
}  # fmt: skip
_TIMING = re.compile(r"([a-z-]+) ([0-9.]+)s")


def perf_dir() -> Path | None:
    """The folder of gen_min.py, duck_minimal.py and peer_pandas.py, if there is one."""
    env = os.environ.get("MTB_PERF_DIR")
    candidates = [Path(env)] if env else []
    candidates += [p / "shared" / "perf" for p in (ROOT.parent, ROOT.parent.parent)]
    return next((p for p in candidates if (p / "duck_minimal.py").exists()), None)


def timed(cmd: list[str], log: Path) -> tuple[float, str]:
    """Run a process to completion (output appended to log): wall seconds and its stdout+stderr."""
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {' '.join(cmd)[:200]}: {done.stderr[-800:]}")
    return wall, done.stdout + done.stderr


def script_timings(output: str) -> dict[str, float]:
    """`load 1.50s … strikes 0.53s (…) …` as {'load': 1.5, 'strikes': 0.53, …}."""
    return {name: float(s) for name, s in _TIMING.findall(output)}


def data(perf: Path, work: Path) -> Path:
    folder = work / "data"
    if not (folder / "tasks.parquet").exists():
        timed([sys.executable, str(perf / "gen_min.py"), str(CASES), str(folder)], work / "log")
    return folder


COPY = """
import duckdb, sys
con = duckdb.connect(sys.argv[2])
for n in ("hospitals", "experts", "cases", "tasks"):
    con.execute(f"create table {n} as select * from read_parquet('{sys.argv[1]}/{n}.parquet')")
con.close()
"""


def fresh(path: Path) -> Path:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)
    return path


def ingest_rows(folder: Path, work: Path) -> tuple[dict[str, list[float]], Path]:
    """ingest + refresh beside DuckDB's own copy, alternating; the last warehouse is kept."""
    times: dict[str, list[float]] = {"ingest": [], "copy": []}
    db = work / "warehouse.duckdb"
    for _ in range(2):
        copy_db = fresh(work / "copy.duckdb")
        cmd = [sys.executable, "-c", COPY, str(folder), str(copy_db)]
        times["copy"].append(timed(cmd, work / "log")[0])
        cmd = [sys.executable, "-m", "pipelines", "ingest", "--db", str(fresh(db)), str(folder)]
        times["ingest"].append(timed(cmd, work / "log")[0])
    fresh(work / "copy.duckdb")
    return times, db


# one day's tasks as the next export brings them again: the last full day of pushes, its tasks
# no expert had answered now accepted two hours after the push and completed a minute after the
# data's last event (so the cut-off moves on), every other row as it was (same columns, types)
DELTA_SQL = """
copy (
    with t as (select * from read_parquet('{src}/tasks.parquet')),
    last as (select max(pushed_at) as last_push, max(completed_at) as last_done from t)
    select t.* replace (
        coalesce(responded_at, pushed_at + interval 2 hour) as responded_at,
        coalesce(response, '受理') as response,
        case when response is null
            then (select last_done from last) + interval 1 minute else completed_at
        end as completed_at,
        case when response is null then '符合' else verdict end as verdict
    )
    from t
    where cast(pushed_at as date) = (select cast(last_push as date) - 1 from last)
) to '{dst}/tasks.parquet' (format parquet)
"""


def delta_folder(folder: Path, work: Path) -> Path:
    """The daily delta's folder (made once, like the data)."""
    out = work / "delta"
    if not (out / "tasks.parquet").exists():
        import duckdb

        out.mkdir(parents=True, exist_ok=True)
        duckdb.connect().execute(DELTA_SQL.format(src=folder, dst=out))
    return out


def delta_times(db: Path, folder: Path, work: Path) -> list[float]:
    """`ingest` (with its refresh) of one day's tasks into a copy of the refreshed warehouse,
    a fresh copy for each of 2 runs."""
    delta = delta_folder(folder, work)
    times = []
    for _ in range(2):
        copy = fresh(work / "delta.duckdb")
        copy_at_rest(db, copy)
        cmd = [sys.executable, "-m", "pipelines", "ingest", "--db", str(copy), str(delta)]
        times.append(timed(cmd, work / "log")[0])
    fresh(work / "delta.duckdb")
    return times


def rule_times(db: Path, work: Path) -> dict[str, list[float]]:
    """Each rule command as a whole process, 3 runs, on a copy of the refreshed warehouse."""
    copy = fresh(work / "rules.duckdb")
    copy_at_rest(db, copy)
    out = work / "out.csv"
    result: dict[str, list[float]] = {}
    for name, args in COMMANDS.items():
        cmd = [sys.executable, "-m", "pipelines", *args, "--db", str(copy), "--out", str(out)]
        result[name] = [timed(cmd, work / "log")[0] for _ in range(3)]
    return result


def measure(work: Path = WORK / "yardsticks") -> dict[str, object] | None:
    """Every number of the yardstick table (None when the shared scripts are not there)."""
    perf = perf_dir()
    if perf is None:
        return None
    work.mkdir(parents=True, exist_ok=True)
    folder = data(perf, work)
    ingest, db = ingest_rows(folder, work)
    rules = rule_times(db, work)
    delta = delta_times(db, folder, work)
    duck = [
        timed([sys.executable, str(perf / "duck_minimal.py"), str(folder), AS_OF], work / "log")
    ]
    peer = [timed([sys.executable, str(perf / "peer_pandas.py"), str(folder), AS_OF], work / "log")]
    return {
        "ingest": ingest,
        "rules": rules,
        "delta": delta,
        "duck": [script_timings(out) | {"wall": wall} for wall, out in duck],
        "peer_wall": [wall for wall, _ in peer],
    }


def rows(m: dict[str, object]) -> list[tuple[str, float, str, bool | None, str]]:
    """(what, seconds, target, met, yardstick) for the results table."""
    med = statistics.median
    duck = m["duck"][0]
    out = []
    for name, times in m["rules"].items():
        floor = duck.get(name)
        note = f"DuckDB alone {floor:.2f} s (in memory, loaded)" if floor is not None else ""
        s = med(times)
        out.append((f"`{name}` process, --as-of ≠ marts'", s, "≤ 1.0 s", s <= RULE_TARGET_S, note))
    three = sum(med(t) for t in m["rules"].values())
    peer = med(m["peer_wall"])
    out.append(
        (
            "strikes + penalties + spot-check",
            three,
            "≥ 3× faster than peer",
            peer >= PEER_FACTOR * three,
            f"peer_pandas.py {peer:.2f} s (×{peer / three:.2f})",
        )
    )
    ingest, copy = med(m["ingest"]["ingest"]), med(m["ingest"]["copy"])
    out.append(
        (
            "`ingest` + refresh, 4 Parquet files",
            ingest,
            "≤ 3× DuckDB copy",
            ingest <= COPY_FACTOR * copy,
            f"DuckDB copy {copy:.2f} s (×{ingest / copy:.1f})",
        )
    )
    day = med(m["delta"])
    out.append(
        (
            "daily delta: `ingest` + refresh, one day's tasks",
            day,
            "≤ 5 s",
            day <= DELTA_TARGET_S,
            "",
        )
    )
    out.append(("duck_minimal.py (whole process)", duck["wall"], "yardstick", None, ""))
    out.append(("peer_pandas.py (whole process)", peer, "yardstick", None, ""))
    return out


def table(m: dict[str, object]) -> str:
    lines = ["| what | time (median) | target | result | yardstick |", "|---|---:|---|---|---|"]
    for what, s, target, met, note in rows(m):
        result = "—" if met is None else "pass" if met else "**FAIL**"
        lines.append(f"| {what} | {s:.2f} s | {target} | {result} | {note} |")
    return "\n".join(lines)


def section() -> str:
    """The markdown section of RESULTS.md (a line saying why when it cannot be measured)."""
    try:
        m = measure()
    except RuntimeError as exc:
        return f"\n\n## Issue 13 targets beside shared/perf\n\nERROR: {exc}\n"
    if m is None:
        return (
            "\n\n## Issue 13 targets beside shared/perf\n\nshared/perf not found (MTB_PERF_DIR).\n"
        )
    return (
        f"\n\n## Issue 13 targets beside shared/perf (gen_min.py, {CASES:,} cases)\n\n{table(m)}\n"
    )


def main() -> int:
    m = measure()
    if m is None:
        print("shared/perf not found: set MTB_PERF_DIR", file=sys.stderr)
        return 1
    print(table(m))
    return 0


if __name__ == "__main__":
    sys.exit(main())
