-- audit_zz_verdict: ZZ-VERDICT — a recorded outcome agrees with the verdicts: 符合 only when
-- experts_per_case distinct experts all said 符合, otherwise (any 不符合, or too few 符合 to
-- approve) 不符合. One row per disagreeing case that has at least one verdict.
-- refs: fct_cases
-- by: case_id
-- reads: fct_cases(case_id, hospital_id, outcome, verdict_outcome, pass_verdicts,
--     fail_verdicts)
with

cases as (
    select * from fct_cases
    where outcome is not null
        and verdict_outcome is not null
        and outcome <> verdict_outcome
),

final as (
    select
        'ZZ-VERDICT' as rule_id,
        case_id,
        cast(null as varchar) as task_id,
        cast(null as varchar) as expert_id,
        hospital_id,
        '记录的鉴定结果为' || outcome || '，但专家意见为符合' || pass_verdicts || '份、不符合'
        || fail_verdicts || '份，结果应为' || verdict_outcome || '。' as detail
    from cases
)

select * from final
order by case_id
