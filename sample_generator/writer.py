"""The four input files in the canonical columns of shared/CONTRACT.md, as CSV or Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines.ingest_spec import SPECS
from sample_generator.ids import make_ids, resident_ids
from sample_generator.people import NamePool, Persons
from sample_generator.registry import NONE, OWNERSHIP, TITLES
from sample_generator.timeline import FMT_OTHER, FMT_PDF, FMT_SCAN
from sample_generator.world import Cols, World

# The contract's columns, from the one place the ingest also reads them: the four shared files
# without Taiyuan's columns (the Taiyuan generator, sample_generator/taiyuan.py, writes those).
TAIYUAN_CASE_COLUMNS = ("category", "publicity_from", "publicity_to", "entered_at")
COLUMNS = {
    name: [c.name for c in SPECS[name].columns if c.name not in TAIYUAN_CASE_COLUMNS]
    for name in ("hospitals", "experts", "cases", "tasks")
}
RECORD_FORMATS = {FMT_PDF: "HIS导出PDF", FMT_SCAN: "扫描件", FMT_OTHER: "其他"}
RESPONSES = ["不受理", "受理"]
VERDICTS = ["不符合", "符合"]
INSURANCE = ["城乡居民医保", "职工医保"]
TIMESTAMP = pa.timestamp("s")


def labels(values: list[str], codes: np.ndarray) -> pa.Array:
    """Text of category codes; NONE codes become nulls."""
    codes = np.asarray(codes, dtype=np.int64)
    idx = pa.array(np.where(codes == NONE, 0, codes), mask=codes == NONE)
    return pa.array(values, type=pa.string()).take(idx)


def times(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=TIMESTAMP, mask=values == NONE)


def dates(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.int32), type=pa.date32(), mask=values == NONE)


def hospitals_table(w: World) -> pa.Table:
    h = w.hospitals
    n = len(h.names)
    return pa.table(
        {
            "hospital_id": make_ids("hospital", np.arange(n)),
            "hospital_name": pa.array(h.names, type=pa.string()),
            "hospital_class": labels(w.st["hospitals"]["classes"], h.cls),
            "ownership": labels(OWNERSHIP, np.where(h.public, 0, 1)),
            "district": pa.array(h.district, type=pa.string()),
            "group_id": _group_ids(n),
        }
    )


CAMPUS_EVERY = 20  # every 20th hospital is a second campus of the one before it (ZZ-AVOID)


def _group_ids(n: int) -> pa.Array:
    """The main campus's hospital_id for second campuses, null for every other hospital."""
    i = np.arange(n)
    campus = (i % CAMPUS_EVERY == CAMPUS_EVERY - 1) & (i > 0)
    main = make_ids("hospital", np.maximum(i - 1, 0)).to_numpy(zero_copy_only=False)
    return pa.array(np.where(campus, main, None), type=pa.string())


def _phones(w: World, n: int) -> pa.Array:
    """Mobile numbers from a child stream of the world's generator (the world's own draws stay
    as they were): 1, one of 3/5/7/8/9, nine digits."""
    rng = w.rng.spawn(1)[0]
    second = np.array([3, 5, 7, 8, 9])[rng.integers(0, 5, n)]
    rest = rng.integers(0, 10**9, n)
    return pa.array([f"1{a}{b:09d}" for a, b in zip(second, rest, strict=True)], type=pa.string())


def experts_table(w: World, pool: NamePool) -> pa.Table:
    e = w.experts
    return pa.table(
        {
            "expert_id": make_ids("expert", np.arange(len(e))),
            "expert_name": labels(pool.names, e.name_idx),
            "hospital_id": make_ids("hospital", e.hospital),
            "specialty": labels(w.cat.specialties, e.spec),
            "title": labels(TITLES, e.title),
            "registered_on": dates(e.registered),
            "disqualified_on": dates(e.register_disq),
            "phone": _phones(w, len(e)),
        }
    )


def cases_table(w: World, c: Cols, persons: Persons, pool: NamePool) -> pa.Table:
    p = c["person"]
    return pa.table(
        {
            "case_id": make_ids("case", np.arange(len(p))),
            "person_id": resident_ids(persons.number17[p]),
            "person_name": labels(pool.names, persons.name_idx[p]),
            "insurance_type": labels(INSURANCE, c["employee"].astype(np.int64)),
            "disease_name": labels(w.cat.names, c["disease"]),
            "hospital_id": make_ids("hospital", c["hospital"]),
            "submitted_at": times(c["submitted"]),
            "record_id": make_ids("record", c["record"]),
            "record_format": labels([RECORD_FORMATS[k] for k in sorted(RECORD_FORMATS)], c["fmt"]),
            "record_size_mb": pa.array(c["size"], type=pa.float64()),
            "discharge_date": dates(c["discharge"]),
            "outcome": labels(VERDICTS, c["outcome"]),
            "decided_at": times(c["decided"]),
            "benefit_start": dates(c["benefit"]),
        }
    )


def tasks_table(t: Cols) -> pa.Table:
    return pa.table(
        {
            "task_id": make_ids("task", np.arange(len(t["case"]))),
            "case_id": make_ids("case", t["case"]),
            "expert_id": make_ids("expert", t["expert"]),
            "pushed_at": times(t["pushed"]),
            "responded_at": times(t["responded"]),
            "response": labels(RESPONSES, t["response"]),
            "completed_at": times(t["completed"]),
            "verdict": labels(VERDICTS, t["verdict"]),
        }
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def write_table(table: pa.Table, bad: list[dict[str, Any]], path: Path, fmt: str) -> None:
    """Write a table plus its unusable rows (appended at the end) as CSV or Parquet."""
    if fmt == "parquet":
        if bad:
            extra = pa.Table.from_pylist(bad, schema=table.schema)
            table = pa.concat_tables([table, extra])
        pq.write_table(table, path, compression="zstd")
        return
    with path.open("wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode("utf-8"))
        options = pacsv.WriteOptions(include_header=False, quoting_style="none")
        pacsv.write_csv(table, fh, options)
        for row in bad:
            fh.write(
                (",".join(_text(row.get(k)) for k in table.column_names) + "\n").encode("utf-8")
            )
