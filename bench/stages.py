"""One function per benchmark stage, each run in a fresh worker process for its own peak memory.

`python -m bench.stages SPEC` runs one stage: SPEC is a JSON object with `kind` (a key of
`WORKERS`), the stage's arguments and `out`, the file the result is written to as JSON. A result
holds the times of each run (seconds), `rss_mb` (the worker's peak resident memory, VmHWM, read
right after the product's runs, before any floor or comparison runs) and stage-specific facts. The spec is a single positional argument on purpose: the dashboard reads
`--db` from `sys.argv`, so a worker takes no options.

Runs per stage: up to 3; at most 2 once a run took over 10 s; 1 once a run took over 60 s.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from bench.workload import DRAW_SEED, EXPERT_DRAW_N, ROOT, SPOT_RATE, Workload

Result = dict[str, Any]
Con = duckdb.DuckDBPyConnection

MEMORY_ENV = "MTB_DUCKDB_MEMORY"  # read by pipelines.db.connect too (default 2GB)
TABLES = ["hospitals", "experts", "cases", "tasks"]
PROFILE = "zhengzhou"


# ---- measuring -------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB.

    VmHWM (the high-water mark of this program's own memory) where Linux has it: `ru_maxrss`
    is carried over from the parent at fork and kept across exec, so a small worker started by
    a big process would report the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def more_runs(times: list[float], most: int = 3) -> bool:
    """3 runs for fast stages; 2 once one took over 10 s; 1 once one took over 60 s."""
    if not times:
        return True
    slowest = max(times)
    limit = 1 if slowest > 60 else 2 if slowest > 10 else 3
    return len(times) < min(limit, most)


def timed_runs(fn: Callable[[], Any], most: int = 3) -> tuple[list[float], Any]:
    """Run fn until more_runs says stop; the times and the last run's answer."""
    times: list[float] = []
    answer: Any = None
    while more_runs(times, most):
        t0 = time.perf_counter()
        answer = fn()
        times.append(time.perf_counter() - t0)
    return times, answer


def configure(con: Con) -> Con:
    """No progress bar; DuckDB's memory limit from $MTB_DUCKDB_MEMORY when set (national run)."""
    con.execute("set enable_progress_bar = false")
    limit = os.environ.get(MEMORY_ENV)
    if limit:
        con.execute(f"set memory_limit = '{limit}'")
    return con


def product_connection(db: str) -> Con:
    from pipelines.db import connect

    return configure(connect(db))


# ---- the floor: DuckDB scanning the columns a stage reads ----------------------------------

ALL = ("*",)
TASK_COLUMNS = (
    "task_id",
    "case_id",
    "expert_id",
    "pushed_at",
    "responded_at",
    "response",
    "completed_at",
    "verdict",
)
DEADLINE_READS: dict[str, tuple[str, ...]] = {
    "stg_tasks": TASK_COLUMNS,
    "stg_experts": ("expert_id", "hospital_id", "specialty"),
    "stg_cases": ("case_id", "hospital_id", "disease_name"),
    "calendar": ("day", "is_workday", "workday_no"),
}
EXPERT_REGISTER = ("expert_id", "hospital_id", "specialty", "title", "registered_on")
REGISTER_READS = {**DEADLINE_READS, "stg_experts": (*EXPERT_REGISTER, "disqualified_on")}
EVERYTHING = {t: ALL for t in ("stg_tasks", "stg_cases", "stg_experts", "stg_hospitals")}
EVERYTHING["calendar"] = ALL

FLOOR_READS: dict[str, dict[str, tuple[str, ...]]] = {
    "deadlines": DEADLINE_READS,
    "strikes": DEADLINE_READS,
    "penalties": REGISTER_READS,
    "violations": EVERYTHING,
    "fees": {
        "stg_tasks": ("completed_at", "expert_id", "case_id"),
        "stg_experts": ("expert_id", "expert_name", "hospital_id"),
        "stg_hospitals": ("hospital_id", "hospital_name"),
    },
    "archive": {"stg_cases": ("decided_at", "disease_name", "outcome")},
    "spot-check": {
        "stg_cases": ("case_id", "hospital_id", "disease_name", "outcome", "decided_at")
    },
    "expert-draw": {**REGISTER_READS, "stg_hospitals": ("hospital_id", "hospital_class")},
    "refresh-marts": EVERYTHING,
}


