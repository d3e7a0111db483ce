"""Draw verbs of `python -m pipelines` (shared/RULES.md "Verifiable draws", ZZ-SPOTCHECK, TY-REVIEW).

Every draw freezes its population (recorded with its digest) and then draws with the seed; both
go to the hash-chained `draw_log` of the database. Output columns follow shared/CONTRACT.md;
review-plan's columns are documented on its function.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from collections.abc import Callable, Sequence

import duckdb

from pipelines.config import load_profile
from pipelines.db import connect, one_publish
from pipelines.draws import log
from pipelines.draws.engine import (
    NO_SUPERVISOR,
    DrawResult,
    population_table,
    replace,
    supervisor_name,
)
from pipelines.draws.experts import draw_experts
from pipelines.draws.findings import findings_summary, import_findings, write_retrieval_list
from pipelines.draws.keys import Pick
from pipelines.draws.plan import Precision, plan_sample
from pipelines.draws.review import appeal_panel, parse_quarter, review_plan, review_step
from pipelines.draws.spotcheck import rule_text, spot_check
from pipelines.draws.verify import verify_log
from pipelines.errors import UsageError
from pipelines.output import write_csv, write_rows, write_table

SPOT_CHECK_COLUMNS = ["hospital_id", "rank", "case_id", "key"]
EXPERT_COLUMNS = ["rank", "expert_id", "hospital_id", "key"]
REVIEW_COLUMNS = [
    "specialty",
    "expert_rank",
    "expert_id",
    "expert_hospital_id",
    "expert_key",
    "case_hospital_id",
    "case_rank",
    "case_id",
    "case_key",
]
REVIEW_EXPERT_COLUMNS = ["specialty", "rank", "expert_id", "hospital_id", "key"]


def default_operator() -> str:
    """The OS user running the command (empty when the system cannot tell)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} 日期格式应为 YYYY-MM-DD，实际为 {text!r}") from None


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def _shortfall(result: DrawResult, what: str) -> None:
    for stratum, (want, have) in result.shortfall.items():
        _say(f"候选{what}不足：{stratum} 需 {want} 人，仅有 {have} 人，已全部抽取")


def write_spot_check(path: str, picks: Sequence[Pick]) -> int:
    """The drawn cases sorted by hospital, rank, case and key, written set-based (`write_table`:
    a province's 45,000 picks without a Python loop per row)."""
    import pyarrow as pa

    columns = [[p.hospital_id for p in picks], [p.rank for p in picks]]
    columns += [[p.id for p in picks], [p.key for p in picks]]
    types = [pa.string(), pa.int64(), pa.string(), pa.string()]
    arrays = [pa.array(c, t) for c, t in zip(columns, types, strict=True)]
    table = pa.table(arrays, names=SPOT_CHECK_COLUMNS)
    table = table.sort_by([(c, "ascending") for c in SPOT_CHECK_COLUMNS])
    return write_table(path, table, SPOT_CHECK_COLUMNS)


def write_drawn_cases(con: duckdb.DuckDBPyConnection, path: str, result: DrawResult) -> int:
    """`write_spot_check` of a draw's picks, by DuckDB from the temp table they were ranked into
    when there is one (no Arrow table built from Python objects: pyarrow would import pandas)."""
    if result.staged is None:
        return write_spot_check(path, result.picks)
    order = ", ".join(SPOT_CHECK_COLUMNS)
    source = f"(select hospital_id, rank, id as case_id, key from {result.staged} order by {order})"
    return write_rows(path, con, source, SPOT_CHECK_COLUMNS)


def expert_rows(picks: Sequence[Pick]) -> list[list]:
    return [[p.rank, p.id, p.hospital_id, p.key] for p in sorted(picks, key=lambda p: p.rank)]


def write_population(con: duckdb.DuckDBPyConnection, draw_id: str, path: str) -> int:
    """Write the frozen population of a draw as the list to publish."""
    columns, rows = population_table(con, draw_id)
    return write_csv(path, columns, rows)


def write_result(rec: log.DrawRecord, path: str) -> int:
    """Write a draw's result as drawn, in the format tools/verify_draw.py reads for its kind."""
    picks = rec.pick_list()
    if rec.kind in ("spot_check", "review_cases"):
        return write_spot_check(path, picks)
    if rec.kind == "review_experts":
        rows = sorted([p.stratum, p.rank, p.id, p.hospital_id, p.key] for p in picks)
        return write_csv(path, REVIEW_EXPERT_COLUMNS, rows)
    return write_csv(path, EXPERT_COLUMNS, expert_rows(picks))


