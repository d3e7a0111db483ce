"""generate(): the whole run — registers, case rounds, strikes, planted breaches, files, report."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from pipelines.errors import UsageError
from sample_generator import writer
from sample_generator.badrows import bad_rows as make_bad_rows
from sample_generator.ids import id_list
from sample_generator.oracle import disqualified_at, expected_breaches, strikes
from sample_generator.people import make_persons, name_pool
from sample_generator.plant import (
    CaseExperts,
    plant_benefit,
    plant_late_after_disqualified,
    plant_same_expert,
    plant_single_verdict,
    plant_strike_after,
    plant_upload,
    plant_verdict_flip,
    settle,
)
from sample_generator.registry import NONE, make_experts, make_hospitals
from sample_generator.settings import load_catalogue, load_rules, load_settings
from sample_generator.timeline import base_cases, benefit_start, resubmit, simulate
from sample_generator.workdays import work_calendar
from sample_generator.world import FAIL, PASS, Cols, World, concat

DEFAULT_START = dt.date(2025, 11, 1)
DEFAULT_END = dt.date(2026, 11, 20)
FORMATS = ("csv", "parquet")
LEGIT, PLANTED = 1, 2
STEPS = ["registers", "cases", "resubmissions", "strikes", "breaches", "report", "files"]


def _epoch_day(day: dt.date) -> int:
    return int(np.datetime64(day, "D").astype(np.int64))


def _epoch_second(at: dt.datetime) -> int:
    return int(np.datetime64(at, "s").astype(np.int64))


def split_end(end: dt.date | dt.datetime) -> tuple[dt.date, dt.datetime]:
    """The last submission day and the data's cut-off: a date ends at 23:59:59, an instant at
    itself (whole seconds)."""
    if isinstance(end, dt.datetime):
        return end.date(), end.replace(microsecond=0)
    return end, dt.datetime.combine(end, dt.time(23, 59, 59))


def check_args(cases: int, fmt: str, start: dt.date, end: dt.date, bad_rows: int) -> None:
    if cases < 100:
        raise UsageError(f"--cases 至少为 100（实际为 {cases}）")
    if fmt not in FORMATS:
        raise UsageError(f"--format 应为 {'、'.join(FORMATS)} 之一（实际为 {fmt!r}）")
    if start > end:
        raise UsageError(f"--start {start} 晚于 --end {end}")
    if bad_rows < 0:
        raise UsageError(f"--bad-rows 不能为负数（实际为 {bad_rows}）")


def _build_world(
    rng: np.random.Generator,
    cases: int,
    seed: int,
    start: dt.date,
    end: dt.date | dt.datetime,
    breaches: bool,
) -> tuple[World, Any]:
    st, rules = load_settings(), load_rules()
    cat = load_catalogue(st)
    cal = work_calendar()
    end, cutoff = split_end(end)
    start_day, end_day = _epoch_day(start), _epoch_day(end)
    cal.is_workday(np.array([start_day]))
    # deadlines and benefit starts of the last cases reach this many working days past --end
    cal.nth_after(np.array([end_day]), rules.instant_workdays + rules.complete_workdays + 1)
    sc = st["scale"]
    pool = name_pool(seed, sc["name_pool"])
    hospitals = make_hospitals(
        rng, max(sc["min_hospitals"], round(cases * sc["hospitals_per_case"])), st, rules
    )
    experts = make_experts(
        rng,
        round(cases * sc["experts_per_case"]),
        hospitals,
        cat,
        st,
        rules,
        pool,
        (start_day, end_day),
        cases,
        breaches,
    )
    world = World(
        rng=rng,
        cal=cal,
        rules=rules,
        st=st,
        cat=cat,
        hospitals=hospitals,
        experts=experts,
        start_day=start_day,
        end_day=end_day,
        breaches=breaches,
        as_of=_epoch_second(cutoff),
    )
    return world, pool


def _count(w: World, n: int, rate: float) -> int:
    return max(1, round(n * rate)) if w.breaches else 0


def _choose(w: World, candidates: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(candidates))
    return np.sort(w.rng.choice(candidates, k, replace=False)) if k else candidates[:0]


def _rounds(w: World, n: int, n_persons: int, bar: tqdm) -> tuple[Cols, Cols, np.ndarray]:
    """First submissions, then resubmissions of failed records (ZZ-REAPPLY), topped up to n."""
    br, fl, cat = w.st["breaches"], w.st["flow"], w.cat
    fail_share = 1 - (cat.approve * cat.weight).sum() / cat.weight.sum()
    legit_share = fail_share * (1 - fl["double_fail_share"]) * fl["resubmit_after_split"]
    n_a, n_b = _count(w, n, br["reapply_after_double_fail"]), _count(w, n, br["reapply_third"])
    n_base = max(1, n - round(n * legit_share) - n_a - n_b)
    batches: list[tuple[Cols, Cols, np.ndarray]] = []
    size = 0

    def run(c: Cols) -> tuple[Cols, np.ndarray]:
        nonlocal size
        t, d = simulate(w, c)
        t["case"] += size
        c["record"] = np.where(c["record"] == NONE, size + np.arange(len(d)), c["record"])
        size += len(d)
        batches.append((c, t, d))
        return c, d

    c1, d1 = run(base_cases(w, n_base, n_persons))
    bar.update(1)
    done = (d1 != NONE) & (d1 <= w.as_of)
    split = np.flatnonzero(done & (c1["v0"] != c1["v1"]))
    double = np.flatnonzero(done & (c1["v0"] == 0) & (c1["v1"] == 0))
    legit = split[w.rng.random(len(split)) < fl["resubmit_after_split"]]
    legit = _choose(w, legit, n - n_base - n_a - n_b)
    c2, d2 = run(
        concat(
            [
                resubmit(w, c1, d1, legit, LEGIT),
                resubmit(w, c1, d1, _choose(w, double, n_a), PLANTED),
            ]
        )
    )
    done = (d2 != NONE) & (d2 <= w.as_of) & (c2["resub"] == LEGIT)
    failed = np.flatnonzero(done & ((c2["v0"] == 0) | (c2["v1"] == 0)))
    third = resubmit(w, c2, d2, _choose(w, failed, n_b), PLANTED)
    if len(third["disease"]):
        run(third)
    if n > size:
        run(base_cases(w, n - size, n_persons))
    bar.update(1)
    return (
        concat([b[0] for b in batches]),
        concat([b[1] for b in batches]),
        np.concatenate([b[2] for b in batches]),
    )


def _censor_and_order(w: World, c: Cols, t: Cols, decided: np.ndarray) -> tuple[Cols, Cols]:
    """What the platform shows at as_of, cases in submission order and tasks in push order."""
    late_r = t["responded"] > w.as_of
    t["responded"][late_r] = NONE
    t["response"][late_r] = NONE
    late_c = t["completed"] > w.as_of
    t["completed"][late_c] = NONE
    t["verdict"][late_c] = NONE
    c["decided"] = np.where((decided != NONE) & (decided <= w.as_of), decided, NONE)
    both = (c["v0"] == PASS) & (c["v1"] == PASS)
    c["outcome"] = np.where(c["decided"] == NONE, NONE, np.where(both, PASS, FAIL))
    benefit = benefit_start(w, c["disease"], c["submitted"], c["decided"])
    c["benefit"] = np.where(c["outcome"] == PASS, benefit, NONE)
    order = np.argsort(c["submitted"], kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    c = {k: v[order] for k, v in c.items()}
    c["record"] = rank[c["record"]]
    t["case"] = rank[t["case"]]
    t_order = np.lexsort((t["stage"], t["slot"], t["case"], t["pushed"]))
    return c, {k: v[t_order] for k, v in t.items()}


def _plant(w: World, c: Cols, t: Cols) -> dict[str, np.ndarray]:
    """Settle the strike history, then plant each case- and task-level breach."""
    case_experts = CaseExperts(t, 2 * w.st["flow"]["max_pushes_per_slot"])
    settle(w, c, t, case_experts)
    disq = disqualified_at(w, strikes(w, t), len(w.experts))
    free = ~c["family"]
    plant_late_after_disqualified(w, c, t, free, disq)
    single = plant_single_verdict(w, c, t, free)
    same = plant_same_expert(w, c, t, free, disq)
    return {
        "ZZ-ASSIGN": np.concatenate([single, same]),
        "ZZ-STRIKE-AFTER": plant_strike_after(w, c, t, free, disq, case_experts),
        "ZZ-VERDICT": plant_verdict_flip(w, c, free),
        "ZZ-BENEFIT": plant_benefit(w, c, free),
        "ZZ-UPLOAD": plant_upload(w, c, free),
        "ZZ-REAPPLY": np.flatnonzero(c["resub"] == PLANTED),
        "ZZ-EXPERT-QUAL": np.flatnonzero(w.experts.unqualified),
    }


ID_KIND = {"ZZ-STRIKE-AFTER": "task", "ZZ-EXPERT-QUAL": "expert"}


def _check_planted(report: dict[str, Any], planted: dict[str, np.ndarray]) -> None:
    """The oracle must find exactly what was planted (strikes aside, which it counts itself)."""
    for rule, idx in planted.items():
        want = id_list(ID_KIND.get(rule, "case"), idx)
        if report["planted"][rule] != want:
            raise RuntimeError(
                f"{rule}: planted {want[:5]}… but the rules find {report['planted'][rule][:5]}…"
            )


def generate(
    cases: int,
    seed: int,
    out: Path,
    fmt: str = "csv",
    start: dt.date = DEFAULT_START,
    end: dt.date | dt.datetime = DEFAULT_END,
    breaches: bool = True,
    bad_rows: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Write hospitals, experts, cases, tasks (+ expected_breaches.json) to `out`; return the report.

    `end` is the last submission day (the data's cut-off `as_of` is then 23:59:59 of it) or an
    instant (the cut-off itself: nothing happens after it, and tasks are still open at it).

    Example: generate(20_000, seed=7, out=Path("data/demo")) — same seed, byte-identical files.
    """
    check_args(cases, fmt, start, split_end(end)[0], bad_rows)
    bar = tqdm(total=len(STEPS), desc="sample", file=sys.stderr, disable=not progress, unit="step")
    rng = np.random.default_rng(seed)
    w, pool = _build_world(rng, cases, seed, start, end, breaches)
    sc = w.st["scale"]
    local = np.array(w.st["districts"]["area_codes"], dtype=np.int64)
    persons = make_persons(
        rng,
        max(100, round(cases * sc["persons_per_case"])),
        pool,
        local,
        w.st["districts"]["local_share"],
        w.start_day,
    )
    bar.update(1)
    c, t, decided = _rounds(w, cases, len(persons.male), bar)
    c, t = _censor_and_order(w, c, t, decided)
    bar.update(1)
    planted = _plant(w, c, t)
    bar.update(1)
    report = expected_breaches(w, c, t)
    _check_planted(report, planted)
    bar.update(1)
    tables = {
        "hospitals": writer.hospitals_table(w),
        "experts": writer.experts_table(w, pool),
        "cases": writer.cases_table(w, c, persons, pool),
        "tasks": writer.tasks_table(t),
    }
    tables = {name: table.select(writer.COLUMNS[name]) for name, table in tables.items()}
    bad = make_bad_rows(w, bad_rows, fmt, c, t, {k: v.num_rows for k, v in tables.items()})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        writer.write_table(table, bad["rows"][name], out / f"{name}.{fmt}", fmt)
    result = {
        "as_of": f"{split_end(end)[1]:%Y-%m-%d %H:%M:%S}",
        "profile": w.rules.name,
        "generator": {
            "cases": cases,
            "seed": seed,
            "format": fmt,
            "start": start.isoformat(),
            "end": end.isoformat(sep=" ") if isinstance(end, dt.datetime) else end.isoformat(),
            "breaches": breaches,
            "bad_rows": bad_rows,
        },
        "rows": {k: v.num_rows for k, v in tables.items()},
        **report,
        "quarantine": bad["quarantine"],
        "quarantine_rows": bad["quarantine_rows"],
    }
    (out / "expected_breaches.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    bar.update(1)
    bar.close()
    return result
