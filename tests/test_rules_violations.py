"""One audit per rule (audit_*.sql): each rule's violating rows, and the compliant rows it skips."""

from __future__ import annotations

from test_rules_support import DIABETES, TUMOUR, TY, ZZ, case, expert, hospital, load, task, ts

from pipelines.rules import violations

AS_OF = ts("2026-12-01 00:00:00")
KEYS = ("case_id", "task_id", "expert_id", "hospital_id")


def found(con, rule_id: str, profile=ZZ, as_of=AS_OF) -> list[tuple]:
    """(case_id, task_id, expert_id, hospital_id) of one rule's rows."""
    rows = violations(con, as_of, profile).to_pylist()
    return [tuple(r[k] for k in KEYS) for r in rows if r["rule_id"] == rule_id]


def panel(case_id: str, first: str, second: str, day: str = "2026-03-02") -> list[dict]:
    """Two on-time reviews of a case by E1 and E2 with the given verdicts."""
    done = {
        "responded_at": f"{day} 10:00:00",
        "response": "受理",
        "completed_at": f"{day} 15:00:00",
    }
    return [
        task(
            f"{case_id}-1",
            case_id=case_id,
            expert_id="E1",
            pushed_at=f"{day} 09:00:00",
            verdict=first,
            **done,
        ),
        task(
            f"{case_id}-2",
            case_id=case_id,
            expert_id="E2",
            pushed_at=f"{day} 09:00:00",
            verdict=second,
            **done,
        ),
    ]


TWO = [expert("E1"), expert("E2")]


def test_zz_accept_and_zz_complete_one_row_per_strike_of_their_kind(con):
    load(
        con,
        experts=[expert("E1", hospital_id="H2"), expert("E2")],
        hospitals=[hospital("H1"), hospital("H2")],
        tasks=[
            task("T1", responded_at="2026-03-02 17:00:01", response="受理"),
            task("T2", expert_id="E2", responded_at="2026-03-02 10:00:00", response="受理"),
            task(
                "T3",
                expert_id="E2",
                pushed_at="2026-03-03 09:00:00",
                responded_at="2026-03-03 10:00:00",
                response="受理",
                completed_at="2026-03-05 10:00:00",
                verdict="符合",
            ),
        ],
    )
    # hospital of an expert rule: the expert's
    assert found(con, "ZZ-ACCEPT") == [("C1", "T1", "E1", "H2")]
    assert found(con, "ZZ-COMPLETE") == [("C1", "T2", "E2", "H1")]
    (row,) = [r for r in violations(con, AS_OF, ZZ).to_pylist() if r["rule_id"] == "ZZ-ACCEPT"]
    assert row["detail"] == (
        "专家E1未在推送后8小时内响应：推送于2026-03-02 09:00:00，时限2026-03-02 17:00:00，"
        "于2026-03-02 17:00:01受理，超时00:00:01。"
    )


def test_zz_assign_decided_case_needs_two_verdicts_from_two_distinct_experts(con):
    load(
        con,
        experts=TWO,
        cases=[
            case("C1", outcome="符合", decided_at="2026-03-10 10:00:00"),
            case("C2", outcome="不符合", decided_at="2026-03-10 10:00:00"),
            case("C3", outcome="符合", decided_at="2026-03-10 10:00:00"),
            case("C4"),
        ],
        tasks=panel("C1", "符合", "符合")
        + panel("C2", "不符合", "符合")[:1]
        + [t | {"expert_id": "E1"} for t in panel("C3", "符合", "符合")]
        + panel("C4", "符合", None)[:1],
    )
    assert found(con, "ZZ-ASSIGN") == [
        ("C2", None, None, "H1"),
        ("C3", None, None, "H1"),  # two verdicts, one expert
        ("C3", "C3-2", "E1", "H1"),  # and the same expert pushed twice
    ]


def test_zz_assign_specialty_of_the_expert_must_be_the_diseases(con):
    load(
        con,
        experts=[
            expert("E1"),
            expert("E2", specialty="肿瘤科"),
            expert("E3", specialty="全科医学"),  # not a catalogue word: cannot be judged
        ],
        tasks=[
            task("T1", expert_id="E1"),
            task("T2", expert_id="E2"),
            task("T3", expert_id="E3"),
        ],
    )
    assert found(con, "ZZ-ASSIGN") == [("C1", "T2", "E2", "H1")]