def cmd_spot_check(args: argparse.Namespace) -> int:
    """ZZ-SPOTCHECK: draw ceil(rate × n) approved cases per hospital of a period.

    Example: python -m pipelines spot-check --from 2026-07-01 --to 2026-09-30 --rate 10% \\
        --seed 48213907561239847702 --supervisor 王纪检 --out 抽查名单.csv
    """
    profile = load_profile(args.profile)
    rate = args.rate if args.rate is not None else str(profile["spot_check"]["default_rate"])
    precision = _precision(args, profile, required=False)
    if precision is not None and args.rate is not None:
        raise UsageError("--rate 与 --expected-rate/--half-width 只能选一种")
    d1, d2 = _date(args.date_from, "--from"), _date(args.date_to, "--to")
    con = connect(args.db)
    try:
        with one_publish(con):  # the frozen list and the draw: one copy for the dashboard
            res = spot_check(
                con,
                d1,
                d2,
                rate,
                args.seed,
                profile,
                operator=args.operator,
                supervisor=args.supervisor,
                precision=precision,
            )
        k = write_drawn_cases(con, args.out, res)
        print(res.draw_id)
        if args.population_out:
            write_population(con, res.draw_id, args.population_out)
        if args.list_out:
            write_retrieval_list(con, res.draw_id, args.list_out)
    finally:
        con.close()
    n = res.record.population_size or 0
    share = f"{k / n:.1%}" if n else "—"
    params = res.record.params()
    _say(
        f"抽查完成：{d1} 至 {d2} 鉴定通过 {n:,} 件（名单摘要 {res.record.population_digest}），"
        f"{rule_text(params)}，{len(params['k'])} 家医院共抽取 {k:,} 件"
        f"（{share}），记录 {res.draw_id} → {args.out}"
    )
    return 0


def _precision(args: argparse.Namespace, profile, required: bool) -> Precision | None:
    """The precision plan of --expected-rate / --half-width / --confidence (both or neither)."""
    given = [args.expected_rate is not None, args.half_width is not None]
    if not any(given) and not required:
        return None
    if not all(given):
        raise UsageError("按精度确定样本量须同时给出 --expected-rate 与 --half-width")
    return Precision.parse(args.expected_rate, args.half_width, args.confidence, profile)


def cmd_plan_sample(args: argparse.Namespace) -> int:
    """Sample size per hospital for a precision: expected rate, half-width, confidence → n,
    never below the ZZ-SPOTCHECK minimum nor above the hospital's approved cases.

    Example: python -m pipelines plan-sample --from 2026-07-01 --to 2026-09-30 \
        --expected-rate 5% --half-width 5% --confidence 90% --out 样本量.csv
    """
    profile = load_profile(args.profile)
    precision = _precision(args, profile, required=True)
    d1, d2 = _date(args.date_from, "--from"), _date(args.date_to, "--to")
    con = connect(args.db, read_only=True)
    try:
        rows = plan_sample(con, d1, d2, precision)
    finally:
        con.close()
    write_csv(args.out, ["hospital_id", "frame_n", "n"], rows)
    total, frame = sum(r[2] for r in rows), sum(r[1] for r in rows)
    _say(
        f"{precision.describe()}；{len(rows)} 家医院鉴定通过 {frame:,} 件，应抽 {total:,} 件 → {args.out}"
    )
    return 0


def _precision_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--expected-rate", default=None, help="预期不合格率，如 0.05 或 5%%")
    p.add_argument("--half-width", default=None, help="允许误差（区间半宽），如 0.05 或 5%%")
    p.add_argument("--confidence", default=None, help="置信度（默认 90%%）")


def cmd_draw_experts(args: argparse.Namespace) -> int:
    """Draw n qualified, not-disqualified experts of a specialty outside the avoided hospitals.

    Example: python -m pipelines draw-experts --specialty 心血管内科 --n 5 \\
        --seed 48213907561239847702 --avoid-hospital H001 --as-of "2026-07-06 09:00" --out 专家.csv
    """
    from pipelines.cliutil import evaluation

    if args.n < 1:
        raise UsageError(f"--n 抽取人数应至少为 1，实际为 {args.n}")
    profile = load_profile(args.profile)
    con = connect(args.db)
    try:
        res = draw_experts(
            con,
            args.specialty,
            args.n,
            args.seed,
            evaluation(con, args.as_of).eval_at,
            profile,
            args.avoid_hospital or (),
            operator=args.operator,
            supervisor=args.supervisor,
        )
        write_csv(args.out, EXPERT_COLUMNS, expert_rows(res.picks))
        if args.population_out:
            write_population(con, res.draw_id, args.population_out)
    finally:
        con.close()
    _shortfall(res, "专家")
    _say(
        f"专家抽取完成：{args.specialty} 候选 {res.record.population_size:,} 人（名单摘要 "
        f"{res.record.population_digest}），抽取 {len(res.picks)} 人，记录 {res.draw_id} → {args.out}"
    )
    return 0


