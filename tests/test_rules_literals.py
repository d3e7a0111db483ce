"""Rule parameters written into SQL as literals (`graph.sql_literal`, `graph.inline`): the same
value and type DuckDB's client would bind, quotes and comments left alone, no injection — and a
rule command's process never imports pandas (DuckDB imports it for any bound parameter)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import duckdb
import pytest
from test_rules_cli import warehouse  # noqa: F401  (the fixture)
from test_rules_support import ZZ, case, load, task

from pipelines.config import ROOT
from pipelines.errors import CalendarGapError
from pipelines.rules.engine import run, run_into
from pipelines.rules.graph import execute, inline, sql_literal

ATTACKS = [
    "'); drop table x; --",
    "a'b",
    "''",
    "x' or '1'='1",
    "$as_of",
    "-- not a comment",
    "/* not a comment */",
    "line\nbreak",
    "反斜杠\\'",
]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "NULL"),
        (True, "true"),
        (False, "false"),
        (5, "cast(5 as integer)"),
        (-(2**31), f"cast({-(2**31)} as integer)"),
        (2**31, f"cast({2**31} as bigint)"),
        (2.5, "cast('2.5' as double)"),
        ("a'b", "cast('a''b' as varchar)"),
        (dt.date(2026, 3, 1), "cast('2026-03-01' as date)"),
        (dt.datetime(2026, 11, 20, 23, 59, 59), "cast('2026-11-20 23:59:59' as timestamp)"),
        (
            dt.datetime(2026, 1, 2, 3, 4, 5, 6),
            "cast('2026-01-02 03:04:05.000006' as timestamp)",
        ),
        (["a", "b'"], "[cast('a' as varchar), cast('b''' as varchar)]"),
        ([], "[]"),
    ],
)
def test_literal_text(value, text):
    assert sql_literal(value) == text


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        7,
        2**40,
        -3,
        0.1,
        float("inf"),
        1e300,
        "",
        *ATTACKS,
        dt.date(2026, 12, 31),
        dt.datetime(2026, 2, 28, 0, 0, 0, 123456),
        ["提交", "撤销"],
        [1, 2],
        [],
    ],
)
def test_literal_equals_the_bound_value_and_type(value):
    con = duckdb.connect()
    bound = con.execute("select $v, typeof($v)", {"v": value}).fetchone()
    written = con.execute(f"select {sql_literal(value)}, typeof({sql_literal(value)})").fetchone()
    assert written == bound


def test_injection_attempts_are_plain_text():
    con = duckdb.connect()
    con.execute("create table x (a integer)")
    for attack in ATTACKS:
        row = execute(con, "select $s, $s = $s", {"s": attack}).fetchone()
        assert row == (attack, True)
    assert con.execute("select count(*) from x").fetchone() == (0,)


def test_inline_leaves_strings_names_and_comments_alone():
    statement = (
        "select '$as_of' as \"$as_of\", $as_of -- $as_of\n/* $as_of */ , $n, 'it''s $n' "
        "from t where a = $as_of"
    )
    values = {"as_of": dt.datetime(2026, 1, 1), "n": 3}
    ts = "cast('2026-01-01 00:00:00' as timestamp)"
    assert inline(statement, values) == (
        f"select '$as_of' as \"$as_of\", {ts} -- $as_of\n/* $as_of */ , cast(3 as integer), "
        f"'it''s $n' from t where a = {ts}"
    )


def test_missing_parameter_and_unknown_type_are_bugs():
    with pytest.raises(KeyError):
        inline("select $missing", {})
    with pytest.raises(TypeError):
        sql_literal(object())
    with pytest.raises(ValueError):
        sql_literal(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(ValueError):
        sql_literal("nul\0byte")


def test_a_rule_command_never_imports_pandas_arrow_or_numpy(warehouse, tmp_path):  # noqa: F811
    """Each rule verb writing a CSV (strikes: its model computed at an evaluation time the marts
    were not built for, through the calendar check, the year filter and the CSV writer)."""
    probe = (
        "import sys\nfrom pipelines.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "print(*[m for m in ('pandas', 'pyarrow', 'numpy') if m in sys.modules], status)\n"
    )
    for argv in (
        ["strikes", "--year", "2026", "--as-of", "2026-03-20 00:00:00"],
        ["penalties", "--year", "2026", "--as-of", "2026-03-20 00:00:00"],
        ["violations", "--as-of", "2026-03-20 00:00:00"],
        ["at-risk", "--as-of", "2026-03-06 13:30:00"],
        ["fees", "--month", "2026-03"],
        ["archive", "--month", "2026-03"],
    ):
        out = tmp_path / "out.csv"
        args = [*argv, "--db", str(warehouse), "--out", str(out)]
        done = subprocess.run(
            [sys.executable, "-c", probe, *args], cwd=ROOT, capture_output=True, text=True
        )
        # no pandas (a bound parameter imports it), no Arrow or numpy (0.15 s of a command's
        # start): the rows go from the query to the file in DuckDB
        assert done.stdout.split() == ["0"], (argv[0], done.stdout, done.stderr)


def test_a_dispute_decision_never_imports_pandas(warehouse):  # noqa: F811
    """A supervisor's dispute decision (its task looked up by id, the record appended) writes its
    values in as literals: no bound parameter, so no pandas (≈ 0.5 s of a write that should land
    at once)."""
    probe = (
        "import sys\nfrom pipelines.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "print(*[m for m in ('pandas',) if m in sys.modules], status)\n"
    )
    dispute = ["dispute", "--task", "T2", "--decision", "void", "--reason", "推送失败", "--by", "王"]  # fmt: skip
    args = [sys.executable, "-c", probe, *dispute, "--db", str(warehouse)]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.split()[1:] == ["0"], done  # the record's id, then no pandas and status 0


def test_a_refresh_after_a_load_never_imports_pandas(warehouse):  # noqa: F811
    """The second refresh brings the first one's marts forward in place (the delta path, which
    looks up a model's columns by name): no bound parameter, so no pandas."""
    probe = (
        "import sys\nfrom pipelines.cli import main\n"
        "status = main(sys.argv[1:]) + main(sys.argv[1:])\n"
        "print(*[m for m in ('pandas',) if m in sys.modules], status)\n"
    )
    args = ["refresh", "--db", str(warehouse), "--as-of", "2026-03-20 00:00:00"]
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], cwd=ROOT, capture_output=True, text=True
    )
    assert done.stdout.split() == ["0"], (done.stdout, done.stderr)


