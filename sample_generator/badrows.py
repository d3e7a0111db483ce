"""DATA-REJECT: unusable rows appended to the files, one defect each, counted per file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sample_generator.ids import ID_FORMATS
from sample_generator.workdays import DAY
from sample_generator.world import Cols, World

FILES = ["hospitals", "experts", "cases", "tasks"]
VALID_PERSON_ID = "410105195001010013"
# defects that a typed (Parquet) column cannot hold are used for CSV only
TEXT_ONLY = {"unparseable_date", "unparseable_time"}
KINDS = {
    "hospitals": ["missing_key", "class_outside_list", "ownership_outside_list"],
    "experts": ["missing_key", "unknown_hospital", "title_outside_list", "unparseable_date"],
    "cases": [
        "missing_key",
        "unknown_hospital",
        "disease_outside_list",
        "outcome_outside_list",
        "unparseable_time",
    ],
    "tasks": [
        "missing_key",
        "unknown_case",
        "unknown_expert",
        "response_before_push",
        "completed_before_push",
        "response_outside_list",
        "unparseable_time",
    ],
}


def _id(kind: str, number: int) -> str:
    prefix, width = ID_FORMATS[kind]
    return f"{prefix}{number:0{width}d}"


def _time(t: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(t))


def _date(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


def spread(
    k: int,
    fmt: str,
    sizes: dict[str, int],
    kinds: dict[str, list[str]],
    make_row: Callable[[str, str, int], dict[str, Any]],
) -> dict[str, Any]:
    """k defective rows spread over the files of `kinds` in turn, each file's defects in turn
    (`make_row(file, kind, j)`: the file's j-th); returns rows per file and the report part."""
    files = list(kinds)
    rows: dict[str, list[dict[str, Any]]] = {f: [] for f in files}
    reasons: dict[str, list[dict[str, Any]]] = {f: [] for f in files}
    usable = {f: [x for x in kinds[f] if fmt == "csv" or x not in TEXT_ONLY] for f in files}
    for i in range(k):
        file = files[i % len(files)]
        j = len(rows[file])
        kind = usable[file][j % len(usable[file])]
        rows[file].append(make_row(file, kind, j))
        reasons[file].append({"line": sizes[file] + j + 2, "reason": kind})
    return {
        "rows": rows,
        "quarantine": {f: len(rows[f]) for f in files},
        "quarantine_rows": reasons,
    }


def bad_rows(w: World, k: int, fmt: str, c: Cols, t: Cols, sizes: dict[str, int]) -> dict[str, Any]:
    """k defective rows spread over the four files; returns rows per file and the report part."""
    return spread(k, fmt, sizes, KINDS, lambda file, kind, j: _row(w, file, kind, j, c, t))


def _row(w: World, file: str, kind: str, j: int, c: Cols, t: Cols) -> dict[str, Any]:
    n_c, n_t = len(c["disease"]), len(t["case"])
    fresh = 900_000 + j
    if file == "hospitals":
        row = {
            "hospital_id": _id("hospital", 90_000 + j),
            "hospital_name": f"郑州市待核医院{j + 1}",
            "hospital_class": "二类",
            "ownership": "公立",
            "district": "金水区",
        }
        row.update(
            {
                "missing_key": {"hospital_id": None},
                "class_outside_list": {"hospital_class": "四类"},
                "ownership_outside_list": {"ownership": "混合所有制"},
            }[kind]
        )
        return row
    if file == "experts":
        row = {
            "expert_id": _id("expert", fresh),
            "expert_name": "待核专家",
            "hospital_id": _id("hospital", 1),
            "specialty": w.cat.specialties[0],
            "title": "主任医师",
            "registered_on": _date(w.start_day),
            "disqualified_on": None,
        }
        row.update(
            {
                "missing_key": {"expert_id": None},
                "unknown_hospital": {"hospital_id": _id("hospital", 99_000 + j)},
                "title_outside_list": {"title": "教授"},
                "unparseable_date": {"registered_on": "2025-02-30"},
            }[kind]
        )
        return row
    x = j % n_c
    if file == "cases":
        row = {
            "case_id": _id("case", 900_000_000 + j),
            "person_id": VALID_PERSON_ID,
            "person_name": "待核",
            "insurance_type": "职工医保",
            "disease_name": w.cat.names[0],
            "hospital_id": _id("hospital", int(c["hospital"][x]) + 1),
            "submitted_at": _time(c["submitted"][x]),
            "record_id": _id("record", 9_000_000_000 + j),
            "record_format": "HIS导出PDF",
            "record_size_mb": 1.5,
            "discharge_date": _date(c["submitted"][x] // DAY - 10),
            "outcome": None,
            "decided_at": None,
            "benefit_start": None,
        }
        row.update(
            {
                "missing_key": {"case_id": None},
                "unknown_hospital": {"hospital_id": _id("hospital", 99_000 + j)},
                "disease_outside_list": {"disease_name": "感冒"},
                "outcome_outside_list": {"outcome": "待定"},
                "unparseable_time": {"submitted_at": "2025-13-01 08:00:00"},
            }[kind]
        )
        return row
    y = (j * 7919) % n_t
    pushed = int(t["pushed"][y])
    row = {
        "task_id": _id("task", 9_000_000_000 + j),
        "case_id": _id("case", int(t["case"][y]) + 1),
        "expert_id": _id("expert", int(t["expert"][y]) + 1),
        "pushed_at": _time(pushed),
        "responded_at": _time(pushed + 600),
        "response": "受理",
        "completed_at": _time(pushed + 7200),
        "verdict": "符合",
    }
    row.update(
        {
            "missing_key": {"task_id": None},
            "unknown_case": {"case_id": _id("case", 990_000_000 + j)},
            "unknown_expert": {"expert_id": _id("expert", 990_000 + j)},
            "response_before_push": {"responded_at": _time(pushed - 600)},
            "completed_before_push": {"completed_at": _time(pushed - 60)},
            "response_outside_list": {"response": "已读"},
            "unparseable_time": {"pushed_at": "2025-13-01 25:61:00"},
        }[kind]
    )
    return row