def floor_query(con: Con, table: str, columns: tuple[str, ...]) -> str:
    """`select count(*), max(c1), max(c2), …` — every value of the columns read once."""
    if columns == ALL:
        columns = tuple(
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_name = ? "
                "order by ordinal_position",
                [table],
            ).fetchall()
        )
    return f"select count(*), {', '.join(f'max({c})' for c in columns)} from {table}"


def scan_floor(con: Con, reads: dict[str, tuple[str, ...]]) -> None:
    for table, columns in reads.items():
        con.execute(floor_query(con, table, columns)).fetchall()


# ---- rule pipelines: one function per stage ------------------------------------------------


def top_specialty(con: Con) -> str:
    """The specialty with the most experts: the meeting draw the benchmark makes."""
    return con.execute(
        "select specialty from stg_experts group by specialty order by count(*) desc, specialty "
        "limit 1"
    ).fetchone()[0]


def rule_deadlines(con: Con, w: Workload, profile: Any) -> int:
    from pipelines.rules import task_deadlines

    return task_deadlines(con, w.as_of, profile).num_rows


def rule_strikes(con: Con, w: Workload, profile: Any) -> int:
    from pipelines.rules import strikes

    return strikes(con, w.as_of, profile, year=w.year).num_rows


def rule_penalties(con: Con, w: Workload, profile: Any) -> int:
    from pipelines.rules import hospital_penalties

    return hospital_penalties(con, w.as_of, profile, year=w.year).num_rows


def rule_violations(con: Con, w: Workload, profile: Any) -> int:
    from pipelines.rules import violations

    return violations(con, w.as_of, profile).num_rows


def rule_fees(con: Con, w: Workload, profile: Any) -> int:
    from pipelines.rules import expert_fees

    return expert_fees(con, profile, month=w.month, as_of=w.as_of).num_rows


def rule_archive(con: Con, w: Workload, profile: Any) -> int:
    from pipelines.rules import monthly_archive

    return monthly_archive(con, profile, month=w.month, as_of=w.as_of).num_rows


def rule_spot_check(con: Con, w: Workload, profile: Any) -> int:
    from pipelines.draws import spot_check

    date_from, date_to = w.quarter
    result = spot_check(con, date_from, date_to, SPOT_RATE, DRAW_SEED, profile, operator="bench")
    return len(result.picks)


def rule_expert_draw(con: Con, w: Workload, profile: Any) -> int:
    from pipelines.draws import draw_experts

    specialty = top_specialty(con)
    result = draw_experts(
        con, specialty, EXPERT_DRAW_N, DRAW_SEED, w.as_of, profile, operator="bench"
    )
    return len(result.picks)


def rule_refresh_marts(con: Con, w: Workload, profile: Any) -> int:
    from pipelines.rules import refresh_marts

    return sum(refresh_marts(con, w.as_of, profile).values())


RULES: dict[str, Callable[[Con, Workload, Any], int]] = {
    "deadlines": rule_deadlines,
    "strikes": rule_strikes,
    "penalties": rule_penalties,
    "violations": rule_violations,
    "fees": rule_fees,
    "archive": rule_archive,
    "spot-check": rule_spot_check,
    "expert-draw": rule_expert_draw,
    "refresh-marts": rule_refresh_marts,
}


def work_rule(spec: dict[str, Any]) -> Result:
    """A rule pipeline's runs, then the floor's runs over the same columns, same connection.

    With `fresh`, the warehouse must hold marts refreshed for the workload's as_of and data
    (the stage then reads them: `pipelines.rules.engine.fresh_marts`)."""
    from pipelines.config import load_profile

    w = Workload.from_json(spec["workload"])
    stage = spec["stage"]
    con = product_connection(spec["db"])
    profile = load_profile(PROFILE)
    most = int(spec.get("most", 3))
    if spec.get("fresh"):
        from pipelines.rules.engine import fresh_marts, snapshot

        with snapshot(con):
            if not fresh_marts(con, profile, w.as_of):
                raise RuntimeError("the warehouse's marts do not match its data and as_of")
    times, rows = timed_runs(lambda: RULES[stage](con, w, profile), most)
    rss = peak_rss_mb()
    floor_times, _ = timed_runs(lambda: scan_floor(con, FLOOR_READS[stage]), len(times))
    con.close()
    return {"times": times, "rss_mb": rss, "floor_times": floor_times, "rows": rows}


# ---- the pandas peer ---------------------------------------------------------------------


Compare = Callable[[Any], str | None]  # the peer's answer → None, or the first difference
PeerSetup = tuple[Callable[[], Any], Compare]


