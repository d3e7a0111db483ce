"""Rule commands of `python -m pipelines` (shared/CONTRACT.md "Commands").

strikes, penalties, violations and fees write exactly the contract's columns; at-risk and archive
write the columns listed in their docstrings. Each prints a one-line Chinese summary to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.cliutil import evaluation
from pipelines.config import Profile, load_profile
from pipelines.db import connect
from pipelines.errors import UsageError
from pipelines.output import write_rows, write_table
from pipelines.rules.engine import run_into
from pipelines.rules.penalty import PENALTIES
from pipelines.rules.risk import AT_RISK
from pipelines.rules.state import snapshot
from pipelines.rules.strikes import STRIKES

if TYPE_CHECKING:
    import pyarrow as pa

STRIKE_COLUMNS = ["expert_id", "strike_no", "task_id", "case_id", "kind", "deadline", "action"]
PENALTY_COLUMNS = [
    "hospital_id",
    "experts_total",
    "experts_disqualified",
    "ratio",
    "penalized",
    "one_more_penalized",
]
VIOLATION_COLUMNS = ["rule_id", "case_id", "task_id", "expert_id", "hospital_id", "detail"]
FEE_COLUMNS = ["expert_id", "reviews", "amount_yuan"]
AT_RISK_COLUMNS = [
    "deadline",
    "hours_left",
    "kind",
    "task_id",
    "case_id",
    "expert_id",
    "expert_name",
    "hospital_id",
    "hospital_name",
    "status",
    "phone",
]
ARCHIVE_COLUMNS = ["month", "disease_name", "specialty", "settlement", "outcome", "cases"]

_YEAR = re.compile(r"\d{4}")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def parse_year(text: str) -> int:
    """--year YYYY; anything else is a usage error."""
    if not _YEAR.fullmatch(text.strip()):
        raise UsageError(f"--year 应为四位年份，如 2026，实际为 {text!r}")
    return int(text)


def parse_month(text: str) -> str:
    """--month YYYY-MM; anything else is a usage error."""
    if not _MONTH.fullmatch(text.strip()):
        raise UsageError(f"--month 格式应为 YYYY-MM，如 2026-03，实际为 {text!r}")
    return text.strip()


def open_db(path: str) -> duckdb.DuckDBPyConnection:
    """The warehouse for a read command, opened read-only (a read-only copy or folder works); a
    missing file is a data error, not a new database."""
    return connect(path, read_only=True)


def export(
    args: argparse.Namespace,
    columns: Sequence[str],
    compute: Callable[[duckdb.DuckDBPyConnection, Profile, dt.datetime], pa.Table],
) -> tuple[pa.Table, dt.datetime]:
    """Open the warehouse, compute the table at the evaluation time (--as-of, default the data
    cut-off), write its `columns` to --out; returns the table and the evaluation time."""
    con = open_db(args.db)
    try:
        when = evaluation(con, getattr(args, "as_of", None))
        table = compute(con, load_profile(args.profile), when.eval_at)
    finally:
        con.close()
    write_table(args.out, table, columns)
    return table, when.eval_at


def export_model(
    args: argparse.Namespace,
    columns: Sequence[str],
    summary: str,
    model: str,
    *,
    timed: bool = True,
    where: dict[str, Any] | None = None,
    **extra: Any,
) -> tuple[tuple, dt.datetime]:
    """Open the warehouse, run a rule model (`engine.run_into`, at the evaluation time when
    `timed`), write its `columns` to --out straight from DuckDB and return `summary` (a SQL select
    list over its rows) and the evaluation time. No Arrow table: a province's 350,000 strikes go
    from the query to the file in DuckDB."""
    con = open_db(args.db)
    try:
        when = evaluation(con, getattr(args, "as_of", None))
        profile = load_profile(args.profile)
        with snapshot(con):
            at = when.eval_at if timed else None
            run_into(con, "cli_rows", model, profile, at, columns=columns, where=where, **extra)
            write_rows(args.out, con, "cli_rows", columns)
            tally = con.execute(f"select {summary} from cli_rows").fetchone()
    finally:
        con.close()
    return tally, when.eval_at


def _count(table: pa.Table, column: str, value: Any) -> int:
    """Rows whose column equals value, counted from Arrow's value counts (turning a Python
    value into an Arrow one would import pandas)."""
    import pyarrow.compute as pc  # only here: a rule command importing no Arrow starts faster

    if not table.num_rows:
        return 0
    counts = pc.value_counts(table[column]).to_pylist()
    return sum(c["counts"] for c in counts if c["values"] == value)


def cmd_strikes(args: argparse.Namespace) -> int:
    """Strikes (ZZ-STRIKE) whose deadline falls in a year, numbered per expert, with actions.

    Columns: expert_id, strike_no, task_id, case_id, kind, deadline, action.
    Example: python -m pipelines strikes --year 2026 --as-of "2026-11-30 00:00:00" --out s.csv
    """
    year = parse_year(args.year)
    (n, experts, disqualify), _ = export_model(
        args,
        STRIKE_COLUMNS,
        "count(*), count(distinct expert_id), count(*) filter (where action = 'disqualify')",
        STRIKES,
        where={"strike_year": year},
    )
    print(
        f"{year} 年超时违规 {n:,} 次，涉及专家 {experts:,} 人，"
        f"其中取消资格 {disqualify:,} 次 → {args.out}",
        file=sys.stderr,
    )
    return 0


def cmd_penalties(args: argparse.Namespace) -> int:
    """Hospitals' share of disqualified experts in a year (ZZ-HOSPITAL5) and who loses points.

    Columns: hospital_id, experts_total, experts_disqualified, ratio, penalized, one_more_penalized.
    Example: python -m pipelines penalties --year 2026 --as-of "2027-01-01 00:00:00" --out p.csv
    """
    year = parse_year(args.year)
    (n, penalized, one_more), _ = export_model(
        args,
        PENALTY_COLUMNS,
        "count(*), count(*) filter (where penalized), count(*) filter (where one_more_penalized)",
        PENALTIES,
        year_from=year,
        year_to=year,
    )
    print(
        f"{year} 年医院 {n:,} 家，年终考核扣分 {penalized:,} 家，"
        f"再取消 1 名专家即扣分 {one_more:,} 家 → {args.out}",
        file=sys.stderr,
    )
    return 0


def cmd_violations(args: argparse.Namespace) -> int:
    """Every breach of a rule of shared/RULES.md the data shows as of a time, one row each.

    Columns: rule_id, case_id, task_id, expert_id, hospital_id, detail.
    Example: python -m pipelines violations --as-of "2026-11-30 00:00:00" --out v.csv
    """
    (n, rules), as_of = export_model(
        args, VIOLATION_COLUMNS, "count(*), count(distinct rule_id)", "mart_violations"
    )
    print(
        f"截至 {as_of:%Y-%m-%d %H:%M:%S} 违规 {n:,} 条，涉及规则 {rules} 条 → {args.out}",
        file=sys.stderr,
    )
    return 0


def cmd_fees(args: argparse.Namespace) -> int:
    """Each expert's completed reviews and fee for a month of completion (ZZ-FEE).

    Columns: expert_id, reviews, amount_yuan.
    Example: python -m pipelines fees --month 2026-03 --out fees_2026-03.csv
    """
    month = parse_month(args.month)
    (n, reviews, amount), _ = export_model(
        args,
        FEE_COLUMNS,
        "count(*), coalesce(sum(reviews), 0), coalesce(sum(amount_yuan), 0)",
        "mart_fees",
        timed=False,
        where={"month": month},
    )
    print(
        f"{month} 鉴定费：专家 {n:,} 人，鉴定 {reviews:,} 例，合计 {amount:,} 元 → {args.out}",
        file=sys.stderr,
    )
    return 0


def cmd_at_risk(args: argparse.Namespace) -> int:
    """Open tasks about to miss their response or completion deadline (not yet passed).

    Columns: deadline, hours_left (to one decimal), kind (accept = awaiting a response /
    complete = accepted, awaiting completion), task_id, case_id, expert_id, expert_name,
    hospital_id (the expert's), hospital_name, status (unconfirmed = 待核实: the deadline came
    after the data cut-off, by the evaluation time — phone now; at_risk), phone (the expert's);
    sorted by deadline, kind, task_id.
    Example: python -m pipelines at-risk --as-of "2026-03-02 09:00:00" --out at_risk.csv
    """
    (n, accept, complete, unconfirmed), as_of = export_model(
        args,
        AT_RISK_COLUMNS,
        "count(*), count(*) filter (where kind = 'accept'), "
        "count(*) filter (where kind = 'complete'), count(*) filter (where status = 'unconfirmed')",
        AT_RISK,
    )
    print(
        f"截至 {as_of:%Y-%m-%d %H:%M:%S} 即将超时任务 {n:,} 个（待响应 {accept:,}，"
        f"待完成 {complete:,}；其中已过期限、数据未显示的待核实 {unconfirmed:,} 个）"
        f" → {args.out}",
        file=sys.stderr,
    )
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    """Cases decided in a month, counted per disease and outcome (ZZ-ARCHIVE).

    Columns: month, disease_name, specialty, settlement, outcome (符合 / 不符合), cases;
    sorted by disease_name, outcome.
    Example: python -m pipelines archive --month 2026-03 --out archive_2026-03.csv
    """
    month = parse_month(args.month)
    (diseases, cases), _ = export_model(
        args,
        ARCHIVE_COLUMNS,
        "count(distinct disease_name), coalesce(sum(cases), 0)",
        "mart_archive",
        timed=False,
        where={"month": month},
    )
    print(f"{month} 办结归档：{diseases:,} 个病种，共 {cases:,} 例 → {args.out}", file=sys.stderr)
    return 0


def cmd_evidence(args: argparse.Namespace) -> int:
    """What each strike of an expert in a year rests on (ZZ-STRIKE, ZZ-DISPUTE): voided strikes
    too, with the number and action they had; status valid / upheld / voided.

    Columns: strike_no, task_id, case_id, kind, pushed_at, responded_at, completed_at, deadline,
    action, status.
    Example: python -m pipelines evidence --expert E0012 --year 2026 --out 依据_E0012.csv
    """
    from pipelines.rules.evidence import EVIDENCE_COLUMNS, strike_evidence

    year = parse_year(args.year)
    table, as_of = export(
        args,
        EVIDENCE_COLUMNS,
        lambda con, profile, at: strike_evidence(con, at, profile, args.expert, year),
    )
    print(
        f"截至 {as_of:%Y-%m-%d %H:%M:%S} 专家 {args.expert} {year} 年超时 {table.num_rows:,} 次"
        f"（已撤销 {_count(table, 'status', 'voided'):,}）→ {args.out}",
        file=sys.stderr,
    )
    return 0


def cmd_evidence_book(args: argparse.Namespace) -> int:
    """The year-end evidence in one xlsx (ZZ-HOSPITAL5): penalised hospitals → their experts
    disqualified in the year → every strike of those experts with any dispute decision.

    Example: python -m pipelines evidence-book --year 2026 --out 年终考核依据_2026.xlsx
    """
    from pipelines.rules.evidence import evidence_xlsx, year_end_evidence

    year = parse_year(args.year)
    con = open_db(args.db)
    try:
        when = evaluation(con, args.as_of)
        sheets = year_end_evidence(con, year, when.eval_at, load_profile(args.profile))
    finally:
        con.close()
    title = f"{year} 年专家取消资格比例扣分依据（评估时间 {when.eval_at:%Y-%m-%d %H:%M:%S}）"
    Path(args.out).write_bytes(evidence_xlsx(sheets, title))
    print(
        f"{year} 年扣分医院 {len(sheets['扣分医院']):,} 家，取消资格专家 "
        f"{len(sheets['取消资格专家']):,} 人，违规依据 {len(sheets['违规依据']):,} 条 → {args.out}",
        file=sys.stderr,
    )
    return 0


def cmd_kpis(args: argparse.Namespace) -> int:
    """The month's numbers for the city or one district (mart_monthly_kpis): the same the 总览
    page and the monthly report show. Counts, then approval_rate, accept_on_time_rate,
    complete_on_time_rate (4 decimals, empty when nothing was due), violations in all and per rule
    (violations:ZZ-ACCEPT …). Under --profile taiyuan, Taiyuan's (mart_ty_monthly_kpis): 定额
    cases certified, cycle/entry/re-certification timeliness, publicity and panel compliance,
    sanctions new/in force/ending, then their rates and the TY violations, then CONTRACT's
    strikes_*/fee_* under the profile's expert deadlines and fee.

    Columns: metric, value.
    Example: python -m pipelines kpis --month 2026-03 --district 中原区 --out kpis_2026-03.csv
    """
    from pipelines.rules.kpis import KPI_COLUMNS, check_district, month_kpis, month_table

    month = parse_month(args.month)
    pairs: list = []

    def compute(con: duckdb.DuckDBPyConnection, profile: Profile, at: dt.datetime) -> pa.Table:
        check_district(con, args.district)
        pairs.extend(month_kpis(con, profile, at, month, args.district))
        return month_table(pairs)

    _, as_of = export(args, KPI_COLUMNS, compute)
    got = dict(pairs)
    if "quota_certified" in got:  # Taiyuan (mart_ty_monthly_kpis)
        said = (
            f"定额病种认定 {got['quota_certified']:,} 件，在执行处理决定 "
            f"{got['sanctions_in_force']:,} 项，规则核查问题 {got['violations']:,} 条"
        )
    else:
        said = (
            f"申报 {got['cases_submitted']:,} 件，超时扣分 "
            f"{sum(v for k, v in pairs if k.startswith('strikes_')):,} 次，鉴定费 "
            f"{got['fee_yuan']:,} 元"
        )
    print(
        f"{month} {args.district or '全市'}（评估时间 {as_of:%Y-%m-%d %H:%M:%S}）：{said} → {args.out}",
        file=sys.stderr,
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The monthly supervision report for leadership (PDF, Chinese), the city or one district:
    the month's KPIs beside the previous month and the same month last year, 12-month trends,
    strikes and the actions taken, penalised and nearly penalised hospitals, violations by rule,
    the random case draws of the last 12 months with their estimates, the at-risk outlook;
    the data cut-off and the evaluation time on the first page.

    Example: python -m pipelines report --month 2026-03 --district 中原区 --out 月报_2026-03.pdf
    """
    from pipelines.report import monthly_report
    from pipelines.rules.kpis import check_district

    month = parse_month(args.month)
    con = open_db(args.db)
    try:
        check_district(con, args.district)
        when = evaluation(con, args.as_of)
        pdf = monthly_report(con, load_profile(args.profile), when, month, args.district)
    finally:
        con.close()
    Path(args.out).write_bytes(pdf)
    print(
        f"{month} {args.district or '全市'} 月度监管报告（评估时间 {when.eval_at:%Y-%m-%d %H:%M:%S}）"
        f" → {args.out}",
        file=sys.stderr,
    )
    return 0


def _district_option(sub: argparse._SubParsersAction, name: str) -> None:
    sub.choices[name].add_argument("--district", help="区县（默认：全市）")


def _add(
    sub: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    name: str,
    summary: str,
    func: Any,
    options: Sequence[str],
) -> None:
    p = sub.add_parser(
        name,
        parents=[common],
        help=summary,
        description=f"{summary}\n\n{inspect.cleandoc(func.__doc__ or '')}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if "year" in options:
        p.add_argument("--year", required=True, help="年份 YYYY")
    if "month" in options:
        p.add_argument("--month", required=True, help="月份 YYYY-MM")
    if "expert" in options:
        p.add_argument("--expert", required=True, help="专家编码")
    if "as_of" in options:
        p.add_argument(
            "--as-of", dest="as_of", help='评估时间 "YYYY-MM-DD HH:MM:SS"（默认：数据截止时间）'
        )
    p.add_argument("--out", required=True, help="输出文件")
    p.set_defaults(func=func)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the rule verbs to `python -m pipelines`."""
    _add(
        sub,
        common,
        "strikes",
        "专家超时违规记录及处理措施 (ZZ-STRIKE)",
        cmd_strikes,
        ["year", "as_of"],
    )
    _add(
        sub,
        common,
        "penalties",
        "医院专家取消资格比例与年终考核扣分 (ZZ-HOSPITAL5)",
        cmd_penalties,
        ["year", "as_of"],
    )
    _add(sub, common, "violations", "违规明细（全部规则）", cmd_violations, ["as_of"])
    _add(sub, common, "fees", "专家鉴定费月度清单 (ZZ-FEE)", cmd_fees, ["month"])
    _add(sub, common, "at-risk", "即将超时的任务", cmd_at_risk, ["as_of"])
    _add(
        sub, common, "archive", "月度办结归档：病种 × 鉴定结果 (ZZ-ARCHIVE)", cmd_archive, ["month"]
    )
    _add(
        sub,
        common,
        "evidence",
        "专家违规依据：每次超时的任务、推送、响应与期限 (ZZ-STRIKE)",
        cmd_evidence,
        ["expert", "year", "as_of"],
    )
    _add(
        sub,
        common,
        "evidence-book",
        "年终考核扣分依据 xlsx：医院 → 取消资格专家 → 违规依据 (ZZ-HOSPITAL5)",
        cmd_evidence_book,
        ["year", "as_of"],
    )
    _add(sub, common, "kpis", "月度监管指标（全市或一个区县）", cmd_kpis, ["month", "as_of"])
    _district_option(sub, "kpis")
    _add(
        sub, common, "report", "月度监管报告 PDF（全市或一个区县）", cmd_report, ["month", "as_of"]
    )
    _district_option(sub, "report")
