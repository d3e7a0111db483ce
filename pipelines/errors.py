"""The two kinds of failure a command reports (CONTRACT: exit 1 data, exit 2 usage)."""


class DataError(Exception):
    """The data or the calendar cannot support the answer (exit status 1)."""


class UsageError(Exception):
    """The command was asked for something it cannot do as asked (exit status 2)."""


class CalendarGapError(DataError):
    """A date falls in a year the working-day calendar does not cover."""

    def __init__(self, year: int, detail: str = ""):
        self.year = year
        msg = (
            f"工作日日历未包含 {year} 年：请在 data/reference/calendar_overrides.csv 中补充 {year} 年"
            f"的节假日安排后重试。(working-day calendar does not cover year {year})"
        )
        super().__init__(msg + (f" {detail}" if detail else ""))
