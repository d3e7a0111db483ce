"""The values rule models are bound with: the rule profile's settings as `$name` parameters,
the evaluation time (`$as_of`, `$eval_at`) and a model's own extra values."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pipelines.config import Profile

# the extra values refresh_marts materialises the marts with
REFRESH_EXTRA: dict[str, Any] = {"year_from": None, "year_to": None}


def rule_params(profile: Profile) -> dict[str, Any]:
    """Every profile setting the rule models read, under the `$name` the SQL uses."""
    deadlines, strikes, penalty = (
        profile["deadlines"],
        profile["strikes"],
        profile["hospital_penalty"],
    )
    upload, qual, risk = profile["upload"], profile["expert_qualification"], profile["risk"]
    taiyuan = profile.data.get("taiyuan_rules", {})
    return {
        "profile_name": profile.name,
        "accept_hours": int(deadlines["accept_hours"]),
        "complete_workdays": int(deadlines["complete_workdays"]),
        "experts_per_case": int(profile["assign"]["experts_per_case"]),
        "strike_actions": list(strikes["actions"]),
        "strike_after_last": strikes["after_last"],
        "disqualify_at": int(strikes["disqualify_at"]),
        "penalty_num": int(penalty["rate_numerator"]),
        "penalty_den": int(penalty["rate_denominator"]),
        "penalty_min": int(penalty["min_disqualified"]),
        "fee_yuan": int(profile["fee"]["yuan_per_review"]),
        "upload_max_mb": upload["max_size_mb"],
        "pdf_from": dt.date.fromisoformat(upload["pdf_only_discharged_from"]),
        "pdf_format": upload["pdf_format"],
        "instant_workdays": int(profile["benefit"]["instant_within_workdays"]),
        "qual_titles": list(qual["titles"]),
        "qual_classes": list(qual["hospital_classes"]),
        "qual_ownership": list(qual["ownership"]),
        "risk_accept_hours": int(risk["accept_hours_ahead"]),
        "risk_complete_workdays": int(risk["complete_workdays_ahead"]),
        "reapply_max_failures": int(profile["reapply"]["max_failed_submissions"]),
        "ty_enabled": bool(taiyuan.get("enabled", False)),
        "ty_cycle_workdays": taiyuan.get("cycle_workdays"),
        "ty_publicity_workdays": taiyuan.get("publicity_workdays"),
        "ty_entry_workdays": taiyuan.get("entry_workdays"),
        "ty_recert_workdays": taiyuan.get("recert_workdays"),
        "ty_panel_min": taiyuan.get("panel_min_experts"),
    }


def parameters(
    profile: Profile,
    as_of: dt.datetime | None,
    extra: dict[str, Any],
    eval_at: dt.datetime | None = None,
) -> dict:
    """The profile's settings, the instant facts are judged at `$as_of` (never after the data
    cut-off, DATA-CUTOFF), the evaluation time asked for `$eval_at` (default: `$as_of`) and a
    model's own extra values."""
    return {
        **rule_params(profile),
        "as_of": as_of,
        "eval_at": eval_at if eval_at is not None else as_of,
        **extra,
    }