def cmd_verify_log(args: argparse.Namespace) -> int:
    """Check the draw_log hash chain and re-derive every draw; print OK or the first broken record.

    Example: python -m pipelines verify-log --db data/warehouse.duckdb
    """
    con = connect(args.db, read_only=True)
    try:
        check = verify_log(con)
    finally:
        con.close()
    print(check.message if check.ok else f"BROKEN：{check.message}")
    _say("抽取记录校验通过" if check.ok else f"抽取记录校验失败：{check.draw_id}")
    return 0 if check.ok else 1


def cmd_review_plan(args: argparse.Namespace) -> int:
    """TY-REVIEW: draw the quarter's review cases per hospital, then experts per specialty.

    Output columns: specialty, expert_rank, expert_id, expert_hospital_id, expert_key,
    case_hospital_id, case_rank, case_id, case_key — one row per (expert, case) assignment, sorted
    by specialty, expert_rank, case_hospital_id, case_rank; a drawn expert without a case has empty
    case columns, a case nobody could take (pool too small) empty expert columns (listed last).
    --cases-out writes the case draw in the spot-check format, --experts-out the expert draw
    (specialty, rank, expert_id, hospital_id, key), both checkable with tools/verify_draw.py.

    Example: python -m pipelines review-plan --profile taiyuan --quarter 2026Q3 \\
        --seed 48213907561239847702 --out 复核方案_2026Q3.csv
    """
    from pipelines.cliutil import evaluation

    profile = load_profile(args.profile)
    quarter = parse_quarter(args.quarter)
    con = connect(args.db)
    try:
        as_of = evaluation(con, args.as_of).eval_at
        plan = review_plan(
            con,
            quarter,
            args.seed,
            as_of,
            profile,
            expert_seed=args.expert_seed,
            operator=args.operator,
            supervisor=args.supervisor,
        )
    finally:
        con.close()
    cases = {p.id: p for p in plan.cases.picks}
    experts = {p.id: p for p in plan.experts.picks}
    rows = []
    busy = set()
    for a in plan.assignments:
        e, c = experts[a["expert_id"]], cases[a["case_id"]]
        busy.add(e.id)
        rows.append(
            [e.stratum, e.rank, e.id, e.hospital_id, e.key, c.hospital_id, c.rank, c.id, c.key]
        )
    for e in experts.values():
        if e.id not in busy:
            rows.append([e.stratum, e.rank, e.id, e.hospital_id, e.key, None, None, None, None])
    specialty = {c[0]: c[1] for c in plan.experts.record.params()["cases"]}
    for cid in plan.unassigned:
        c = cases[cid]
        rows.append([specialty[cid], None, None, None, None, c.hospital_id, c.rank, c.id, c.key])
    big = float("inf")
    rows.sort(key=lambda r: (r[0], r[1] or big, r[5] or "", r[6] or 0))
    write_csv(args.out, REVIEW_COLUMNS, rows)
    if args.cases_out:
        write_spot_check(args.cases_out, plan.cases.picks)
    if args.experts_out:
        write_csv(
            args.experts_out,
            REVIEW_EXPERT_COLUMNS,
            sorted([p.stratum, p.rank, p.id, p.hospital_id, p.key] for p in plan.experts.picks),
        )
    _shortfall(plan.experts, "专家")
    if plan.unassigned:
        _say(
            f"警告：{len(plan.unassigned)} 件病例因回避后专家不足未能分配：{'、'.join(plan.unassigned)}"
        )
    step = review_step(as_of.date(), profile)
    _say(
        f"{quarter.label} 复核方案：抽取病例 {len(cases):,} 件（{plan.cases.draw_id}），"
        f"专家 {len(experts)} 人（{plan.experts.draw_id}）；"
        f"{'当前处于：' + step.step if step else '当前不在复核月的安排日期内'} → {args.out}"
    )
    return 0