def peer_strikes(con: Con, w: Workload, profile: Any) -> PeerSetup:
    from bench import peer
    from pipelines.rules import strikes

    def compare(answer: Any) -> str | None:
        product = strikes(con, w.as_of, profile, year=w.year)
        return peer.same_rows(
            "strikes",
            peer.table_rows(product, peer.STRIKE_COLUMNS),
            peer.frame_rows(answer, peer.STRIKE_COLUMNS),
        )

    return (lambda: peer.strikes(con, w.as_of, profile, w.year)), compare


def peer_penalties(con: Con, w: Workload, profile: Any) -> PeerSetup:
    from bench import peer
    from pipelines.rules import hospital_penalties

    def compare(answer: Any) -> str | None:
        product = hospital_penalties(con, w.as_of, profile, year=w.year)
        return peer.same_rows(
            "penalties",
            peer.table_rows(product, peer.PENALTY_COLUMNS),
            peer.frame_rows(answer, peer.PENALTY_COLUMNS),
        )

    return (lambda: peer.hospital_penalties(con, w.as_of, profile, w.year)), compare


def peer_spot_check(con: Con, w: Workload, profile: Any) -> PeerSetup:
    from bench import peer
    from pipelines.draws import spot_check

    date_from, date_to = w.quarter

    def compare(answer: Any) -> str | None:
        product = spot_check(
            con, date_from, date_to, SPOT_RATE, DRAW_SEED, profile, operator="bench"
        )
        return peer.same_rows(
            "spot-check",
            [(p.stratum, p.rank, p.id, p.key) for p in product.picks],
            peer.frame_rows(answer, peer.SPOT_CHECK_COLUMNS),
        )

    return (lambda: peer.spot_check(con, date_from, date_to, SPOT_RATE, DRAW_SEED)), compare


PEERS: dict[str, Callable[[Con, Workload, Any], PeerSetup]] = {
    "strikes": peer_strikes,
    "penalties": peer_penalties,
    "spot-check": peer_spot_check,
}


def work_peer(spec: dict[str, Any]) -> Result:
    """The peer's runs, then the product's answer once, compared row for row."""
    from pipelines.config import load_profile

    w = Workload.from_json(spec["workload"])
    con = product_connection(spec["db"])
    run, compare = PEERS[spec["stage"]](con, w, load_profile(PROFILE))
    times, answer = timed_runs(run)
    rss = peak_rss_mb()
    mismatch = compare(answer)
    con.close()
    return {"times": times, "rss_mb": rss, "rows": len(answer), "mismatch": mismatch}


# ---- dashboard pages ---------------------------------------------------------------------


def work_page(spec: dict[str, Any]) -> Result:
    """One page through `tests/apptest_util.open_page`: its first run (cold), then 3 reruns (warm).

    Every AppTest.run is timed; open_page runs the router's home page first and then switches,
    so the cold time is the page's own first run in this process (for `home`, the first run of
    the process, imports included).
    """
    sys.path.insert(0, str(ROOT / "tests"))
    from streamlit.testing.v1 import AppTest

    from apptest_util import open_page

    runs: list[float] = []
    original = AppTest.run

    def timed_run(self: AppTest, *args: Any, **kwargs: Any) -> AppTest:
        t0 = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            runs.append(time.perf_counter() - t0)

    AppTest.run = timed_run  # type: ignore[method-assign]
    profile = spec.get("profile", PROFILE)
    at = open_page(Path(spec["db"]), spec["stage"], profile=profile, timeout=1800)
    cold = runs[-1]
    for _ in range(3):
        at.run()
    warm = runs[-3:]
    errors = [str(e.value)[:200] for e in at.exception]
    return {"times": [cold], "warm_times": warm, "rss_mb": peak_rss_mb(), "errors": errors}


# ---- pages rendered in Chromium -----------------------------------------------------------

HOME_HEADING = "门诊慢特病鉴定监管看板"  # the home page's heading; every other page's is its link


def render_pages(profile: str = PROFILE) -> list[tuple[str, str]]:
    """(sidebar link, heading on the page) of every page of a profile's sidebar, in its order."""
    from dashboard.nav import sections

    return [
        (title, HOME_HEADING if default else title)
        for items in sections(profile).values()
        for _f, title, _icon, default in items
    ]


