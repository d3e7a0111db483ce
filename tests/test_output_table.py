"""write_table (DuckDB's CSV writer, no per-row Python) writes the same bytes as write_csv."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.output import write_csv, write_table

TEXT = st.one_of(st.none(), st.text(alphabet=st.sampled_from(list("ab 中,\"\n\r'")), max_size=4))
TIMES = st.one_of(
    st.none(),
    st.datetimes(min_value=dt.datetime(1999, 1, 1), max_value=dt.datetime(2031, 12, 31)),
)
DATES = st.one_of(st.none(), st.dates(min_value=dt.date(1999, 1, 1)))


def _both(tmp_path, table: pa.Table) -> tuple[bytes, bytes]:
    columns = table.column_names
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    write_csv(old, columns, zip(*(table.column(c).to_pylist() for c in columns), strict=True))
    assert write_table(new, table, columns) == table.num_rows
    return old.read_bytes(), new.read_bytes()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(TEXT, st.one_of(st.none(), st.integers(-(2**40), 2**40)), TIMES, DATES),
        max_size=8,
    ),
    st.lists(st.one_of(st.none(), st.booleans()), min_size=8, max_size=8),
)
def test_write_table_equals_write_csv(tmp_path_factory, rows, flags) -> None:
    tmp_path = tmp_path_factory.mktemp("csv")
    columns = list(zip(*rows, strict=True)) if rows else [[], [], [], []]
    table = pa.table(
        {
            "text": pa.array(columns[0], pa.string()),
            "number": pa.array(columns[1], pa.int64()),
            "at": pa.array(columns[2], pa.timestamp("us")),
            "day": pa.array(columns[3], pa.date32()),
            "flag": pa.array(flags[: len(rows)], pa.bool_()),
        }
    )
    old, new = _both(tmp_path, table)
    assert new == old


def test_write_table_hand_computed(tmp_path) -> None:
    table = pa.table(
        {
            "expert_id": ["E1", "", "a,b", 'q"q'],
            "strike_no": [1, None, 3, 4],
            "deadline": [dt.datetime(2026, 3, 2, 8, 0, 0, 500)] * 4,
            "penalized": [True, False, None, True],
        }
    )
    write_table(tmp_path / "s.csv", table, ["expert_id", "strike_no", "deadline", "penalized"])
    assert (tmp_path / "s.csv").read_text(encoding="utf-8") == (
        "expert_id,strike_no,deadline,penalized\n"
        "E1,1,2026-03-02 08:00:00,true\n"
        ",,2026-03-02 08:00:00,false\n"
        '"a,b",3,2026-03-02 08:00:00,\n'
        '"q""q",4,2026-03-02 08:00:00,true\n'
    )


def test_write_table_one_column_and_decimals_fall_back(tmp_path) -> None:
    """A lone empty field is quoted by csv (""), decimals and floats are `fmt`'s: both exact."""
    table = pa.table({"a": ["", "x"], "r": pa.array([1, 2], pa.decimal128(6, 4))})
    write_table(tmp_path / "one.csv", table, ["a"])
    assert (tmp_path / "one.csv").read_text(encoding="utf-8") == 'a\n""\nx\n'
    write_table(tmp_path / "two.csv", table, ["a", "r"])
    assert (tmp_path / "two.csv").read_text(encoding="utf-8") == "a,r\n,1.0000\nx,2.0000\n"
