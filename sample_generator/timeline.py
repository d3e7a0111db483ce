"""Cases and their task chains (ZZ-ASSIGN flow): submission, pushes, responses, verdicts."""

from __future__ import annotations

import numpy as np

from sample_generator.registry import NONE
from sample_generator.workdays import DAY
from sample_generator.world import (
    ACCEPT,
    DECLINE,
    LATE_ACCEPT,
    LATE_COMPLETE,
    LATE_DECLINE,
    LATE_KIND_NAMES,
    NEVER_COMPLETE,
    NO_RESPONSE,
    ON_TIME,
    Cols,
    World,
)

HOUR = 3600
FMT_PDF, FMT_SCAN, FMT_OTHER = 0, 1, 2


def working_hours(w: World, n: int) -> np.ndarray:
    """Seconds after midnight within office hours (08:00–12:00, 14:30–18:00)."""
    morning = w.rng.random(n) < w.st["flow"]["morning_share"]
    return np.where(morning, w.u(8 * HOUR, 12 * HOUR, n), w.u(14.5 * HOUR, 18 * HOUR, n))


OPENS = 8 * HOUR  # office hours start


def submission_times(w: World, n: int) -> np.ndarray:
    """Submission instants on working days of the window, weighted by month and weekday; none
    after the cut-off (an --end instant): those of its day fall between 08:00 and it."""
    days = w.cal.workdays_between(w.start_day, w.end_day)
    days = days[days * DAY + OPENS < w.as_of]
    if not len(days):
        raise ValueError("--start/--end 之间没有截止时间之前的工作时间，无法生成申报")
    month = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
    weekday = (days + 3) % 7
    season = w.st["seasonality"]
    p = np.array(season["month"])[month] * np.array(season["weekday"])[weekday]
    day = w.rng.choice(days, n, p=p / p.sum())
    at = day * DAY + working_hours(w, n)
    late = np.flatnonzero(at > w.as_of)
    if len(late):  # only with an --end instant: a date's cut-off is after every office hour
        at[late] = w.u(day[late][0] * DAY + OPENS, w.as_of + 1, len(late))
    return at


def base_cases(w: World, n: int, n_persons: int) -> Cols:
    """n first submissions of a new medical record, with the verdicts their experts will give."""
    rng, fl, cat = w.rng, w.st["flow"], w.cat
    disease = rng.choice(len(cat.names), n, p=cat.weight / cat.weight.sum())
    hospital = rng.choice(
        len(w.hospitals.case_weight), n, p=w.hospitals.case_weight / w.hospitals.case_weight.sum()
    )
    submitted = submission_times(w, n)
    sub_day = submitted // DAY
    old = rng.random(n) < fl["pre_2022_discharge_share"]
    pdf_day = int(np.datetime64(w.rules.pdf_from, "D").astype(np.int64))
    gap = np.clip(rng.lognormal(np.log(fl["discharge_median_days"]), 0.9, n), 1, 720).astype(
        np.int64
    )
    discharge = np.where(old, rng.integers(pdf_day - 6 * 365, pdf_day, n), sub_day - gap)
    fmt = np.where(old & (rng.random(n) < 0.7), FMT_SCAN, FMT_PDF)
    fmt = np.where(discharge >= pdf_day, FMT_PDF, fmt)
    size = np.clip(
        rng.lognormal(np.log(fl["record_size_median_mb"]), fl["record_size_sigma"], n),
        0.2,
        fl["record_size_max_mb"],
    ).round(2)
    v0, v1 = draw_verdicts(w, disease)
    return {
        "disease": disease,
        "spec": cat.spec[disease],
        "hospital": hospital,
        "person": rng.integers(0, n_persons, n),
        "submitted": submitted,
        "record": np.full(n, NONE, dtype=np.int64),
        "fmt": fmt,
        "size": size,
        "discharge": discharge,
        "employee": rng.random(n) < fl["employee_share"],
        "v0": v0,
        "v1": v1,
        "family": np.zeros(n, dtype=bool),
        "resub": np.zeros(n, dtype=np.int64),
    }