def work_render(spec: dict[str, Any]) -> Result:
    """Every page through the real server in Debian's Chromium: click on its sidebar link → the
    run has finished and the page is on screen (title on top, nothing stale, no skeleton).

    One logged-in browser context; each page visited `rounds` times in turn: the first visit is
    cold (the page's first run in this server), the others warm. Peak memory is the server's.
    `only` (sidebar links, optional) limits the pages visited.
    """
    import tempfile

    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests"))
    from load.aio_browser import _DONE

    from pipelines.users import ensure_demo

    from browser import CHROMIUM, CHROMIUM_ARGS, login, streamlit_server

    rounds = int(spec.get("rounds", 4))
    profile = spec.get("profile", PROFILE)
    pages = [p for p in render_pages(profile) if p[0] in spec.get("only", [p[0]])]
    times: dict[str, list[float]] = {link: [] for link, _t in pages}
    errors: list[str] = []
    server_rss = 0.0
    with tempfile.TemporaryDirectory(prefix="mtb-bench-render-") as tmp:
        users = Path(tmp) / "users.json"
        ensure_demo(users)
        env = {"MTB_USERS": str(users)}
        server = streamlit_server(Path(spec["db"]), profile=profile, env=env)
        with server as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ctx = browser.new_context(
                viewport={"width": 1280, "height": 800}, reduced_motion="reduce"
            )
            page = ctx.new_page()
            page.set_default_timeout(600_000)
            login(page, url)
            for _ in range(rounds):
                for link, title in pages:
                    t0 = time.perf_counter()
                    page.get_by_role("link", name=link, exact=True).click()
                    page.wait_for_function(_DONE, arg=title, polling=50)
                    page.evaluate(
                        "() => new Promise(r => requestAnimationFrame(() => "
                        "requestAnimationFrame(r)))"
                    )
                    times[link].append(time.perf_counter() - t0)
                    errors += [
                        f"{link}: {e.inner_text()[:200]}"
                        for e in page.query_selector_all('[data-testid="stException"]')
                    ]
            server_rss = _server_rss_mb(url)
            browser.close()
    return {"times": [], "pages": times, "rss_mb": server_rss, "errors": errors}