def test_zz_verdict_recorded_outcome_must_follow_the_verdicts(con):
    decided = {"decided_at": "2026-03-10 10:00:00"}
    load(
        con,
        experts=TWO,
        cases=[
            case("C1", outcome="符合", **decided),  # one 不符合 → 不符合
            case("C2", outcome="不符合", **decided),  # both 符合 → 符合
            case("C3", outcome="符合", **decided),
            case("C4", outcome="不符合", **decided),
            case("C5", outcome="符合", **decided),  # one 符合 cannot approve
            case("C6", outcome="不符合", **decided),  # one 符合: not approved is right
            case("C7", outcome="符合", **decided),  # no verdict: ZZ-ASSIGN's, not ZZ-VERDICT's
        ],
        tasks=panel("C1", "符合", "不符合")
        + panel("C2", "符合", "符合")
        + panel("C3", "符合", "符合")
        + panel("C4", "不符合", "不符合")
        + panel("C5", "符合", None)[:1]
        + panel("C6", "符合", None)[:1],
    )
    assert [r[0] for r in found(con, "ZZ-VERDICT")] == ["C1", "C2", "C5"]


def test_zz_reapply_record_use_after_failures(con):
    def sub(case_id, day, record="R1", outcome="不符合", **kw):
        decided = {"outcome": outcome, "decided_at": f"2026-{day} 12:00:00"} if outcome else {}
        return case(case_id, record_id=record, submitted_at=f"2026-{day} 08:00:00", **decided, **kw)

    load(
        con,
        experts=TWO,
        cases=[
            # R1: both experts 不符合 → any later submission of R1 for the disease breaks the rule
            sub("A1", "03-02"),
            sub("A2", "03-09", outcome="符合"),
            # R2: split failure, one more allowed; a second failure spends the record
            sub("B1", "03-02", record="R2"),
            sub("B2", "03-09", record="R2"),
            sub("B3", "03-16", record="R2"),
            # R3: split failure then a different disease — a fresh start
            sub("C1", "03-02", record="R3"),
            sub("C2", "03-09", record="R3", disease_name=TUMOUR),
            # R4: the earlier submission is still pending
            sub("D1", "03-02", record="R4", outcome=None),
            sub("D2", "03-09", record="R4"),
        ],
        tasks=panel("A1", "不符合", "不符合")
        + panel("B1", "符合", "不符合")
        + panel("B2", "符合", "不符合")
        + panel("C1", "符合", "不符合"),
    )
    assert found(con, "ZZ-REAPPLY") == [("A2", None, None, "H1"), ("B3", None, None, "H1")]


def test_zz_reapply_a_breaking_submission_still_counts_as_a_failure(con):
    load(
        con,
        experts=TWO,
        cases=[
            case(
                f"S{i}",
                record_id="R1",
                submitted_at=f"2026-03-0{i + 1} 08:00:00",
                outcome="不符合",
                decided_at=f"2026-03-0{i + 1} 12:00:00",
            )
            for i in range(1, 5)
        ],
        tasks=[
            t for i in range(1, 5) for t in panel(f"S{i}", "符合", "不符合", f"2026-03-0{i + 1}")
        ],
    )
    assert [r[0] for r in found(con, "ZZ-REAPPLY")] == ["S3", "S4"]


def test_zz_upload_size_and_his_pdf(con):
    load(
        con,
        cases=[
            case("C1", record_size_mb=10.5),
            case(
                "C2", record_size_mb=10.0, record_format="HIS导出PDF", discharge_date="2022-01-01"
            ),
            case("C3", record_format="扫描件", discharge_date="2022-01-01"),
            case("C4", record_format="扫描件", discharge_date="2021-12-31"),
            case("C5", discharge_date="2023-05-01"),  # format unknown
            case("C6", record_size_mb=10.01, record_format="其他", discharge_date="2024-01-01"),
        ],
    )
    rows = [r for r in violations(con, AS_OF, ZZ).to_pylist() if r["rule_id"] == "ZZ-UPLOAD"]
    assert [r["case_id"] for r in rows] == ["C1", "C3", "C6"]  # one row per case
    assert rows[2]["detail"] == (
        "病历文件大小10.01MB，超过10MB上限；"
        "出院日期2024-01-01在2022-01-01及以后，病历须为HIS导出PDF，实际为其他。"
    )


def test_zz_expert_qual_title_and_hospital_of_experts_in_the_pool(con):
    load(
        con,
        hospitals=[
            hospital("H1"),
            hospital("H2", ownership="民营"),
            hospital("H3", hospital_class="一类"),
            hospital("H4", hospital_class="二类"),
            hospital("H5", hospital_class=None),
        ],
        experts=[
            expert("E1"),
            expert("E2", title="主治医师"),
            expert("E3", hospital_id="H2"),
            expert("E4", hospital_id="H3", title="副主任医师"),
            expert("E5", hospital_id="H4", title="副主任医师"),
            expert("E6", title="住院医师", disqualified_on="2026-01-01"),  # not in the pool
            expert("E7", title="住院医师", registered_on="2026-12-02"),  # not yet in the pool
            expert("E8", hospital_id="H5"),  # class unknown: the data cannot show a breach
        ],
    )
    assert found(con, "ZZ-EXPERT-QUAL") == [
        (None, None, "E2", "H1"),
        (None, None, "E3", "H2"),
        (None, None, "E4", "H3"),
    ]


