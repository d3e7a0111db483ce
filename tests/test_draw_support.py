"""Helpers shared by the draw tests (tests/test_draw_*.py, tests/test_verify_*.py); no tests here.

Expected draws are computed here independently of `pipelines.draws`, with hashlib only, so each
test checks the project's SQL and Python against the rule as written in shared/RULES.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from test_rules_support import case, expert, hospital, load

import pipelines.cli

CARDIO = "慢性心力衰竭"  # 心血管内科 in the catalogue
CARDIO_SPECIALTY = "心血管内科"
ENDO = "糖尿病（合并严重并发症）"  # 内分泌科


def key(seed: str, candidate_id: str) -> str:
    return hashlib.sha256((seed + "|" + candidate_id).encode("utf-8")).hexdigest()


def first_k(seed: str, ids: Iterable[str], k: int) -> list[tuple[str, str]]:
    """(id, key) of the first k ids by key ascending — the rule, computed by hand."""
    return sorted(((i, key(seed, i)) for i in ids), key=lambda t: t[1])[:k]


def digest(ids: Iterable[str]) -> str:
    return hashlib.sha256("".join(i + "\n" for i in sorted(ids)).encode("utf-8")).hexdigest()


def approved(
    hospital_id: str,
    ids: Iterable[str],
    decided_at: str = "2026-05-10 10:00:00",
    disease: str = CARDIO,
    outcome: str | None = "符合",
) -> list[dict[str, Any]]:
    """Case rows of one hospital, decided with the given outcome."""
    return [
        case(
            i,
            hospital_id=hospital_id,
            disease_name=disease,
            outcome=outcome,
            decided_at=decided_at,
            person_name=f"参保人{i}",
            person_id=f"41010119900101{n:04d}",
        )
        for n, i in enumerate(ids)
    ]


def spot_check_world(con) -> dict[str, list[str]]:
    """Four hospitals with 10, 30, 31 and 1 approved cases in May 2026, plus cases that must not
    count: not approved, pending, or decided just outside 2026-05-01..2026-05-31."""
    sizes = {"H01": 10, "H02": 30, "H03": 31, "H04": 1}
    ids = {h: [f"{h}-C{j:03d}" for j in range(n)] for h, n in sizes.items()}
    rows = [r for h, cs in ids.items() for r in approved(h, cs)]
    rows += approved("H01", ["H01-EDGE1"], decided_at="2026-05-01 00:00:00")
    rows += approved("H02", ["H02-EDGE2"], decided_at="2026-05-31 23:59:59")
    ids["H01"].append("H01-EDGE1")
    ids["H02"].append("H02-EDGE2")
    rows += approved("H01", ["X-FAIL"], outcome="不符合")
    rows += approved("H01", ["X-PENDING"], outcome=None, decided_at=None)
    rows += approved("H02", ["X-BEFORE"], decided_at="2026-04-30 23:59:59")
    rows += approved("H03", ["X-AFTER"], decided_at="2026-06-01 00:00:00")
    load(con, hospitals=[hospital(h) for h in sizes], experts=[expert("E0")], cases=rows)
    return ids


def expected_spot_check(seed: str, ids: dict[str, list[str]], rate_num: int, rate_den: int) -> str:
    """The spot-check CSV the rule gives, byte for byte."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["hospital_id", "rank", "case_id", "key"])
    for h in sorted(ids):
        k = math.ceil(len(ids[h]) * rate_num / rate_den)
        for rank, (i, kk) in enumerate(first_k(seed, ids[h], k), start=1):
            w.writerow([h, rank, i, kk])
    return out.getvalue()


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`python -m pipelines …` in process."""
    capsys.readouterr()
    code = pipelines.cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)
