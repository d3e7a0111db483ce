-- fct_cases: every case submitted by $as_of, its decision as known at $as_of, its disease's
-- specialty and settlement, and the completed verdicts of its tasks (ZZ-ASSIGN, ZZ-VERDICT).
-- refs: fct_tasks
-- delta: stg_cases(case_id)
-- reads: fct_tasks(case_id, expert_id, completed_at, verdict)
-- present: submitted_at <= $as_of
-- settled: decided_at <= $as_of
with

cases as (
    select * from stg_cases
    where submitted_at <= $as_of
),

diseases as (
    select disease_name, specialty, settlement from ref_diseases
),

verdicts as (
    select
        case_id,
        count(*) as verdicts,
        count(distinct expert_id) as verdict_experts,
        count(*) filter (where verdict = '符合') as pass_verdicts,
        count(distinct expert_id) filter (where verdict = '符合') as pass_experts,
        count(*) filter (where verdict = '不符合') as fail_verdicts,
        count(distinct expert_id) filter (where verdict = '不符合') as fail_experts
    from fct_tasks
    where completed_at is not null and verdict is not null
    group by case_id
),

decisions as (
    select
        *,
        -- a decision recorded after $as_of has not happened yet
        coalesce(decided_at <= $as_of, true) as is_decision_known
    from cases
),

final as (
    select
        c.case_id,
        c.person_id,
        c.disease_name,
        d.specialty,
        d.settlement,
        c.hospital_id,
        c.submitted_at,
        c.record_id,
        c.record_format,
        c.record_size_mb,
        c.discharge_date,
        case when c.is_decision_known then c.outcome end as outcome,
        case when c.is_decision_known then c.decided_at end as decided_at,
        case when c.is_decision_known then c.benefit_start end as benefit_start,
        coalesce(v.verdicts, 0) as verdicts,
        coalesce(v.verdict_experts, 0) as verdict_experts,
        coalesce(v.pass_verdicts, 0) as pass_verdicts,
        coalesce(v.fail_verdicts, 0) as fail_verdicts,
        coalesce(v.fail_experts, 0) as fail_experts,
        -- ZZ-VERDICT: approved only on experts_per_case verdicts of distinct experts, all 符合;
        -- with no verdict there is nothing to follow (ZZ-ASSIGN reports the case)
        case
            when v.verdicts is null then null
            when v.verdicts = $experts_per_case
                and v.pass_experts = $experts_per_case
                and v.fail_verdicts = 0
                then '符合'
            else '不符合'
        end as verdict_outcome
    from decisions as c
    left join diseases as d using (disease_name)
    left join verdicts as v using (case_id)
)

select * from final
order by case_id
