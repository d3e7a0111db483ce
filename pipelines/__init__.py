"""门诊慢特病鉴定监管 — the rule engine: ingest, calendar, rules, draws (shared/RULES.md)."""

from pipelines.errors import DataError, UsageError

__all__ = ["DataError", "UsageError"]
