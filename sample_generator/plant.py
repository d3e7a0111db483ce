"""Keep the strike history consistent, then plant the breaches at their small rates.

`settle` makes the platform behave: no push to an expert after a ZZ-STRIKE disqualification.
The plant_* functions break one rule each, on cases no other plant touched, and return what they
planted so generate() can check the oracle finds exactly that.
"""

from __future__ import annotations

import numpy as np

from sample_generator.oracle import NEVER, disqualified_at, strikes
from sample_generator.registry import NONE
from sample_generator.timeline import (
    FMT_OTHER,
    FMT_PDF,
    FMT_SCAN,
    benefit_start,
    new_year_midnight,
)
from sample_generator.workdays import DAY, year_of_day
from sample_generator.world import DECLINE, FAIL, LATE_COMPLETE, ON_TIME, PASS, Cols, World


class CaseExperts:
    """The experts pushed for each case, read live from the task log's expert column."""

    def __init__(self, t: Cols, width: int) -> None:
        self.t = t
        self.width = width
        self.order = np.argsort(t["case"], kind="stable")
        self.sorted_case = t["case"][self.order]

    def __call__(self, cases: np.ndarray) -> np.ndarray:
        lo = np.searchsorted(self.sorted_case, cases, side="left")
        hi = np.searchsorted(self.sorted_case, cases, side="right")
        out = np.full((len(cases), self.width), NONE, dtype=np.int64)
        for j in range(self.width):
            pos = lo + j
            ok = pos < hi
            out[ok, j] = self.t["expert"][self.order[pos[ok]]]
        return out


