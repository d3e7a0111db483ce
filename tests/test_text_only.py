"""Values from data and forms are shown as text, never as Markdown or HTML (issue 15, item 3).

A hospital named like a tracking pixel, bold and a link must show as typed: on the page no image
is fetched, nothing is bold, no link; in a chart plotly draws the characters, not an <a>.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from test_pages_monitoring import build_db

from dashboard.charts import plain
from dashboard.common import literal

from apptest_util import open_page

ROOT = Path(__file__).resolve().parent.parent
EVIL = "![](http://x/t.png)**b**<a href=x>y</a>"
EVIL_MD = r"\!\[\]\(http\:\/\/x\/t\.png\)\*\*b\*\*\<a href\=x\>y\<\/a\>"


def test_literal_backslash_escapes_every_markdown_character():
    assert literal(EVIL) == EVIL_MD
    assert literal(":red[x] $a$ :material/home:") == r"\:red\[x\] \$a\$ \:material\/home\:"
    assert literal("两行\n文本") == "两行 文本"
    assert literal(None) == "—"
    assert literal(12) == "12"


def test_plain_writes_plotly_markup_as_entities():
    assert plain([EVIL, "A&B", 3]) == [
        "![](http://x/t.png)**b**&lt;a href=x&gt;y&lt;/a&gt;",
        "A&amp;B",
        3,
    ]


@pytest.fixture(scope="module")
def evil_db(tmp_path_factory) -> tuple[Path, str]:
    """Generated data where the first hospital with a disqualified expert has the evil name."""
    d = tmp_path_factory.mktemp("textonly")
    db = build_db(d, cases=1500)
    c = duckdb.connect(str(db))
    hid = c.execute(
        "select hospital_id from mart_hospital_penalty where experts_disqualified > 0 "
        "order by penalized desc, one_more_penalized desc, ratio desc, hospital_id limit 1"
    ).fetchone()[0]
    c.execute("update stg_hospitals set hospital_name = ? where hospital_id = ?", [EVIL, hid])
    c.execute(
        "update mart_hospital_penalty set hospital_name = ? where hospital_id = ?", [EVIL, hid]
    )
    c.close()
    return db, hid


def test_a_hospital_name_shows_literally_on_the_hospitals_page(evil_db, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copy(evil_db[0], db)
    at = open_page(db, "hospitals")
    assert not at.exception
    assert at.selectbox(key="hosp-evidence").value == evil_db[1]
    captions = [c.value for c in at.caption if EVIL_MD in c.value]
    assert captions and all(EVIL not in c.value for c in at.caption)
    [chart] = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    ticks = chart["data"][0]["y"]
    assert any(t.startswith("![](http://x/t.png)**b**&lt;a href=x&gt;y&lt;/a&gt;（") for t in ticks)
    assert all("<a" not in t for t in ticks)


# ---- a guard on the code: every value put into Markdown goes through literal() ---------------

MARKDOWN_CALLS = {
    "markdown",
    "caption",
    "info",
    "success",
    "warning",
    "error",
    "metric",
    "subheader",
    "header",
    "title",
    "toast",
    "expander",
    "write",
    "page_header",
    "tabs",
    "button",
}
# Interpolations that come from the code or the rule profile, never from data or a form.
SAFE_CALLS = {"literal", "num", "pct", "percent", "check_rate", "len", "int", "str"}


def _unsafe_parts(arg: ast.expr) -> list[str]:
    """The pieces of a message that are neither text in the code nor passed through a safe
    call: a name, an attribute, a subscript or any other call."""
    if isinstance(arg, ast.Constant):
        return []
    if isinstance(arg, ast.JoinedStr):
        return [p for v in arg.values for p in _unsafe_parts(v)]
    if isinstance(arg, ast.FormattedValue):
        return [] if arg.format_spec is not None else _unsafe_parts(arg.value)
    if isinstance(arg, ast.BinOp):
        return _unsafe_parts(arg.left) + _unsafe_parts(arg.right)
    if isinstance(arg, ast.List | ast.Tuple):
        return [p for e in arg.elts for p in _unsafe_parts(e)]
    if isinstance(arg, ast.ListComp):
        return _unsafe_parts(arg.elt)
    if isinstance(arg, ast.IfExp):
        return _unsafe_parts(arg.body) + _unsafe_parts(arg.orelse)
    if isinstance(arg, ast.Call):
        f = arg.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        return [] if name in SAFE_CALLS else [ast.unparse(arg)]
    return [ast.unparse(arg)]


# Reviewed: each is code or rule-profile text, or a count (checked by eye; keep this short).
REVIEWED = {
    "f.period_label",
    "year",
    "quarter",
    "label",
    "acc_label",
    "cmp_label",
    "title",
    "caption",
    "msg",
    "nxt",
    "step_a",
    "cap_a",
    "lo_c",
    "hi_c",
    "limit",
    "period",
    "day",
    "shown + 1",
    "rec.population_size",
    "v['available']",
    "v['k']",
    "params['n']",
    "ACTIVE.label",
    "actions[action]",
    "actions[code]",
    "as_of_caption()",
    "profile().name",
    "p.rank",
    "rate",
    "step_c",
    "f.year",
    "shown",
    "user().role",
    "_locked_message(until)",
    "throttle.settings().free_failures",
    "q.label",
    "prev.label",
    "step.quarter.label",
    "step.step",
    "dw.KIND_LABEL[r.kind]",
    "name",
    "'、'.join((str(y) for y in years))",
    "days",
    "_stamp(eval_time(meta).cutoff)",
    "action_zh",
    "status_zh",
}
# Rule settings (the profile, a draw's own parameters from the same profile) and counts.
REVIEWED_PREFIXES = ("profile()[", "RULES[", "params['min_", "params['cases_")


def test_no_page_puts_an_unescaped_value_into_markdown():
    found = []
    for path in sorted((ROOT / "dashboard").rglob("*.py")):
        if path.name == "data.py":  # 数据 page: its messages are checked in its own tests
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name not in MARKDOWN_CALLS or not node.args:
                continue
            for part in _unsafe_parts(node.args[0]):
                if part not in REVIEWED and not part.startswith(REVIEWED_PREFIXES):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {part}")
    assert not found, "wrap these in literal():\n" + "\n".join(found)
