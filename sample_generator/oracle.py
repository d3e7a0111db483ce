"""What the rule engine must find in the generated data (shared/RULES.md, profile zhengzhou).

An independent, vectorised reading of the rules evaluated at as_of = the data's cut-off (--end):
ZZ-ACCEPT / ZZ-COMPLETE strikes and their ZZ-STRIKE numbering, ZZ-STRIKE-AFTER, ZZ-ASSIGN,
ZZ-VERDICT, ZZ-REAPPLY, ZZ-UPLOAD, ZZ-EXPERT-QUAL, ZZ-BENEFIT and ZZ-HOSPITAL5.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sample_generator.ids import id_list
from sample_generator.registry import NONE
from sample_generator.timeline import FMT_PDF, benefit_start
from sample_generator.workdays import DAY, year_of_day
from sample_generator.world import ACCEPT, FAIL, PASS, Cols, World

NEVER = np.iinfo(np.int64).max
ACCEPT_TIMEOUT, COMPLETE_TIMEOUT = 1, 2
KIND_NAMES = {ACCEPT_TIMEOUT: "accept_timeout", COMPLETE_TIMEOUT: "complete_timeout"}


def strikes(w: World, t: Cols) -> Cols:
    """ZZ-STRIKE: one strike per late task, numbered per expert per calendar year of its deadline."""
    dl = t["pushed"] + w.rules.accept_s
    resp = t["responded"]
    late_accept = np.where(resp != NONE, resp > dl, dl < w.as_of)
    ok = np.flatnonzero((t["response"] == ACCEPT) & (resp != NONE) & ~late_accept)
    cdl = w.cal.deadline(resp[ok], w.rules.complete_workdays)
    comp = t["completed"][ok]
    late_complete = np.where(comp != NONE, comp > cdl, cdl < w.as_of)
    a_idx, c_idx = np.flatnonzero(late_accept), ok[late_complete]
    task = np.concatenate([a_idx, c_idx])
    kind = np.concatenate(
        [np.full(len(a_idx), ACCEPT_TIMEOUT), np.full(len(c_idx), COMPLETE_TIMEOUT)]
    )
    time = np.concatenate([dl[a_idx], cdl[late_complete]])
    expert = t["expert"][task]
    year = year_of_day(time // DAY)
    order = np.lexsort((task, time, year, expert))
    task, kind, time, expert, year = (
        task[order],
        kind[order],
        time[order],
        expert[order],
        year[order],
    )
    new_group = np.ones(len(task), dtype=bool)
    new_group[1:] = (expert[1:] != expert[:-1]) | (year[1:] != year[:-1])
    starts = np.maximum.accumulate(np.where(new_group, np.arange(len(task)), 0))
    return {
        "task": task,
        "kind": kind,
        "time": time,
        "expert": expert,
        "year": year,
        "no": np.arange(len(task)) - starts + 1,
    }


def disqualified_at(w: World, s: Cols, n_experts: int) -> np.ndarray:
    """Each expert's ZZ-STRIKE disqualification time (the first strike numbered disqualify_at)."""
    out = np.full(n_experts, NEVER, dtype=np.int64)
    third = s["no"] == w.rules.disqualify_at
    np.minimum.at(out, s["expert"][third], s["time"][third])
    return out


def _per_case(t: Cols, n: int, mask: np.ndarray) -> np.ndarray:
    return np.bincount(t["case"], weights=mask, minlength=n).astype(np.int64)


