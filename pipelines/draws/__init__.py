"""Verifiable draws (shared/RULES.md "Verifiable draws"): spot checks, expert draws, TY-REVIEW.

Key of a candidate = sha256((seed + "|" + id).encode("utf-8")).hexdigest(); population digest =
SHA-256 of the ids sorted by code point, each + "\\n". Every draw freezes its population first,
then draws with the seed; both are records of the hash-chained `draw_log`.
"""

from pipelines.draws.engine import (
    DrawResult,
    DrawState,
    FrozenPopulation,
    current_state,
    draw,
    freeze_population,
    population_table,
    replace,
)
from pipelines.draws.experts import draw_experts, expert_candidates, freeze_experts
from pipelines.draws.findings import (
    findings_summary,
    import_findings,
    retrieval_list,
    write_retrieval_list,
)
from pipelines.draws.keys import (
    Member,
    Pick,
    draw_key,
    normalize_seed,
    parse_rate,
    population_digest,
    quota,
)
from pipelines.draws.log import DrawRecord, load_records
from pipelines.draws.review import (
    Quarter,
    ReviewPlan,
    ReviewStep,
    appeal_panel,
    draw_review_experts,
    freeze_appeal,
    freeze_review,
    parse_quarter,
    review_calendar,
    review_plan,
    review_step,
)
from pipelines.draws.spotcheck import check_rate, freeze_spot_check, spot_check
from pipelines.draws.verify import LogCheck, verify_log


def __getattr__(name: str):
    # fpdf2 takes half a second to import: load the PDF module only when it is asked for
    if name == "record_pdf":
        from pipelines.draws.pdf import record_pdf

        return record_pdf
    raise AttributeError(name)


__all__ = [
    "DrawRecord",
    "DrawResult",
    "DrawState",
    "FrozenPopulation",
    "LogCheck",
    "Member",
    "Pick",
    "Quarter",
    "ReviewPlan",
    "ReviewStep",
    "appeal_panel",
    "check_rate",
    "current_state",
    "draw",
    "draw_experts",
    "draw_key",
    "draw_review_experts",
    "expert_candidates",
    "findings_summary",
    "freeze_appeal",
    "freeze_experts",
    "freeze_population",
    "freeze_review",
    "freeze_spot_check",
    "import_findings",
    "load_records",
    "normalize_seed",
    "parse_quarter",
    "parse_rate",
    "population_digest",
    "population_table",
    "quota",
    "record_pdf",
    "record_pdf",
    "replace",
    "retrieval_list",
    "review_calendar",
    "review_plan",
    "review_step",
    "spot_check",
    "verify_log",
    "write_retrieval_list",
]
