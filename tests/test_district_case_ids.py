"""A district user's experts also review other districts' cases: on 专家时效, 医院考核 and 规则核查
(grids and downloads) those cases' ids are shown as 「其他区县病例」 (issue 15, item 4); city
users see every id.

The generated city has such tasks, strikes and breaches; one hospital whose disqualified expert
struck on other districts' cases is moved into the district so that 医院考核's evidence has some.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_pages_monitoring import AS_OF, DISTRICT, all_time, build_db, frame, sql

from pipelines.config import load_profile
from pipelines.rules import refresh_marts

from apptest_util import open_page, record_downloads

OTHER_DISTRICT_CASE = "其他区县病例"

# cases whose submitting hospital is outside the district
FOREIGN = """
    select sc.case_id from stg_cases as sc
    inner join stg_hospitals as ch on ch.hospital_id = sc.hospital_id
    where ch.district <> ?
"""
# rows of `t` (with hospital_id, case_id) in the district that name a foreign case
IN_DISTRICT_FOREIGN = """
    select x.* from {t} as x
    inner join stg_hospitals as h on h.hospital_id = x.hospital_id
    where h.district = ? and x.case_id in ({foreign})
"""


def _rows(db: Path, table: str) -> pd.DataFrame:
    return sql(db, IN_DISTRICT_FOREIGN.format(t=table, foreign=FOREIGN), [DISTRICT, DISTRICT])


def _struck_elsewhere(db: Path) -> str:
    """The first hospital with an expert disqualified in the evaluation year after striking on
    another district's case."""
    return sql(
        db,
        f"""
        select e.hospital_id from fct_disqualifications as q
        inner join stg_experts as e using (expert_id)
        inner join fct_strikes as s
            on s.expert_id = q.expert_id and s.strike_year = year(q.disqualified_at)
        where year(q.disqualified_at) = ? and s.case_id in ({FOREIGN})
        order by e.hospital_id limit 1
        """,
        [AS_OF.year, DISTRICT],
    ).iloc[0, 0]


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = build_db(tmp_path_factory.mktemp("case-ids"))
    hospital = _struck_elsewhere(path)
    c = duckdb.connect(str(path))
    c.execute("update stg_hospitals set district = ? where hospital_id = ?", [DISTRICT, hospital])
    refresh_marts(c, AS_OF, load_profile("zhengzhou"))  # the pages read the dimensions
    c.close()
    assert _struck_elsewhere(path) == hospital  # its expert struck on other districts' cases
    return path


@pytest.fixture
def downloads(monkeypatch) -> dict[str, pd.DataFrame]:
    """What every download button's file of the page holds, by what it is called (a list
    shown by its head downloads every row)."""
    return record_downloads(monkeypatch)


def _case_columns(at, downloads) -> list[pd.Series]:
    frames = [df.value for df in at.dataframe] + list(downloads.values())
    return [df["申报编号"] for df in frames if "申报编号" in df.columns]


def _shown(at, downloads) -> set:
    return {v for col in _case_columns(at, downloads) for v in col.dropna()}


def _foreign(db: Path) -> set[str]:
    return set(sql(db, FOREIGN, [DISTRICT]).case_id)


def _experts_page(db, role):
    at = all_time(open_page(db, "experts", role))
    expert = _rows(db, "fct_tasks").expert_id.min()
    at.text_input(key="exp-timeline-id").set_value(expert).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _hospitals_page(db, role):
    at = open_page(db, "hospitals", role)
    at.selectbox(key="hosp-evidence").set_value(_struck_elsewhere(db)).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _violations_page(db, role):
    at = all_time(open_page(db, "violations", role))
    at.selectbox(key="vio-rule").set_value(_rows(db, "mart_violations").rule_id.min()).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


PAGES = {"experts": _experts_page, "hospitals": _hospitals_page, "violations": _violations_page}


@pytest.mark.parametrize("page", PAGES)
def test_a_district_user_sees_no_other_districts_case_id(db, downloads, page):
    at = PAGES[page](db, "区县监管")
    shown = _shown(at, downloads)
    assert OTHER_DISTRICT_CASE in shown, "the page must show a task on another district's case"
    assert not shown & _foreign(db), sorted(shown & _foreign(db))[:5]


@pytest.mark.parametrize("page", PAGES)
def test_a_city_user_still_sees_every_case_id(db, downloads, page):
    at = PAGES[page](db, "市级监管")
    shown = _shown(at, downloads)
    assert OTHER_DISTRICT_CASE not in shown
    assert shown & _foreign(db)


def test_the_rule_rows_mark_exactly_the_other_districts_cases(db, downloads):
    at = _violations_page(db, "区县监管")
    rule = at.selectbox(key="vio-rule").value
    expected = sql(
        db,
        f"""
        select case when ch.district = ? then v.case_id else '{OTHER_DISTRICT_CASE}' end as id
        from mart_violations as v
        inner join stg_hospitals as h on h.hospital_id = v.hospital_id
        inner join stg_cases as sc on sc.case_id = v.case_id
        inner join stg_hospitals as ch on ch.hospital_id = sc.hospital_id
        where h.district = ? and v.rule_id = ?
        """,
        [DISTRICT, DISTRICT, rule],
    ).id
    assert OTHER_DISTRICT_CASE in set(expected)
    for rows in (downloads[f"规则核查_{rule}"], frame(at, "规则编号", "问题说明")):
        assert sorted(rows["申报编号"]) == sorted(expected)


def test_a_violation_detail_naming_another_districts_case_is_masked(tmp_path):
    """ZZ-REAPPLY's detail names the earlier failed case: a 金水区 user reading the violation of a
    金水区 case sees the earlier 中原区 case as 「其他区县病例」, a city user sees its id."""
    from test_rules_support import ZZ, case, expert, hospital, load, ts
    from test_rules_violations import panel

    from pipelines.db import connect
    from pipelines.rules import refresh_marts

    path = tmp_path / "w.duckdb"
    c = connect(path)
    load(
        c,
        hospitals=[hospital("HA", district="中原区"), hospital("HB", district=DISTRICT)],
        experts=[expert("E1", hospital_id="HA"), expert("E2", hospital_id="HA")],
        cases=[
            case(
                "ZY-OLD",
                hospital_id="HA",
                record_id="R1",
                outcome="不符合",
                submitted_at="2026-03-02 08:00:00",
                decided_at="2026-03-02 16:00:00",
            ),
            case(
                "JS-NEW",
                hospital_id="HB",
                record_id="R1",
                outcome="不符合",
                submitted_at="2026-03-03 08:00:00",
                decided_at="2026-03-03 16:00:00",
            ),
        ],  # fmt: skip
        tasks=panel("ZY-OLD", "不符合", "不符合")
        + panel("JS-NEW", "不符合", "不符合", "2026-03-03"),
    )
    refresh_marts(c, ts("2026-12-31 00:00:00"), ZZ)
    c.close()
    for role, shown in (("区县监管", OTHER_DISTRICT_CASE), ("市级监管", "ZY-OLD")):
        at = all_time(open_page(path, "violations", role))
        at.selectbox(key="vio-rule").set_value("ZZ-REAPPLY").run()
        assert not at.exception, [e.message for e in at.exception]
        detail = next(df.value for df in at.dataframe if "问题说明" in df.value.columns)
        texts = detail["问题说明"].tolist()
        assert len(texts) == 1 and shown in texts[0], texts
        assert ("ZY-OLD" in texts[0]) == (role == "市级监管")