def case_checks(w: World, c: Cols, t: Cols) -> dict[str, np.ndarray]:
    """Case-level rule breaches as boolean masks over the cases."""
    n, n_e = len(c["disease"]), len(w.experts)
    decided = c["outcome"] != NONE
    has_v = t["verdict"] != NONE
    n_v = _per_case(t, n, has_v)
    n_pass = _per_case(t, n, t["verdict"] == PASS)
    n_fail = _per_case(t, n, t["verdict"] == FAIL)
    key = np.sort(t["case"] * n_e + t["expert"])
    dup = np.zeros(n, dtype=bool)
    dup[key[1:][key[1:] == key[:-1]] // n_e] = True
    key_v = np.sort(t["case"][has_v] * n_e + t["expert"][has_v])
    new_v = np.ones(len(key_v), dtype=bool)
    new_v[1:] = key_v[1:] != key_v[:-1]
    distinct_v = np.bincount(key_v[new_v] // n_e, minlength=n)
    wrong_spec = np.zeros(n, dtype=bool)
    wrong_spec[t["case"][w.experts.spec[t["expert"]] != w.cat.spec[c["disease"][t["case"]]]]] = True
    assign = (decided & ((n_v != 2) | (distinct_v != 2))) | dup | wrong_spec

    derived = np.where((n_pass == n_v) & (n_v >= 2), PASS, FAIL)
    verdict = decided & (n_v >= 1) & (c["outcome"] != derived)

    fail = n_fail >= 1
    double = (n_fail >= 2) & (n_pass == 0)
    order = np.lexsort((np.arange(n), c["submitted"], c["disease"], c["record"]))
    rec, dis = c["record"][order], c["disease"][order]
    first = np.ones(n, dtype=bool)
    first[1:] = (rec[1:] != rec[:-1]) | (dis[1:] != dis[:-1])
    reapply = np.zeros(n, dtype=bool)
    reapply[order] = (_prior(double[order], first) > 0) | (_prior(fail[order], first) >= 2)

    pdf_day = int(np.datetime64(w.rules.pdf_from, "D").astype(np.int64))
    upload = (c["size"] > w.rules.max_size_mb) | (
        (c["discharge"] >= pdf_day) & (c["fmt"] != FMT_PDF)
    )

    approved = c["outcome"] == PASS
    sub_day = c["submitted"] // DAY
    expected = benefit_start(w, c["disease"], c["submitted"], c["decided"])
    latest = w.cal.nth_after(sub_day, w.rules.instant_workdays)
    instant = w.cat.instant[c["disease"]]
    wrong = np.where(
        instant, (c["benefit"] < sub_day) | (c["benefit"] > latest), c["benefit"] != expected
    )
    benefit = (approved & ((c["benefit"] == NONE) | wrong)) | (~approved & (c["benefit"] != NONE))
    return {
        "ZZ-ASSIGN": assign,
        "ZZ-VERDICT": verdict,
        "ZZ-REAPPLY": reapply,
        "ZZ-UPLOAD": upload,
        "ZZ-BENEFIT": benefit,
    }


def _prior(x: np.ndarray, first: np.ndarray) -> np.ndarray:
    """How many earlier rows of the same group have x (rows sorted by group)."""
    cs = np.cumsum(x) - x
    return cs - np.maximum.accumulate(np.where(first, cs, 0))


def unqualified(w: World) -> np.ndarray:
    """ZZ-EXPERT-QUAL: experts without a senior title or from a non-qualifying hospital."""
    ex = w.experts
    titles = np.array(["主任医师", "副主任医师", "主治医师", "住院医师"])[ex.title]
    return ~np.isin(titles, list(w.rules.titles)) | ~w.hospitals.qualifying[ex.hospital]


def hospital_penalties(w: World, disq: np.ndarray) -> dict[str, list[str]]:
    """ZZ-HOSPITAL5: hospitals with disqualified >= 1 and disqualified / total >= 5% per year."""
    ex, r = w.experts, w.rules
    reg_disq = np.where(ex.register_disq == NONE, NEVER, ex.register_disq * DAY)
    gone = np.minimum(disq, reg_disq)
    out = {}
    first_year = int(year_of_day(np.array([w.start_day]))[0])
    last_year = int(year_of_day(np.array([w.end_day]))[0])
    n_h = len(w.hospitals.names)
    for year in range(first_year, last_year + 1):
        y0 = int(np.datetime64(f"{year}-01-01", "D").astype(np.int64)) * DAY
        y1 = int(np.datetime64(f"{year + 1}-01-01", "D").astype(np.int64)) * DAY
        in_pool = (ex.registered * DAY < y1) & (gone >= y0)
        dropped = in_pool & (gone < y1) & (gone <= w.as_of)
        total = np.bincount(ex.hospital[in_pool], minlength=n_h)
        lost = np.bincount(ex.hospital[dropped], minlength=n_h)
        hit = (lost >= r.min_disqualified) & (lost * r.rate_den >= total * r.rate_num) & (total > 0)
        out[str(year)] = id_list("hospital", np.flatnonzero(hit))
    return out


def expected_breaches(w: World, c: Cols, t: Cols) -> dict[str, Any]:
    """The expected_breaches.json report (without the quarantine part)."""
    s = strikes(w, t)
    disq = disqualified_at(w, s, len(w.experts))
    after = t["pushed"] > disq[t["expert"]]
    checks = case_checks(w, c, t)
    unq = unqualified(w)
    actions = list(w.rules.actions)
    action = np.array(actions + [w.rules.after_last])[np.minimum(s["no"], len(actions) + 1) - 1]
    by_year: dict[str, dict[str, int]] = {}
    for y in np.unique(s["year"]):
        m = s["year"] == y
        by_year[str(int(y))] = {
            name: int(((s["kind"] == k) & m).sum()) for k, name in KIND_NAMES.items()
        }
    violations = {
        "ZZ-ACCEPT": int((s["kind"] == ACCEPT_TIMEOUT).sum()),
        "ZZ-COMPLETE": int((s["kind"] == COMPLETE_TIMEOUT).sum()),
        **{rule: int(mask.sum()) for rule, mask in checks.items()},
        "ZZ-EXPERT-QUAL": int(unq.sum()),
        "ZZ-STRIKE-AFTER": int(after.sum()),
    }
    planted = {
        "ZZ-ACCEPT": id_list("task", s["task"][s["kind"] == ACCEPT_TIMEOUT]),
        "ZZ-COMPLETE": id_list("task", s["task"][s["kind"] == COMPLETE_TIMEOUT]),
        **{rule: id_list("case", np.flatnonzero(mask)) for rule, mask in checks.items()},
        "ZZ-EXPERT-QUAL": id_list("expert", np.flatnonzero(unq)),
        "ZZ-STRIKE-AFTER": id_list("task", np.flatnonzero(after)),
        "disqualified_experts": id_list("expert", np.flatnonzero(disq != NEVER)),
    }
    return {
        "strikes": {name: int((s["kind"] == k).sum()) for k, name in KIND_NAMES.items()},
        "strike_actions": {a: int((action == a).sum()) for a in [*actions, w.rules.after_last]},
        "strikes_by_year": by_year,
        "disqualified_experts": int((disq != NEVER).sum()),
        "violations": violations,
        "planted": planted,
        "hospital_penalties": hospital_penalties(w, disq),
    }
