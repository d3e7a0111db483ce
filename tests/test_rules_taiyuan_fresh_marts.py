"""Taiyuan's staging tables (panel opinions, re-certifications) are part of what makes the marts
current: a change in either makes them stale, and the rule functions compute from the data."""

from __future__ import annotations

from conftest import put
from test_rules_support import TY, expert, hospital, load, ts
from test_rules_taiyuan import AS_OF, ding, recert, rows_of

from pipelines import rules
from pipelines.rules import engine


def world(con) -> None:
    """P1 certified and C1 refused by panels of H1's E1 and E2; C1 re-certified on time (R1)."""
    load(
        con,
        hospitals=[hospital("H1"), hospital("H2")],
        experts=[expert("E1"), expert("E2"), expert("E4", hospital_id="H2")],
        cases=[ding("P1"), ding("C1", outcome="不符合")],
    )
    signed = ts("2026-02-12 09:00:00")
    panel = [(c, e, "符合" if c == "P1" else "不符合") for c in ("P1", "C1") for e in ("E1", "E2")]
    put(con, "stg_panel_opinions", [
        {"case_id": c, "expert_id": e, "opinion": o, "signed_at": signed} for c, e, o in panel
    ])  # fmt: skip
    put(con, "stg_recerts", [recert("R1", "2026-10-22 18:00:00")])
    rules.refresh_marts(con, AS_OF, TY)
    assert "mart_violations" in engine.fresh_marts(con, TY, AS_OF)
    assert rows_of(con, "TY-PANEL") == rows_of(con, "TY-RECERT") == {}


def test_a_new_panel_opinion_makes_the_marts_stale(con):
    world(con)
    put(con, "stg_panel_opinions", [{"case_id": "P1", "expert_id": "E4", "opinion": "符合",
                                     "signed_at": ts("2026-02-12 09:10:00")}])  # fmt: skip
    assert engine.fresh_marts(con, TY, AS_OF) == set()
    assert rows_of(con, "TY-PANEL") == {"P1/E4": "专家组成员E4不是认定医院的专家（所在医院H2）。"}
    rules.refresh_marts(con, AS_OF, TY)
    assert "mart_violations" in engine.fresh_marts(con, TY, AS_OF)
    con.execute(
        "update stg_panel_opinions set opinion = '不符合' where case_id = 'P1' and expert_id = 'E1'"
    )
    assert engine.fresh_marts(con, TY, AS_OF) == set()


def test_a_changed_recertification_makes_the_marts_stale(con):
    world(con)
    # completed Fri 2026-10-23 09:00, 9 hours after the deadline 2026-10-23 00:00:00
    con.execute("update stg_recerts set completed_at = timestamp '2026-10-23 09:00:00'")
    assert engine.fresh_marts(con, TY, AS_OF) == set()
    assert rows_of(con, "TY-RECERT") == {
        "C1": "重新认定申请R1于2026-09-18提出，应在20个工作日内（2026-10-23 00:00:00前）完成，"
        "实际于2026-10-23 09:00:00完成，超期1个工作日。"
    }
    rules.refresh_marts(con, AS_OF, TY)
    assert "mart_violations" in engine.fresh_marts(con, TY, AS_OF)
    con.execute("delete from stg_recerts")
    assert engine.fresh_marts(con, TY, AS_OF) == set()
    assert rows_of(con, "TY-RECERT") == {}