def _server_rss_mb(url: str) -> float:
    """VmHWM of the `streamlit run` process listening on url's port."""
    port = url.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            if b"streamlit" in b" ".join(cmd) and port.encode() in cmd:
                for line in (proc / "status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            continue
    return 0.0


# ---- ingest floor and national data ------------------------------------------------------


def data_files(folder: Path, fmt: str) -> dict[str, str]:
    """table → the file or glob of a generated folder (flat, or partitioned by year/month)."""
    out = {}
    for table in TABLES:
        flat = folder / f"{table}.{fmt}"
        out[table] = str(flat if flat.exists() else folder / table / "**" / f"*.{fmt}")
    return out


def work_floor_ingest(spec: dict[str, Any]) -> Result:
    """DuckDB's bare reader: each input file into a table of a fresh DuckDB file, nothing else."""
    db = Path(spec["db"])
    db.unlink(missing_ok=True)
    con = configure(duckdb.connect(str(db)))
    reader = "read_csv" if spec["format"] == "csv" else "read_parquet"
    t0 = time.perf_counter()
    for table, path in data_files(Path(spec["dir"]), spec["format"]).items():
        con.execute(f"create table {table} as select * from {reader}(?)", [path])
    inside = time.perf_counter() - t0
    con.close()
    return {"times": [inside], "rss_mb": peak_rss_mb()}


ID_COLUMNS = {
    "hospitals": ["hospital_id"],
    "experts": ["expert_id", "hospital_id"],
    "cases": ["case_id", "hospital_id", "record_id"],
    "tasks": ["task_id", "case_id", "expert_id"],
}


def work_generate_region(spec: dict[str, Any]) -> Result:
    """One national region: a province-sized data set whose ids carry the region's prefix."""
    from sample_generator import generate

    w = Workload.from_json(spec["workload"])
    region = int(spec["region"])
    out = Path(spec["dir"])
    t0 = time.perf_counter()
    generate(w.cases // w.regions, w.seed + region, out, fmt="parquet", start=w.start, end=w.end)
    con = configure(duckdb.connect())
    prefix = f"R{region:02d}-"
    for table, ids in ID_COLUMNS.items():
        src, tmp = out / f"{table}.parquet", out / f"{table}.tmp.parquet"
        replace = ", ".join(f"'{prefix}' || {c} as {c}" for c in ids)
        con.execute(
            f"copy (select * replace ({replace}) from read_parquet('{src}')) "
            f"to '{tmp}' (format parquet, compression zstd)"
        )
        tmp.replace(src)
    con.close()
    return {"times": [time.perf_counter() - t0], "rss_mb": peak_rss_mb()}


PARTITION_TIME = {"cases": "submitted_at", "tasks": "pushed_at"}


def work_partition(spec: dict[str, Any]) -> Result:
    """The regions as one data set: registers as single files, cases and tasks by year/month.

    Layout `TABLE/year=YYYY/month=MM/TABLE_YYYY-MM.parquet` (Hive style, as Spark and Trino read
    it); the ingest loads it when given the leaf folders.
    """
    staging, out = Path(spec["staging"]), Path(spec["dir"])
    con = configure(duckdb.connect())
    con.execute(f"set temp_directory = '{out.parent / 'duckdb-tmp'}'")
    t0 = time.perf_counter()
    for table in TABLES:
        src = str(staging / "*" / f"{table}.parquet")
        if table not in PARTITION_TIME:
            (out / table).mkdir(parents=True, exist_ok=True)
            con.execute(
                f"copy (select * from read_parquet('{src}')) "
                f"to '{out / table / (table + '.parquet')}' (format parquet, compression zstd)"
            )
            continue
        col = PARTITION_TIME[table]
        con.execute(
            f"copy (select *, year({col}) as year, lpad(cast(month({col}) as varchar), 2, '0') "
            f"as month from read_parquet('{src}')) to '{out / table}' (format parquet, "
            f"compression zstd, partition_by (year, month), filename_pattern '{table}_{{i}}', "
            "overwrite_or_ignore true)"
        )
        for part in sorted((out / table).glob("year=*/month=*")):
            year, month = part.parent.name.split("=")[1], part.name.split("=")[1]
            for k, f in enumerate(sorted(part.glob(f"{table}_*.parquet"))):
                suffix = f"_{k}" if k else ""
                f.rename(part / f"{table}_{year}-{month}{suffix}.parquet")
    con.close()
    return {"times": [time.perf_counter() - t0], "rss_mb": peak_rss_mb()}


def leaf_folders(folder: Path) -> list[Path]:
    """Every folder under `folder` that holds Parquet files, in name order."""
    return sorted({f.parent for f in folder.rglob("*.parquet")})


def work_ingest_national(spec: dict[str, Any]) -> Result:
    """`pipelines.ingest.ingest` of every leaf folder, with DuckDB's memory limit set.

    The CLI cannot set a memory limit (pipelines.db.connect reads no setting for it), so this
    worker opens the warehouse the same way and sets it before the same ingest function.
    """
    from pipelines.ingest import ingest

    db = Path(spec["db"])
    db.unlink(missing_ok=True)
    con = product_connection(str(db))
    con.execute(f"set temp_directory = '{db.parent / 'duckdb-tmp'}'")
    t0 = time.perf_counter()
    reports = ingest(con, leaf_folders(Path(spec["dir"])), loaded_by="bench", log=lambda _m: None)
    seconds = time.perf_counter() - t0
    con.close()
    rows = {r.table: 0 for r in reports}
    for r in reports:
        rows[r.table] += r.accepted
    return {"times": [seconds], "rss_mb": peak_rss_mb(), "rows": rows, "files": len(reports)}


def work_profile(spec: dict[str, Any]) -> Result:
    """Where the time of the rule stages, the marts and the ingest goes (bench.profile)."""
    from bench import profile

    w = Workload.from_json(spec["workload"])
    text = profile.report(w, Path(spec["db"]), Path(spec["data"]), Path(spec["scratch"]))
    return {"times": [], "rss_mb": peak_rss_mb(), "markdown": text}


def work_command(spec: dict[str, Any]) -> Result:
    """`python -m MODULE ARGS…` run in this process (same interpreter start), for its peak memory."""
    import runpy

    sys.argv = [spec["module"], *spec["args"]]
    status: Any = 0
    try:
        runpy.run_module(spec["module"], run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        status = exc.code
    if status not in (0, None):
        raise RuntimeError(f"python -m {spec['module']} exited with {status}")
    return {"times": [], "rss_mb": peak_rss_mb()}


WORKERS: dict[str, Callable[[dict[str, Any]], Result]] = {
    "command": work_command,
    "rule": work_rule,
    "peer": work_peer,
    "page": work_page,
    "render": work_render,
    "floor-ingest": work_floor_ingest,
    "generate-region": work_generate_region,
    "partition": work_partition,
    "ingest-national": work_ingest_national,
    "profile": work_profile,
}


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    started = dt.datetime.now()
    result = WORKERS[spec["kind"]](spec)
    result["started"] = started.isoformat(timespec="seconds")
    Path(spec["out"]).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
