"""How late an overdue deadline is, measured where it is read (issue 13).

The marts hold the lateness of a late response or completion, and none while a deadline is
overdue with no answer: that number grows with the evaluation time, and storing it made every
day's refresh rewrite each never-answered task (51,921 of the province's 5.2 M) in six tables.
Pages measure it at the marts' evaluation time (`mart_meta.as_of`, the `$as_of` the marts were
computed at) with these expressions — the engine's definition, the same for every page.
"""

from __future__ import annotations

_AS_OF = "(select as_of from mart_meta)"


def late_hours(alias: str) -> str:
    """A strike's lateness in hours (1 decimal) of a mart_strike_evidence row `alias`: stored
    for a late answer, from its deadline to the evaluation time while none came."""
    seconds = f"coalesce({alias}.late_seconds, date_diff('second', {alias}.deadline, {_AS_OF}))"
    return f"round({seconds} / 3600.0, 1)"


def margin_hours(alias: str, step: str) -> str:
    """A deadline's margin in hours of a mart_task_timeline row `alias` (`step` accept or
    complete; negative: missed): stored at the response or completion, from the evaluation
    time to the deadline while none came."""
    deadline = f"{alias}.{step}_deadline"
    now = f"date_diff('second', {_AS_OF}, {deadline}) / 3600.0"
    return f"coalesce({alias}.{step}_margin_hours, {now})"