def draw_verdicts(w: World, disease: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two experts' verdicts (1 符合, 0 不符合): both pass, both fail, or split."""
    n = len(disease)
    approve = w.rng.random(n) < w.cat.approve[disease]
    double = w.rng.random(n) < w.st["flow"]["double_fail_share"]
    first = (w.rng.random(n) < 0.5).astype(np.int64)
    v0 = np.where(approve, 1, np.where(double, 0, first))
    v1 = np.where(approve, 1, np.where(double, 0, 1 - first))
    return v0, v1


def resubmit(w: World, src: Cols, decided: np.ndarray, origins: np.ndarray, kind: int) -> Cols:
    """The same medical record submitted again for the same disease after its decision."""
    lo, hi = w.st["flow"]["resubmit_gap_days"]
    k = len(origins)
    day = np.minimum(decided[origins] // DAY + w.rng.integers(lo, hi, k), w.end_day + 1)
    day = w.cal.on_or_after(day)
    at = day * DAY + working_hours(w, k)
    keep = (day <= w.end_day) & (at > decided[origins]) & (at <= w.as_of)
    origins = origins[keep]
    new = {key: v[origins].copy() for key, v in src.items()}
    new["submitted"] = at[keep]
    new["v0"], new["v1"] = draw_verdicts(w, new["disease"])
    new["family"][:] = True
    new["resub"][:] = kind
    src["family"][origins] = True
    return new


def _response_delay(w: World, n: int) -> np.ndarray:
    fl = w.st["flow"]
    limit = w.rules.accept_s - 600
    r = w.rng.lognormal(np.log(fl["response_median_min"] * 60), fl["response_sigma"], n)
    r = np.where(r > limit, w.rng.uniform(300, limit, n), r)
    return np.maximum(r, 20).astype(np.int64)


def _late_kinds(w: World, expert: np.ndarray) -> np.ndarray:
    br = w.st["breaches"]
    late = w.rng.random(len(expert)) < w.experts.p_late[expert]
    weights = np.array(
        [br["late_kind_weights"][br["late_kinds"].index(k)] for k in LATE_KIND_NAMES]
    )
    kind = 1 + w.rng.choice(len(weights), len(expert), p=weights / weights.sum())
    return np.where(late, kind, ON_TIME)


def new_year_midnight(t: np.ndarray) -> np.ndarray:
    """Instants exactly at 1 Jan 00:00:00, whose 'year' a reader could take either way."""
    d = (t // DAY).astype("datetime64[D]")
    return (t % DAY == 0) & (d == d.astype("datetime64[Y]").astype("datetime64[D]"))


def _responses(w: World, push: np.ndarray, expert: np.ndarray, last: bool) -> Cols:
    """Each pushed task's response, completion, planted lateness and the next push if any."""
    rng, fl, rules = w.rng, w.st["flow"], w.rules
    m = len(push)
    kind = np.zeros(m, dtype=np.int64) if last else _late_kinds(w, expert)
    resp_on = push + _response_delay(w, m)
    dl = push + rules.accept_s
    cdl = w.cal.deadline(resp_on, rules.complete_workdays)
    accept_kind = np.isin(kind, [LATE_ACCEPT, LATE_DECLINE, NO_RESPONSE])
    complete_kind = np.isin(kind, [LATE_COMPLETE, NEVER_COMPLETE])
    ambiguous = (accept_kind & new_year_midnight(dl)) | (complete_kind & new_year_midnight(cdl))
    kind[ambiguous] = ON_TIME
    decline = (kind == ON_TIME) & (rng.random(m) < fl["decline_rate"]) & (not last)
    lo, hi = (h * HOUR for h in fl["late_response_extra_h"])
    late_resp = np.isin(kind, [LATE_ACCEPT, LATE_DECLINE])
    responded = np.where(late_resp, dl + w.u(lo, hi, m), resp_on)
    responded[kind == NO_RESPONSE] = NONE
    response = np.where(decline | (kind == LATE_DECLINE), DECLINE, ACCEPT)
    response[kind == NO_RESPONSE] = NONE
    work = rng.lognormal(np.log(fl["complete_median_h"] * HOUR), fl["complete_sigma"], m)
    room = cdl - resp_on - w.u(60, 3 * HOUR, m)
    completed = resp_on + np.maximum(np.minimum(work, room), 60).astype(np.int64)
    lo, hi = (h * HOUR for h in fl["late_complete_extra_h"])
    completed = np.where(kind == LATE_COMPLETE, cdl + w.u(lo, hi, m), completed)
    completed = np.where(kind == LATE_ACCEPT, responded + work.astype(np.int64), completed)
    cont = (response != ACCEPT) | (kind == NEVER_COMPLETE)
    completed[cont] = NONE
    # the platform re-pushes after a decline, a missed response or a missed completion
    waited = np.where(response == DECLINE, responded, np.where(kind == NEVER_COMPLETE, cdl, dl))
    return {
        "responded": responded,
        "response": response,
        "completed": completed,
        "late": kind,
        "cont": cont,
        "next_push": waited + w.u(*fl["push_delay_s"], m),
    }


def simulate(w: World, cases: Cols) -> tuple[Cols, np.ndarray]:
    """Push each case to two experts; follow declines and timeouts with replacement pushes.

    Returns the tasks (pushed up to as_of; later response/completion times still uncensored) and
    each case's decision time (NONE where a chain did not end with a verdict by as_of).
    """
    fl = w.st["flow"]
    n = len(cases["spec"])
    stages = fl["max_pushes_per_slot"]
    used = np.full((n, 2 * stages), NONE, dtype=np.int64)
    n_used = np.zeros(n, dtype=np.int64)
    case = np.repeat(np.arange(n), 2)
    slot = np.tile([0, 1], n)
    push = cases["submitted"][case] + w.u(*fl["push_delay_s"], 2 * n)
    final = np.full((n, 2), NONE, dtype=np.int64)
    parts: list[Cols] = []
    for stage in range(stages):
        alive = push <= w.as_of
        case, slot, push = case[alive], slot[alive], push[alive]
        if not len(case):
            break
        expert = np.empty(len(case), dtype=np.int64)
        for s in (0, 1):
            sel = np.flatnonzero(slot == s)
            c = case[sel]
            expert[sel] = w.draw_experts(cases["spec"][c], push[sel], used[c])
            used[c, n_used[c]] = expert[sel]
            n_used[c] += 1
        r = _responses(w, push, expert, stage == stages - 1)
        cont = r.pop("cont")
        next_push = r.pop("next_push")
        verdict = np.where(slot == 0, cases["v0"][case], cases["v1"][case])
        final[case[~cont], slot[~cont]] = r["completed"][~cont]
        parts.append(
            {
                "case": case,
                "slot": slot,
                "stage": np.full(len(case), stage),
                "expert": expert,
                "pushed": push,
                "verdict": np.where(cont, NONE, verdict),
                **r,
            }
        )
        case, slot, push = case[cont], slot[cont], next_push[cont]
    if not parts:  # no case pushed by as_of (a small or late batch): no tasks, no decisions
        keys = ("case", "slot", "stage", "expert", "pushed", "verdict", "responded", "response")
        empty = np.empty(0, dtype=np.int64)
        return {k: empty for k in (*keys, "completed", "late")}, np.full(n, NONE, np.int64)
    tasks = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    done = (final != NONE).all(1)
    decided = np.where(done, final.max(1) + w.u(*fl["decide_delay_s"], n), NONE)
    return tasks, decided


def benefit_start(
    w: World, disease: np.ndarray, submitted: np.ndarray, decided: np.ndarray
) -> np.ndarray:
    """ZZ-BENEFIT: 集中办结 → 1st of the month after approval; 即时办结 → by the 6th working day."""
    dday = decided // DAY
    next_month = (dday.astype("datetime64[D]").astype("datetime64[M]") + 1).astype("datetime64[D]")
    by_batch = next_month.astype(np.int64)
    latest = w.cal.nth_after(submitted // DAY, w.rules.instant_workdays)
    return np.where(w.cat.instant[disease], np.minimum(dday, latest), by_batch)
