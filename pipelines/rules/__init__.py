"""The rule engine (shared/RULES.md): deadlines, strikes, penalties, violations, fees, marts.

Each rule is one SQL model in `pipelines/sql/` run by `pipelines.rules.engine`; the functions
here, the CLI (`pipelines.rules.cli`) and the dashboard's marts all run the same models.
"""

from pipelines.rules.archive import monthly_archive
from pipelines.rules.deadlines import task_deadlines
from pipelines.rules.experts import expert_register
from pipelines.rules.fees import expert_fees
from pipelines.rules.marts import refresh_marts
from pipelines.rules.penalty import hospital_penalties
from pipelines.rules.risk import at_risk
from pipelines.rules.strikes import expert_disqualifications, strikes
from pipelines.rules.violations import violations

__all__ = [
    "at_risk",
    "expert_disqualifications",
    "expert_fees",
    "expert_register",
    "hospital_penalties",
    "monthly_archive",
    "refresh_marts",
    "strikes",
    "task_deadlines",
    "violations",
]
