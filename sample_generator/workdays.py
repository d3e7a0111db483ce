"""The working-day calendar (shared/RULES.md "Working days") as numpy arrays.

Times are int64 seconds since 1970-01-01 in local (Beijing) wall-clock time; days are int64 days
since 1970-01-01. Built from `pipelines.workcal.build_days()`, so it knows what the rule engine knows.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np

from pipelines.errors import CalendarGapError
from pipelines.workcal import build_days

DAY = 86_400


def year_of_day(day: np.ndarray) -> np.ndarray:
    """Calendar year of epoch days."""
    return day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


class WorkCalendar:
    """Vectorised working-day arithmetic over the covered years."""

    def __init__(self, days: list[tuple[dt.date, bool]]) -> None:
        self.first = int(np.datetime64(days[0][0], "D").astype(np.int64))
        self.is_work = np.array([w for _, w in days], dtype=bool)
        self.workday_no = np.cumsum(self.is_work)
        self.workdays = np.flatnonzero(self.is_work) + self.first
        self.last = self.first + len(days) - 1

    def _index(self, day: np.ndarray) -> np.ndarray:
        idx = np.asarray(day, dtype=np.int64) - self.first
        if idx.size and (idx.min() < 0 or idx.max() >= len(self.is_work)):
            bad = idx.min() if idx.min() < 0 else idx.max()
            raise CalendarGapError(int(year_of_day(np.array([bad + self.first]))[0]))
        return idx

    def is_workday(self, day: np.ndarray) -> np.ndarray:
        return self.is_work[self._index(day)]

    def nth_after(self, day: np.ndarray, n: int) -> np.ndarray:
        """The n-th working day after each day (the day itself not counted)."""
        k = self.workday_no[self._index(day)] + n
        if k.size and k.max() > len(self.workdays):
            raise CalendarGapError(int(year_of_day(np.array([self.last + 1]))[0]))
        return self.workdays[k - 1]

    def on_or_after(self, day: np.ndarray) -> np.ndarray:
        """Each day if it is a working day, else the next working day."""
        idx = self._index(day)
        k = self.workday_no[idx] - self.is_work[idx]
        if k.size and k.max() >= len(self.workdays):
            raise CalendarGapError(int(year_of_day(np.array([self.last + 1]))[0]))
        return self.workdays[k]

    def deadline(self, t: np.ndarray, n: int) -> np.ndarray:
        """24:00 of the n-th working day after the date of each time, as an instant."""
        return (self.nth_after(t // DAY, n) + 1) * DAY

    def workdays_between(self, first: int, last: int) -> np.ndarray:
        """Working days in [first, last] (epoch days)."""
        self._index(np.array([first, last]))
        return self.workdays[(self.workdays >= first) & (self.workdays <= last)]


@cache
def _days() -> tuple[tuple[dt.date, bool], ...]:
    return tuple(build_days())


def work_calendar() -> WorkCalendar:
    """The calendar of pipelines.workcal (built once per process)."""
    return WorkCalendar(list(_days()))
