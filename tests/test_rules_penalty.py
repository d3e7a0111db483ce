"""ZZ-HOSPITAL5: the exact 5% comparison, the "one more" warning, who is in the year's pool."""

from __future__ import annotations

from decimal import Decimal

from test_rules_support import ZZ, by, expert, hospital, load, task, ts

from pipelines.rules import hospital_penalties

AS_OF = ts("2027-01-01 00:00:00")


def staff(hospital_id: str, n: int, disqualified: int = 0) -> list[dict]:
    """n experts of a hospital, the first `disqualified` of them struck off the register in 2026."""
    return [
        expert(
            f"{hospital_id}-{i:02d}",
            hospital_id=hospital_id,
            disqualified_on="2026-05-01" if i < disqualified else None,
        )
        for i in range(n)
    ]


def penalties(con) -> dict:
    table = hospital_penalties(con, AS_OF, ZZ, year=2026)
    cols = ("experts_total", "experts_disqualified", "ratio", "penalized", "one_more_penalized")
    return {h: tuple(r[c] for c in cols) for h, r in by(table, "hospital_id").items()}


def test_exactly_5_percent_is_penalised_and_just_under_is_not(con):
    load(
        con,
        hospitals=[hospital(h) for h in ("HA", "HB", "HC", "HD", "HE")],
        experts=staff("HA", 20, 1)
        + staff("HB", 21, 1)
        + staff("HC", 21)
        + staff("HD", 20)
        + staff("HE", 32, 1),
    )
    assert penalties(con) == {
        "HA": (20, 1, Decimal("0.0500"), True, False),
        "HB": (21, 1, Decimal("0.0476"), False, True),  # 2/21 would be over 5%
        "HC": (21, 0, Decimal("0.0000"), False, False),  # 1/21 would still be under
        "HD": (20, 0, Decimal("0.0000"), False, True),  # 1/20 would be exactly 5%
        "HE": (32, 1, Decimal("0.0313"), False, True),  # 1/32 = 0.03125 rounds half up
    }


def test_pool_of_the_year_excludes_later_registrations_and_earlier_disqualifications(con):
    load(
        con,
        hospitals=[hospital("H1"), hospital("H2")],
        experts=[
            expert("E-in", hospital_id="H1"),
            expert("E-late", hospital_id="H1", registered_on="2027-01-01"),
            expert("E-gone", hospital_id="H1", disqualified_on="2025-12-31"),
            expert("E-jan1", hospital_id="H1", disqualified_on="2026-01-01"),
            expert("E-dec31", hospital_id="H1", registered_on="2026-12-31"),
            expert("E-next", hospital_id="H2", registered_on="2027-01-01"),
        ],
    )
    assert penalties(con) == {"H1": (3, 1, Decimal("0.3333"), True, False)}


def test_strike_disqualifications_count_in_the_year_of_the_third_strike(con):
    load(
        con,
        hospitals=[hospital("H1")],
        experts=[expert("E1"), expert("E2")],
        tasks=[
            task("T1", pushed_at="2026-03-02 09:00:00"),
            task("T2", pushed_at="2026-03-03 09:00:00"),
            task("T3", pushed_at="2026-03-04 09:00:00"),
        ],
    )
    assert penalties(con) == {"H1": (2, 1, Decimal("0.5000"), True, False)}
    # before the third strike's deadline has passed nobody is disqualified yet
    early = hospital_penalties(con, ts("2026-03-04 17:00:00"), ZZ, year=2026)
    assert early.column("experts_disqualified").to_pylist() == [0]


def test_without_a_year_every_year_from_the_first_registration_to_as_of(con):
    load(con, experts=[expert("E1", registered_on="2024-06-01", disqualified_on="2025-02-01")])
    table = hospital_penalties(con, AS_OF, ZZ)
    assert [
        (r["year"], r["experts_total"], r["experts_disqualified"]) for r in table.to_pylist()
    ] == [
        (2024, 1, 0),
        (2025, 1, 1),
    ]