def cmd_appeal_panel(args: argparse.Namespace) -> int:
    """TY-REVIEW appeals: draw the panel (3 in Taiyuan) for an appealed case; columns as draw-experts.

    Example: python -m pipelines appeal-panel --profile taiyuan --case C2026000123 \\
        --seed 48213907561239847702 --out 申诉专家_C2026000123.csv
    """
    from pipelines.cliutil import evaluation

    profile = load_profile(args.profile)
    con = connect(args.db)
    try:
        res = appeal_panel(
            con,
            args.case,
            args.seed,
            evaluation(con, args.as_of).eval_at,
            profile,
            operator=args.operator,
            supervisor=args.supervisor,
        )
    finally:
        con.close()
    write_csv(args.out, EXPERT_COLUMNS, expert_rows(res.picks))
    _shortfall(res, "专家")
    avoided = ", ".join(res.record.params()["avoid_experts"]) or "无"
    _say(
        f"申诉复核专家抽取完成：病例 {args.case}，候选 {res.record.population_size} 人"
        f"（已回避病例所在医院及首次复核专家 {avoided}），抽取 {len(res.picks)} 人，记录 {res.draw_id} → {args.out}"
    )
    return 0


def cmd_findings_import(args: argparse.Namespace) -> int:
    """Import a filled-in retrieval list (申报编号/抽查结论/追回金额/备注) for a spot-check draw.

    Example: python -m pipelines findings-import --draw SC-20261005-000002 抽查结果.xlsx \\
        --summary-out 抽查汇总.csv
    """
    con = connect(args.db)
    try:
        res = import_findings(con, args.draw, args.file, recorded_by=args.operator)
        summary = findings_summary(con, args.draw)
    finally:
        con.close()
    if args.summary_out:
        write_csv(
            args.summary_out, summary.column_names, [list(r.values()) for r in summary.to_pylist()]
        )
    total = sum(summary.column("recover_yuan").to_pylist())
    _say(
        f"已导入抽查结论 {res.recorded} 条（未填结论跳过 {res.skipped} 条），"
        f"{summary.num_rows} 家医院，追回金额合计 {total:,.2f} 元"
    )
    return 0


def cmd_appraise(args: argparse.Namespace) -> int:
    """What a spot check tells: per hospital and for all (row ALL) the improper rate, the projected
    improper approvals and 估算风险金额 with their intervals, from the latest findings of a draw.

    Example: python -m pipelines appraise --draw SC-20261005-000002 --confidence 90% --out 估计.csv
    """
    from pipelines.draws.appraise import COLUMNS, appraise, headline

    con = connect(args.db, read_only=True)
    try:
        result = appraise(con, args.draw, args.confidence)
    finally:
        con.close()
    write_csv(args.out, COLUMNS, [e.row() for e in result.rows])
    _say(f"{headline(result)} → {args.out}")
    return 0


def cmd_targeted(args: argparse.Namespace) -> int:
    """明察暗访: record the n highest-risk approved cases of a random draw's period that it did not
    pick, each with its risk score and reason (pipelines/draws/targeted.py documents the score).
    They are their own record (TP-…), shown apart and never part of the estimates (appraise).

    Output columns: rank, case_id, hospital_id, score, reason — sorted by rank.

    Example: python -m pipelines targeted --draw SC-20261005-000002 --n 20 --out 明察暗访.csv
    """
    from pipelines.draws.targeted import score_text, targeted_picks

    con = connect(args.db)
    try:
        rec = targeted_picks(
            con,
            args.draw,
            args.n,
            operator=args.operator,
            supervisor=args.supervisor,
            fast_minutes=args.fast_minutes,
            peer_margin=args.peer_margin,
            min_reviews=args.min_reviews,
        )
        if args.list_out:
            write_retrieval_list(con, rec.draw_id, args.list_out)
    finally:
        con.close()
    params = rec.params()
    rows = [
        [i, s["case_id"], s["hospital_id"], s["score"], s["reason"]]
        for i, s in enumerate(params["scores"], start=1)
    ]
    write_csv(args.out, ["rank", "case_id", "hospital_id", "score", "reason"], rows)
    print(rec.draw_id)
    _say(
        f"明察暗访：{score_text(params)}；候选 {params['candidates']:,} 件，选取 {len(rows)} 件，"
        f"记录 {rec.draw_id}（不参与抽查推断）→ {args.out}"
    )
    return 0