def _gap_world(con) -> None:
    """T1 accepted on 4 Jan 2027 (a year the calendar does not cover), T2 in 2026."""
    load(
        con,
        cases=[case("C1", submitted_at="2027-01-04 08:00:00"), case("C2")],
        tasks=[
            task(
                "T1",
                case_id="C1",
                pushed_at="2027-01-04 09:00:00",
                responded_at="2027-01-04 10:00:00",
                response="受理",
            ),
            task("T2", case_id="C2", pushed_at="2026-03-02 09:00:00"),
        ],
    )


def test_a_filtered_model_still_raises_for_a_gap_in_rows_filtered_out(con):
    """fct_tasks checks the calendar itself: asked for T2 alone, T1's gap still raises."""
    _gap_world(con)
    at = dt.datetime(2027, 2, 1)
    with pytest.raises(CalendarGapError) as exc:
        run(con, "fct_tasks", ZZ, at, where={"task_id": "T2"})
    assert exc.value.year == 2027
    with pytest.raises(CalendarGapError):
        run_into(con, "rows", "fct_tasks", ZZ, at, columns=["task_id"], where={"task_id": "T2"})
    assert (
        con.execute("select count(*) from duckdb_tables() where table_name = 'rows'").fetchone()[0]
        == 0
    )


def test_run_into_keeps_the_model_order_and_only_the_columns(con):
    """Two missed responses of E1, pushed in the reverse order of their ids."""
    load(
        con,
        cases=[case("C1")],
        tasks=[
            task("T2", case_id="C1", pushed_at="2026-03-02 09:00:00"),
            task("T1", case_id="C1", pushed_at="2026-03-03 09:00:00"),
        ],
    )
    at = dt.datetime(2026, 12, 1)
    run_into(con, "rows", "fct_strikes", ZZ, at, columns=["task_id", "strike_no"])
    assert con.execute("select * from rows").fetchall() == [("T2", 1), ("T1", 2)]
    assert run(con, "fct_strikes", ZZ, at).column("task_id").to_pylist() == ["T2", "T1"]