def test_zz_benefit_start_dates(con):
    approved = {"outcome": "符合", "decided_at": "2026-03-15 10:00:00"}
    # 即时办结 submitted Mon 2026-03-02: working day 6 after it is Tue 2026-03-10
    instant = {"disease_name": TUMOUR, "submitted_at": "2026-03-02 08:00:00", **approved}
    load(
        con,
        cases=[
            case("B1", benefit_start="2026-04-01", **approved),
            case("B2", benefit_start="2026-04-02", **approved),
            case("B3", benefit_start="2026-03-15", **approved),
            case("I1", benefit_start="2026-03-10", **instant),
            case("I2", benefit_start="2026-03-11", **instant),
            case("I3", benefit_start="2026-03-02", **instant),
            case("I4", benefit_start="2026-03-01", **instant),
            case(
                "N1", benefit_start="2026-04-01", outcome="不符合", decided_at="2026-03-15 10:00:00"
            ),
            case("N2", benefit_start="2026-04-01"),  # pending
            case("N3", outcome="不符合", decided_at="2026-03-15 10:00:00"),
        ],
    )
    assert [r[0] for r in found(con, "ZZ-BENEFIT")] == ["B2", "B3", "I2", "I4", "N1", "N2"]


def test_zz_strike_after_task_pushed_after_disqualification(con):
    load(
        con,
        experts=[expert("E1", hospital_id="H2", disqualified_on="2026-03-03")],
        hospitals=[hospital("H1"), hospital("H2")],
        tasks=[
            task(
                "T1",
                pushed_at="2026-03-02 09:00:00",
                responded_at="2026-03-02 10:00:00",
                response="不受理",
            ),
            task(
                "T2",
                pushed_at="2026-03-03 00:00:00",
                responded_at="2026-03-03 10:00:00",
                response="不受理",
            ),
            task(
                "T3",
                pushed_at="2026-03-03 00:00:01",
                responded_at="2026-03-03 10:00:00",
                response="不受理",
            ),
        ],
    )
    assert found(con, "ZZ-STRIKE-AFTER") == [("C1", "T3", "E1", "H2")]


def test_zz_strike_after_counts_from_the_third_strike(con):
    load(
        con,
        tasks=[
            task("T1", pushed_at="2026-03-02 09:00:00"),
            task("T2", pushed_at="2026-03-03 09:00:00"),
            task("T3", pushed_at="2026-03-04 09:00:00"),
            task(
                "T4",
                pushed_at="2026-03-04 17:00:00",
                responded_at="2026-03-04 18:00:00",
                response="不受理",
            ),
            task(
                "T5",
                pushed_at="2026-03-04 17:00:01",
                responded_at="2026-03-04 18:00:00",
                response="不受理",
            ),
        ],
    )
    assert found(con, "ZZ-STRIKE-AFTER") == [("C1", "T5", "E1", "H1")]


def test_ty_cycle_only_under_the_taiyuan_profile(con):
    # submitted Mon 2026-03-02: working day 20 after it is Mon 2026-03-30; TY-CYCLE ends at the
    # entry and handbook (entered_at), RULES TY-CYCLE
    approved = {"outcome": "符合", "decided_at": "2026-03-02 10:00:00", "category": "定额"}
    load(
        con,
        cases=[
            case("C1", entered_at="2026-03-30 18:00:00", **approved),
            case("C2", entered_at="2026-03-31 09:00:00", **approved),
        ],
    )
    assert found(con, "TY-CYCLE", TY) == [("C2", None, None, "H1")]
    assert found(con, "TY-CYCLE", ZZ) == []


def test_rows_sorted_by_rule_then_ids_with_nulls_first(con):
    load(
        con,
        hospitals=[hospital("H1"), hospital("H2", ownership="民营")],
        experts=[expert("E1"), expert("E0", hospital_id="H2")],
        cases=[
            case("C2", record_size_mb=11.0, disease_name=DIABETES),
            case("C1", record_size_mb=12.0, record_format="扫描件", discharge_date="2023-01-01"),
        ],
        tasks=[task("T9", case_id="C1", pushed_at="2026-03-02 09:00:00")],
    )
    rows = violations(con, AS_OF, ZZ).to_pylist()
    assert [(r["rule_id"], r["case_id"], r["task_id"]) for r in rows] == [
        ("ZZ-ACCEPT", "C1", "T9"),
        ("ZZ-EXPERT-QUAL", None, None),
        ("ZZ-UPLOAD", "C1", None),
        ("ZZ-UPLOAD", "C2", None),
    ]
