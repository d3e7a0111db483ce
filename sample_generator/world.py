"""Shared state of one generation run and the column-dict helpers every step uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sample_generator.registry import NONE, Experts, Hospitals
from sample_generator.settings import Catalogue, Rules
from sample_generator.workdays import DAY, WorkCalendar

Cols = dict[str, np.ndarray]

# task lateness planted at simulation time (index into settings breaches.late_kinds + 1)
ON_TIME, LATE_ACCEPT, LATE_DECLINE, NO_RESPONSE, LATE_COMPLETE, NEVER_COMPLETE = range(6)
LATE_KIND_NAMES = ["late_accept", "late_decline", "no_response", "late_complete", "never_complete"]
ACCEPT, DECLINE = 1, 0
PASS, FAIL = 1, 0


def concat(parts: list[Cols]) -> Cols:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def take(cols: Cols, idx: np.ndarray) -> Cols:
    return {k: v[idx] for k, v in cols.items()}


@dataclass
class World:
    """Everything a step needs: rng, calendar, rules, settings, registers and the window."""

    rng: np.random.Generator
    cal: WorkCalendar
    rules: Rules
    st: dict[str, Any]
    cat: Catalogue
    hospitals: Hospitals
    experts: Experts
    start_day: int
    end_day: int
    breaches: bool
    as_of: int  # the data's cut-off, epoch seconds: the --end instant, or the --end day 23:59:59
    spec_order: np.ndarray = field(init=False)
    spec_off: np.ndarray = field(init=False)
    spec_cnt: np.ndarray = field(init=False)
    reg_from: np.ndarray = field(init=False)
    reg_to: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        ex = self.experts
        self.spec_order = np.argsort(ex.spec, kind="stable")
        self.spec_cnt = np.bincount(ex.spec, minlength=len(self.cat.specialties))
        self.spec_off = np.cumsum(self.spec_cnt) - self.spec_cnt
        self.reg_from = ex.registered * DAY
        self.reg_to = np.where(
            ex.register_disq == NONE, np.iinfo(np.int64).max, ex.register_disq * DAY
        )

    def u(self, lo: float, hi: float, n: int) -> np.ndarray:
        """Uniform integer seconds in [lo, hi)."""
        return self.rng.integers(int(lo), int(hi), n)

    def draw_experts(
        self, spec: np.ndarray, push: np.ndarray, used: np.ndarray, cutoff: np.ndarray | None = None
    ) -> np.ndarray:
        """A random expert of each specialty, in the pool at the push time and new to the case.

        `used` holds the experts already pushed for each case (-1 padded); `cutoff` optionally
        gives each expert's disqualification time (ZZ-STRIKE), before which pushes must fall.
        """
        out = np.full(len(spec), NONE, dtype=np.int64)
        todo = np.arange(len(spec))
        for _ in range(40):
            if not len(todo):
                return out
            s = spec[todo]
            pick = (self.rng.random(len(todo)) * self.spec_cnt[s]).astype(np.int64)
            cand = self.spec_order[self.spec_off[s] + pick]
            ok = self._eligible(cand, push[todo], cutoff) & ~(used[todo] == cand[:, None]).any(1)
            out[todo[ok]] = cand[ok]
            todo = todo[~ok]
        for i in todo:
            pool = self.spec_order[
                self.spec_off[spec[i]] : self.spec_off[spec[i]] + self.spec_cnt[spec[i]]
            ]
            ok = self._eligible(pool, np.full(len(pool), push[i]), cutoff) & ~np.isin(pool, used[i])
            if not ok.any():
                raise RuntimeError(
                    f"no eligible expert for specialty {self.cat.specialties[spec[i]]}"
                )
            out[i] = self.rng.choice(pool[ok])
        return out

    def _eligible(
        self, expert: np.ndarray, push: np.ndarray, cutoff: np.ndarray | None
    ) -> np.ndarray:
        ok = (self.reg_from[expert] <= push) & (push < self.reg_to[expert])
        if cutoff is not None:
            ok &= push < cutoff[expert]
        return ok
