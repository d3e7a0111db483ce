"""`python -m pipelines VERB …` — one function per verb (shared/CONTRACT.md "Commands").

Each command module exposes `register(subparsers, common)`; `common` is the parent parser with
the options every verb takes (--db, --profile). A verb's function gets the parsed args and
returns an exit status. The shared parsing and error handling live in the leaf module
`pipelines.cliutil`, which the command modules import; this module imports them, and nothing
imports this module but `pipelines.__main__` (and tests).
"""

from __future__ import annotations

import argparse

from pipelines import decisions, ingest, sanctions
from pipelines.cliutil import common_parser, run_verb
from pipelines.draws import cli as draws_cli
from pipelines.draws import review_results
from pipelines.rules import cli as rules_cli

COMMANDS = (ingest, rules_cli, draws_cli, decisions, sanctions, review_results)


def build_parser() -> argparse.ArgumentParser:
    common = common_parser()
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description="门诊慢特病鉴定监管 — 数据导入、规则核查、随机抽取",
    )
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for module in COMMANDS:
        module.register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and run its verb (exit statuses: see `pipelines.cliutil.run_verb`)."""
    return run_verb(build_parser().parse_args(argv))