def cmd_draw_replace(args: argparse.Namespace) -> int:
    """Replace a drawn expert or case that cannot serve by the next-ranked eligible candidate.

    Example: python -m pipelines draw-replace --draw ED-20261005-000004 --id E0123 \\
        --reason 本人与申诉人有亲属关系，申请回避
    """
    con = connect(args.db)
    try:
        res = replace(
            con, args.draw, args.id, args.reason, operator=args.operator, supervisor=args.supervisor
        )
    finally:
        con.close()
    p = res.picks[0]
    print(f"{args.id} → {p.id}（第 {p.rank} 位，key {p.key}）")
    _say(f"替补完成：{args.id} 由 {p.id} 替补，原因：{args.reason.strip()}，记录 {res.draw_id}")
    return 0


def cmd_draw_pdf(args: argparse.Namespace) -> int:
    """Write the printable record of a draw (抽取记录) as PDF; --public leaves out personal data.

    Example: python -m pipelines draw-pdf --draw SC-20261005-000002 --out 抽取记录.pdf --public
    """
    from pipelines.draws.pdf import record_pdf

    con = connect(args.db)
    try:
        out = record_pdf(con, args.draw, args.out, public=args.public)
    finally:
        con.close()
    _say(f"已生成{'公开版' if args.public else ''}抽取记录 {args.draw} → {out}")
    return 0


def cmd_draw_export(args: argparse.Namespace) -> int:
    """Export a draw for publication: its frozen population list and/or its result as drawn.

    The result is the draw itself (what tools/verify_draw.py re-derives); replacements are
    published in the record (draw-pdf --public), each being the next-ranked candidate.

    Example: python -m pipelines draw-export --draw SC-20261005-000002 \\
        --population 名单.csv --result 结果.csv
    """
    if not args.population and not args.result:
        raise UsageError("请至少指定 --population 或 --result")
    con = connect(args.db)
    try:
        rec = log.get_record(con, args.draw)
        if args.population:
            write_population(con, args.draw, args.population)
        if args.result:
            write_result(rec, args.result)
    finally:
        con.close()
    _say(f"已导出抽取记录 {args.draw}（{log.KIND_LABEL.get(rec.kind, rec.kind)}）的公开文件")
    return 0


def _people(p: argparse.ArgumentParser) -> None:
    p.add_argument("--operator", default=default_operator(), help="操作人（默认：当前系统用户）")
    p.add_argument(
        "--supervisor",
        default="",
        type=lambda name: supervisor_name(name, required=False),
        help=f"监督人（纪检等部门见证人；不填则记录为“{NO_SUPERVISOR}”）",
    )


