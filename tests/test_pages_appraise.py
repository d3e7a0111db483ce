"""AppTest: the 抽查 page sizes a draw for a precision and, once findings are in, shows the
estimates (RULES "What a spot check tells") exactly as pipelines.draws.appraise computes them."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from pipelines.config import load_profile
from pipelines.db import connect
from pipelines.draws import import_findings, spot_check
from pipelines.draws.appraise import appraise
from pipelines.draws.plan import Precision
from pipelines.ingest import ingest
from pipelines.rules import refresh_marts
from sample_generator.core import DEFAULT_END, generate

from apptest_util import open_page

SEED = "48213907561239847702"
Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
ZZ = load_profile("zhengzhou")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_appraise_db(tmp_path_factory.mktemp("appraise_pages"))


def build_appraise_db(d: Path) -> Path:
    """A generated city (2,000 cases) with its marts, for the 抽查 page's estimates."""
    generate(cases=2000, seed=20261122, out=d / "in")
    c = connect(d / "built.duckdb")
    ingest(c, [d / "in"], log=lambda _m: None)
    refresh_marts(c, dt.datetime.combine(DEFAULT_END, dt.time(23, 59, 59)), ZZ)
    c.close()
    return d / "built.duckdb"


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    shutil.copy(built, tmp_path / "w.duckdb")
    return tmp_path / "w.duckdb"


def with_findings(db: Path, tmp_path: Path) -> str:
    """A Q3 spot check with findings for the first three picks of every hospital but the first
    (left unchecked)."""
    c = connect(db)
    res = spot_check(c, *Q3, "10%", SEED, ZZ)
    lines = ["申报编号,抽查结论,追回金额,备注"]
    seen: dict[str, int] = {}
    unchecked = min(p.hospital_id for p in res.picks)
    for p in sorted(res.picks, key=lambda p: (p.hospital_id, p.rank)):
        if p.hospital_id == unchecked:
            continue
        seen[p.hospital_id] = seen.get(p.hospital_id, 0) + 1
        if seen[p.hospital_id] <= 3:
            bad = (seen[p.hospital_id] + len(seen)) % 3 == 0
            lines.append(f"{p.id},{'不合格' if bad else '合格'},{'800' if bad else ''},")
    path = tmp_path / "结果.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    import_findings(c, res.draw_id, path)
    c.close()
    return res.draw_id


def test_estimates_on_the_page_are_the_appraisal(db, tmp_path):
    draw_id = with_findings(db, tmp_path)
    c = connect(db, read_only=True)
    want, wide = appraise(c, draw_id), appraise(c, draw_id, "0.95").total
    c.close()
    at = open_page(db, "spot_check")
    at.radio(key="sc-mode").set_value("查看已有抽查").run()
    assert not at.exception, at.exception
    table = next(df.value for df in at.dataframe if "估算不合格件数" in df.value.columns)
    assert list(table["医院编码"]) == [e.hospital_id for e in want.rows]
    assert list(table["估算不合格件数"]) == [
        "未核查" if e.projected_improper is None else f"{e.projected_improper:,.1f}"
        for e in want.rows
    ]
    unchecked = [i for i, e in enumerate(want.rows) if e.checked_n == 0]
    assert unchecked, "the fixture should have a hospital with nothing checked"
    assert (
        set(table.loc[unchecked, "不合格率"]) == set(table.loc[unchecked, "件数上限"]) == {"未核查"}
    )
    assert not table.isna().any().any()
    checked = next(i for i, e in enumerate(want.rows) if e.checked_n > 0)
    assert table.loc[checked, "不合格率"] == f"{want.rows[checked].rate:.1%}"
    said = [i.value.replace("\\", "") for i in at.info]  # Markdown escapes removed
    assert any("以 90% 的把握" in s and f"{want.total.frame_n:,} 件中" in s for s in said), said
    at.selectbox(key="sc-est-conf").set_value("95%").run()
    table = next(df.value for df in at.dataframe if "估算不合格件数" in df.value.columns)
    assert table["件数上限"].iloc[-1] == f"{wide.projected_high:,.1f}"
    assert wide.projected_high > want.total.projected_high


def test_a_draw_sized_for_a_precision_from_the_page(db):
    at = open_page(db, "spot_check")
    at.selectbox(key="sc-quarter").set_value("2026Q3").run()
    at.radio(key="sc-size").set_value("按精度确定样本量").run()
    at.number_input(key="sc-p0").set_value(20.0).run()
    at.number_input(key="sc-d").set_value(10.0).run()
    at.text_input(key="sc-supervisor").set_value("王纪检")
    at.button(key="sc-freeze").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.text_input(key="sc-seed").set_value(SEED)
    at.button(key="sc-draw-go").click().run()
    assert not at.exception and not at.error
    coverage = next(df.value for df in at.dataframe if "达到比例" in df.value.columns)
    plan = Precision.parse("20%", "10%", "90%", ZZ)
    assert list(coverage["抽取件数"]) == [plan.n(n) for n in coverage["鉴定通过件数"]]
    assert set(coverage["达到比例"]) == {"是"}
    assert any("预期不合格率 20%" in c.value.replace("\\", "") for c in at.caption)


def test_targeted_picks_on_the_page_are_shown_apart(db, tmp_path):
    from pipelines.draws.targeted import targeted_picks

    draw_id = with_findings(db, tmp_path)
    c = connect(db)  # the demo data has no risk signal in Q3: make seven reviews 3 minutes long
    c.execute(
        "update stg_tasks set completed_at = responded_at + interval 3 minute where task_id in ("
        " select t.task_id from stg_tasks t join stg_cases c using (case_id)"
        " where c.outcome = '符合' and t.verdict = '符合'"
        " and cast(c.decided_at as date) between '2026-07-01' and '2026-09-30'"
        " order by t.task_id limit 7)"
    )
    c.close()
    twin = tmp_path / "twin.duckdb"
    shutil.copy(db, twin)
    c = connect(twin)
    want = targeted_picks(c, draw_id, 5).params()["scores"]
    before = appraise(c, draw_id).total
    c.close()
    at = open_page(db, "spot_check")
    at.radio(key="sc-mode").set_value("查看已有抽查").run()
    at.number_input(key="sc-tp-n").set_value(5).run()
    at.button(key="sc-tp-go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = next(df.value for df in at.dataframe if "风险分" in df.value.columns)
    assert list(zip(shown["申报编号"], shown["风险分"], shown["理由"], strict=True)) == [
        (s["case_id"], s["score"], s["reason"]) for s in want
    ]
    table = next(df.value for df in at.dataframe if "估算不合格件数" in df.value.columns)
    assert table["已核查"].iloc[-1] == before.checked_n  # the estimates are unchanged
