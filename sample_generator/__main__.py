"""`python -m sample_generator [--city taiyuan] --cases N --seed S --out DIR` — write the input
files (Zhengzhou's four; Taiyuan's six, sample_generator/taiyuan.py)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from pipelines.cliutil import run_verb
from pipelines.ingest import BEIJING
from sample_generator.core import DEFAULT_END, DEFAULT_START, FORMATS, generate
from sample_generator.taiyuan import generate_taiyuan


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"日期应为 YYYY-MM-DD，实际为 {text!r}") from exc


def _end(text: str) -> dt.date | dt.datetime:
    """--end: `now` (Beijing time), a day YYYY-MM-DD, or an instant YYYY-MM-DD HH:MM[:SS]."""
    if text == "now":
        return dt.datetime.now(BEIJING).replace(tzinfo=None, microsecond=0)
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--end 应为 now、YYYY-MM-DD 或 YYYY-MM-DD HH:MM:SS，实际为 {text!r}"
        ) from exc


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sample_generator",
        description="生成郑州或太原门诊慢特病鉴定样例数据（含已知数量的违规）及 expected_breaches.json",
        epilog="例: python -m sample_generator --cases 200000 --seed 1 --out data/demo",
    )
    p.add_argument(
        "--city",
        choices=("zhengzhou", "taiyuan"),
        default="zhengzhou",
        help="城市：zhengzhou（默认）或 taiyuan（太原：定额/非定额、专家组意见、重新认定）",
    )
    p.add_argument("--cases", type=int, required=True, help="申报件数 N")
    p.add_argument(
        "--seed", type=int, required=True, help="随机种子（同一种子生成逐字节相同的文件）"
    )
    p.add_argument("--out", type=Path, required=True, help="输出目录")
    p.add_argument("--format", choices=FORMATS, default="csv", help="文件格式 (默认 csv)")
    p.add_argument(
        "--start", type=_date, default=DEFAULT_START, help="首个申报日 (默认 %(default)s)"
    )
    p.add_argument(
        "--end",
        type=_end,
        default=DEFAULT_END,
        help="最后申报日（数据截止时间 as_of = 该日 23:59:59），或截止时刻 YYYY-MM-DD HH:MM:SS，"
        "或 now（此刻，北京时间：数据截止于此刻，期末仍有未办结任务） (默认 %(default)s)",
    )
    p.add_argument("--no-breaches", action="store_true", help="不植入任何违规，所有计数为 0")
    p.add_argument("--bad-rows", type=int, default=0, help="追加的不可用行数（DATA-REJECT）")
    p.add_argument("--quiet", action="store_true", help="不显示进度条")
    return p


def _generate(args: argparse.Namespace) -> int:
    """Write the city's files; usage errors and calendar gaps are `run_verb`'s to report."""
    common = dict(fmt=args.format, start=args.start, end=args.end, bad_rows=args.bad_rows)
    common["breaches"] = not args.no_breaches
    if args.city == "taiyuan":
        report = generate_taiyuan(args.cases, args.seed, args.out, **common)
    else:
        report = generate(args.cases, args.seed, args.out, **common, progress=not args.quiet)
    if not args.quiet:
        rows = ", ".join(f"{k} {v}" for k, v in report["rows"].items())
        print(f"已写入 {args.out}: {rows}; as_of {report['as_of']}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.func = _generate
    return run_verb(args)


if __name__ == "__main__":
    sys.exit(main())
