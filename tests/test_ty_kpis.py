"""Taiyuan's monthly numbers (mart_ty_monthly_kpis): rows in → rows out, hand-computed."""

from __future__ import annotations

import datetime as dt

from test_rules_support import TY, ZZ
from test_ty_marts import AS_OF, taiyuan_world

from pipelines.rules.marts import refresh_marts
from pipelines.sanctions import record_sanction

D = dt.date


def sanctioned_world(con) -> None:
    """taiyuan_world and three sanctions: H1's 认定资格 suspended 20 April – 10 May, its doctor
    E2's 处方权 from 20 May to 19 August, the insured P1's benefit stopped from 1 May."""
    taiyuan_world(con)
    record_sanction(
        con, "hospital", "H1", "暂停认定资格", D(2026, 4, 20), D(2026, 5, 10), "违规", "张三"
    )
    record_sanction(
        con, "doctor", "E2", "暂停医保处方权", D(2026, 5, 20), D(2026, 8, 19), "违规", "张三"
    )
    record_sanction(
        con, "person", "P1", "停止待遇并追回", D(2026, 5, 1), None, "骗保", "张三", amount="1200"
    )


def test_monthly_kpis_rows(con):
    sanctioned_world(con)
    refresh_marts(con, AS_OF, TY)
    rows = con.execute(
        "select month, hospital_id, specialty, metric, value from mart_ty_monthly_kpis "
        "order by month, hospital_id nulls first, specialty nulls first, metric"
    ).fetchall()
    m3 = [
        # C1 and C2 submitted 2 March, both 定额 and certified, both entered (due); C1 entered
        # 15 April, after the cycle's 30 March and entry's 17 March; both publicised 5 working
        # days; C1 has one panel member (TY-PANEL)
        ("cycle_due", 2), ("cycle_on_time", 1), ("entry_due", 2), ("entry_on_time", 1),
        ("panel_ok", 1), ("publicity_ok", 2), ("quota_certified", 2),
        # the breaches count in the month of their case's submission (R1 is C1's)
        ("violations:TY-CYCLE", 1), ("violations:TY-ENTRY", 1), ("violations:TY-PANEL", 1),
        ("violations:TY-RECERT", 1),
    ]  # fmt: skip
    expected = [("2026-03", "H1", "内分泌科", m, v) for m, v in m3]
    expected += [
        ("2026-04", "H1", None, "sanctions_in_force", 1),
        ("2026-04", "H1", None, "sanctions_new", 1),
    ]
    # R1 requested 1 April, still open past its deadline (30 April): due, not on time
    expected += [
        ("2026-04", "H1", "内分泌科", "recerts", 1),
        ("2026-04", "H1", "内分泌科", "recerts_due", 1),
    ]
    expected += [
        # the person's sanction has no hospital (city only)
        ("2026-05", None, None, "sanctions_in_force", 1), ("2026-05", None, None, "sanctions_new", 1),
        # H1's own ends 10 May; its doctor's starts 20 May
        ("2026-05", "H1", None, "sanctions_ending", 1), ("2026-05", "H1", None, "sanctions_in_force", 2),
        ("2026-05", "H1", None, "sanctions_new", 1),
        # the evaluation time is 1 June: both open sanctions are in force that month
        ("2026-06", None, None, "sanctions_in_force", 1), ("2026-06", "H1", None, "sanctions_in_force", 1),
    ]  # fmt: skip
    assert rows == expected


def test_no_taiyuan_kpis_under_zhengzhou(con):
    sanctioned_world(con)
    refresh_marts(con, AS_OF, ZZ)
    assert con.execute("select count(*) from mart_ty_monthly_kpis").fetchone()[0] == 0