def _verb(
    sub: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    name: str,
    help_zh: str,
    func: Callable[[argparse.Namespace], int],
) -> argparse.ArgumentParser:
    """A verb's parser: the Chinese one-liner in the list, the function's docstring in --help."""
    p = sub.add_parser(
        name,
        parents=[common],
        help=help_zh,
        description=func.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=func)
    return p


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = _verb(sub, common, "spot-check", "鉴定通过病例抽查 (ZZ-SPOTCHECK)", cmd_spot_check)
    p.add_argument("--from", dest="date_from", required=True, help="办结日期起 YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", required=True, help="办结日期止 YYYY-MM-DD（含）")
    p.add_argument("--rate", default=None, help="抽查比例，如 0.10 或 10%%（默认：规则配置）")
    p.add_argument("--seed", required=True, help="随机种子（文本，如 20 位骰子数字）")
    p.add_argument("--out", required=True, help="输出 CSV")
    p.add_argument("--population-out", default=None, help="另存公示用候选名单 CSV")
    p.add_argument("--list-out", default=None, help="另存调阅清单（.xlsx 或 .csv）")
    _precision_options(p)
    _people(p)

    p = _verb(sub, common, "plan-sample", "按精度计算各医院抽查样本量", cmd_plan_sample)
    p.add_argument("--from", dest="date_from", required=True, help="办结日期起 YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", required=True, help="办结日期止 YYYY-MM-DD（含）")
    _precision_options(p)
    p.add_argument("--out", required=True, help="输出 CSV")

    p = _verb(sub, common, "draw-experts", "随机抽取专家", cmd_draw_experts)
    p.add_argument("--specialty", required=True, help="专业（与病种目录一致）")
    p.add_argument("--n", type=int, required=True, help="抽取人数")
    p.add_argument("--seed", required=True, help="随机种子（文本）")
    p.add_argument("--avoid-hospital", action="append", default=[], help="回避医院编码，可重复")
    p.add_argument("--as-of", default=None, help="资格判断时间（默认：现在）")
    p.add_argument("--out", required=True, help="输出 CSV")
    p.add_argument("--population-out", default=None, help="另存公示用候选名单 CSV")
    _people(p)

    p = _verb(sub, common, "verify-log", "校验抽取记录哈希链并复算", cmd_verify_log)

    p = _verb(sub, common, "review-plan", "太原季度复核双随机抽取 (TY-REVIEW)", cmd_review_plan)
    p.add_argument("--quarter", required=True, help="复核季度，如 2026Q3（抽上一季度认定的病例）")
    p.add_argument("--seed", required=True, help="随机种子（文本），用于抽取病例")
    p.add_argument("--expert-seed", default=None, help="抽取专家的种子（默认与 --seed 相同）")
    p.add_argument("--as-of", default=None, help="专家资格判断时间（默认：现在）")
    p.add_argument("--out", required=True, help="输出 CSV（专家—病例分配）")
    p.add_argument("--cases-out", default=None, help="另存病例抽取结果（抽查格式）")
    p.add_argument("--experts-out", default=None, help="另存专家抽取结果")
    _people(p)

    p = _verb(sub, common, "appeal-panel", "申诉病例二次复核专家抽取 (TY-REVIEW)", cmd_appeal_panel)
    p.add_argument("--case", required=True, help="申诉病例的申报编号")
    p.add_argument("--seed", required=True, help="随机种子（文本）")
    p.add_argument("--as-of", default=None, help="专家资格判断时间（默认：现在）")
    p.add_argument("--out", required=True, help="输出 CSV（rank, expert_id, hospital_id, key）")
    _people(p)

    p = _verb(sub, common, "findings-import", "导入抽查结论", cmd_findings_import)
    p.add_argument("file", metavar="FILE", help="填好的调阅清单（.xlsx 或 .csv）")
    p.add_argument("--draw", required=True, help="抽查记录编号，如 SC-20261005-000002")
    p.add_argument("--summary-out", default=None, help="另存各医院抽查汇总 CSV")
    _people(p)

    p = _verb(sub, common, "appraise", "抽查结论推断总体（区间估计）", cmd_appraise)
    p.add_argument("--draw", required=True, help="抽查记录编号（SC-… 或 RC-…）")
    p.add_argument("--confidence", default=None, help="置信度，如 0.90 或 90%%（默认 90%%）")
    p.add_argument("--out", required=True, help="输出 CSV")

    p = _verb(sub, common, "targeted", "明察暗访：按风险定向抽取（不参与推断）", cmd_targeted)
    p.add_argument("--draw", required=True, help="所附的随机抽查记录编号（SC-… 或 RC-…）")
    p.add_argument("--n", type=int, required=True, help="定向抽取件数")
    p.add_argument(
        "--fast-minutes", type=int, default=None, help="受理后多少分钟内办结算过快（默认 10）"
    )
    p.add_argument("--peer-margin", default=None, help="通过率高于同专业多少算偏高（默认 0.15）")
    p.add_argument("--min-reviews", type=int, default=None, help="计算通过率的最少件数（默认 10）")
    p.add_argument("--out", required=True, help="输出 CSV")
    p.add_argument("--list-out", default=None, help="另存调阅清单（.xlsx 或 .csv）")
    _people(p)

    p = _verb(sub, common, "draw-replace", "替补不能参加的入选者", cmd_draw_replace)
    p.add_argument("--draw", required=True, help="抽取记录编号")
    p.add_argument("--id", required=True, help="被替换的专家编码（或申报编号）")
    p.add_argument("--reason", required=True, help="替补原因")
    _people(p)

    p = _verb(sub, common, "draw-pdf", "生成抽取记录 PDF", cmd_draw_pdf)
    p.add_argument("--draw", required=True, help="抽取记录编号")
    p.add_argument("--out", required=True, help="输出 PDF")
    p.add_argument("--public", action="store_true", help="公开版（不含姓名、身份证号）")

    p = _verb(sub, common, "draw-export", "导出公示用名单与抽取结果", cmd_draw_export)
    p.add_argument("--draw", required=True, help="抽取记录编号")
    p.add_argument("--population", default=None, help="候选名单 CSV")
    p.add_argument("--result", default=None, help="抽取结果 CSV")