def settle(w: World, c: Cols, t: Cols, case_experts: CaseExperts) -> None:
    """Move pushes that fall at/after an expert's disqualification to other eligible experts.

    Also moves a late task pushed before the disqualification whose strike would land in a later
    calendar year (its numbering there would be ambiguous). Disqualification times only move
    earlier as tasks move, so this converges.
    """
    for _ in range(200):
        s = strikes(w, t)
        disq = disqualified_at(w, s, len(w.experts))
        bad = t["pushed"] >= disq[t["expert"]]
        t_disq = disq[s["expert"]]
        later_year = (s["time"] > t_disq) & (t_disq != NEVER)
        later_year &= s["year"] != year_of_day(np.minimum(t_disq, s["time"]) // DAY)
        bad[s["task"][later_year]] = True
        idx = np.flatnonzero(bad)
        if not len(idx):
            return
        _reassign(w, c, t, idx, disq, case_experts)
    raise RuntimeError("strike history did not settle")


def _reassign(
    w: World, c: Cols, t: Cols, idx: np.ndarray, disq: np.ndarray, case_experts: CaseExperts
) -> None:
    case = t["case"][idx]
    order = np.lexsort((idx, case))
    idx, case = idx[order], case[order]
    first = np.ones(len(idx), dtype=bool)
    first[1:] = case[1:] != case[:-1]
    level = np.arange(len(idx)) - np.maximum.accumulate(np.where(first, np.arange(len(idx)), 0))
    for lv in range(level.max() + 1):
        sel = idx[level == lv]
        used = case_experts(t["case"][sel])
        spec = w.cat.spec[c["disease"][t["case"][sel]]]
        t["expert"][sel] = w.draw_experts(spec, t["pushed"][sel], used, cutoff=disq)


def _count(w: World, n: int, rate: float, available: int) -> int:
    return min(available, max(1, round(n * rate))) if w.breaches else 0


def _pick(w: World, candidates: np.ndarray, k: int) -> np.ndarray:
    return np.sort(w.rng.choice(candidates, k, replace=False)) if k else candidates[:0]


def _terminal(t: Cols, n: int) -> np.ndarray:
    """Task index of each case's verdict per slot (NONE if none)."""
    out = np.full((n, 2), NONE, dtype=np.int64)
    v = np.flatnonzero(t["verdict"] != NONE)
    out[t["case"][v], t["slot"][v]] = v
    return out


def plant_late_after_disqualified(
    w: World, c: Cols, t: Cols, free: np.ndarray, disq: np.ndarray
) -> np.ndarray:
    """ZZ-STRIKE `after_disqualified`: a review accepted before the disqualification, finished late."""
    owner_disq = disq[t["expert"]]
    idx = np.flatnonzero(
        (t["late"] == ON_TIME)
        & (t["verdict"] != NONE)
        & (t["pushed"] < owner_disq)
        & free[t["case"]]
    )
    cdl = w.cal.deadline(t["responded"][idx], w.rules.complete_workdays)
    at = owner_disq[idx]
    ok = (cdl > at) & (cdl < w.as_of) & ~new_year_midnight(cdl)
    ok &= year_of_day(cdl // DAY) == year_of_day(np.minimum(at, cdl) // DAY)
    _, first = np.unique(t["expert"][idx[ok]], return_index=True)
    cand, cdl = idx[ok][first], cdl[ok][first]
    n_disq = int((disq != NEVER).sum())
    k = _count(w, n_disq, w.st["breaches"]["late_after_disqualified"], len(cand))
    pick = np.sort(w.rng.choice(len(cand), k, replace=False)) if k else np.zeros(0, dtype=np.int64)
    chosen = cand[pick]
    t["completed"][chosen] = cdl[pick] + w.u(60, 20 * 3600, k)
    t["late"][chosen] = LATE_COMPLETE
    cases = t["case"][chosen]
    term = _terminal(t, len(c["disease"]))[cases]
    decided = t["completed"][term].max(1) + w.u(*w.st["flow"]["decide_delay_s"], k)
    open_ = decided > w.as_of
    c["decided"][cases] = np.where(open_, NONE, decided)
    c["outcome"][cases[open_]] = NONE
    late = t["completed"][chosen] > w.as_of
    t["completed"][chosen[late]] = NONE
    t["verdict"][chosen[late]] = NONE
    b = benefit_start(w, c["disease"][cases], c["submitted"][cases], c["decided"][cases])
    c["benefit"][cases] = np.where(c["outcome"][cases] == PASS, b, NONE)
    free[cases] = False
    return chosen


def plant_single_verdict(w: World, c: Cols, t: Cols, free: np.ndarray) -> np.ndarray:
    """ZZ-ASSIGN: the second expert declines, nobody replaces him, the case is decided anyway."""
    n = len(c["disease"])
    term = _terminal(t, n)
    ok = free & (term != NONE).all(1)
    x = term[:, 1].clip(0)
    ok &= (t["late"][x] == ON_TIME) & (t["late"][term[:, 0].clip(0)] == ON_TIME)
    a = term[:, 0].clip(0)
    decided = np.maximum(t["completed"][a], t["responded"][x]) + w.u(
        *w.st["flow"]["decide_delay_s"], n
    )
    ok &= decided <= w.as_of
    k = _count(w, n, w.st["breaches"]["assign_single_verdict"], int(ok.sum()))
    chosen = _pick(w, np.flatnonzero(ok), k)
    x, a = term[chosen, 1], term[chosen, 0]
    t["response"][x] = DECLINE
    t["completed"][x] = NONE
    t["verdict"][x] = NONE
    t["verdict"][a] = FAIL
    c["decided"][chosen] = decided[chosen]
    c["outcome"][chosen] = FAIL
    c["benefit"][chosen] = NONE
    free[chosen] = False
    return chosen


def plant_same_expert(w: World, c: Cols, t: Cols, free: np.ndarray, disq: np.ndarray) -> np.ndarray:
    """ZZ-ASSIGN: the replacement after a decline is pushed to the expert who declined."""
    stages = w.st["flow"]["max_pushes_per_slot"]
    key = (t["case"] * 2 + t["slot"]) * stages + t["stage"]
    order = np.argsort(key)
    later = np.flatnonzero(t["stage"] > 0)
    prev = order[np.searchsorted(key[order], key[later] - 1)]
    d = t["expert"][prev]
    ok = (
        (t["response"][prev] == DECLINE)
        & (t["late"][prev] == ON_TIME)
        & (t["late"][later] == ON_TIME)
    )
    ok &= free[t["case"][later]] & (c["outcome"][t["case"][later]] != NONE)
    ok &= t["pushed"][later] < np.minimum(disq[d], w.reg_to[d])
    _, first = np.unique(t["case"][later[ok]], return_index=True)
    cand = later[ok][first]
    k = _count(w, len(c["disease"]), w.st["breaches"]["assign_same_expert"], len(cand))
    chosen = _pick(w, cand, k)
    prev_of = dict(zip(later.tolist(), prev.tolist(), strict=True))
    for x in chosen.tolist():
        t["expert"][x] = t["expert"][prev_of[x]]
    cases = t["case"][chosen]
    free[cases] = False
    return cases


def plant_strike_after(
    w: World, c: Cols, t: Cols, free: np.ndarray, disq: np.ndarray, case_experts: CaseExperts
) -> np.ndarray:
    """ZZ-STRIKE-AFTER: on-time tasks pushed to experts after their disqualification."""
    experts = np.flatnonzero(disq < w.as_of - DAY)
    k = _count(w, len(t["case"]), w.st["breaches"]["strike_after_per_task"], len(experts) * 2)
    planted: list[int] = []
    spec_of_task = w.cat.spec[c["disease"][t["case"]]]
    for i in range(k):
        e = int(experts[i % len(experts)]) if len(experts) else -1
        lo = np.searchsorted(t["pushed"], disq[e] + 60, side="left")
        for _ in range(200):
            if lo >= len(t["pushed"]):
                break
            x = int(w.rng.integers(lo, len(t["pushed"])))
            cs = int(t["case"][x])
            if (
                spec_of_task[x] != w.experts.spec[e]
                or t["late"][x] != ON_TIME
                or not free[cs]
                or e in case_experts(np.array([cs]))[0]
            ):
                continue
            t["expert"][x] = e
            free[cs] = False
            planted.append(x)
            break
    return np.array(sorted(planted), dtype=np.int64)


def plant_verdict_flip(w: World, c: Cols, free: np.ndarray) -> np.ndarray:
    """ZZ-VERDICT: the recorded outcome disagrees with the two verdicts."""
    ok = free & (c["outcome"] != NONE)
    k = _count(w, len(ok), w.st["breaches"]["verdict_flip"], int(ok.sum()))
    chosen = _pick(w, np.flatnonzero(ok), k)
    c["outcome"][chosen] = np.where(c["outcome"][chosen] == PASS, FAIL, PASS)
    b = benefit_start(w, c["disease"][chosen], c["submitted"][chosen], c["decided"][chosen])
    c["benefit"][chosen] = np.where(c["outcome"][chosen] == PASS, b, NONE)
    free[chosen] = False
    return chosen


def plant_benefit(w: World, c: Cols, free: np.ndarray) -> np.ndarray:
    """ZZ-BENEFIT: a benefit start outside the rule (too early a month, or past the 6th workday)."""
    ok = free & (c["outcome"] == PASS)
    k = _count(w, len(ok), w.st["breaches"]["benefit_wrong"], int(ok.sum()))
    chosen = _pick(w, np.flatnonzero(ok), k)
    instant = w.cat.instant[c["disease"][chosen]]
    latest = w.cal.nth_after(c["submitted"][chosen] // DAY, w.rules.instant_workdays)
    month_start = (c["decided"][chosen] // DAY).astype("datetime64[D]").astype("datetime64[M]")
    early = month_start.astype("datetime64[D]").astype(np.int64)
    c["benefit"][chosen] = np.where(instant, latest + w.rng.integers(1, 15, k), early)
    free[chosen] = False
    return chosen


def plant_upload(w: World, c: Cols, free: np.ndarray) -> np.ndarray:
    """ZZ-UPLOAD: a record file over the size limit, or a scan for a discharge after the PDF date."""
    br = w.st["breaches"]
    n = len(free)
    k = _count(w, n, br["upload_oversize"], int(free.sum()))
    big = _pick(w, np.flatnonzero(free), k)
    c["size"][big] = (
        (w.rules.max_size_mb + w.rng.uniform(0.01, 20, k)).round(2).clip(w.rules.max_size_mb + 0.01)
    )
    free[big] = False
    pdf_day = int(np.datetime64(w.rules.pdf_from, "D").astype(np.int64))
    ok = free & (c["discharge"] >= pdf_day) & (c["fmt"] == FMT_PDF)
    k = _count(w, n, br["upload_not_pdf"], int(ok.sum()))
    scan = _pick(w, np.flatnonzero(ok), k)
    c["fmt"][scan] = np.where(w.rng.random(k) < 0.7, FMT_SCAN, FMT_OTHER)
    free[scan] = False
    return np.sort(np.concatenate([big, scan]))
