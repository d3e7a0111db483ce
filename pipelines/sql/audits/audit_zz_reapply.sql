-- audit_zz_reapply: ZZ-REAPPLY — a medical record that failed for a disease with every expert
-- 不符合 is not submitted again for that disease, nor after reapply_max_failures failures. One row
-- per breaking submission (per person, record and disease, in order of submitted_at then case_id);
-- a breaking submission that fails still counts as a failure.
-- refs: fct_cases
-- by: person_id of case_id
-- reads: fct_cases(case_id, person_id, record_id, disease_name, submitted_at, outcome,
--     fail_experts, hospital_id)
with

records as (
    select * from fct_cases
    where record_id is not null
),

repeated_records as (
    -- a record submitted once for a disease has no earlier submission to break the rule with
    -- (unless the profile allowed no failure at all): window only the others
    select person_id, record_id, disease_name
    from records
    group by person_id, record_id, disease_name
    having count(*) > 1 or $reapply_max_failures <= 0
),

submissions as (
    select
        c.*,
        c.outcome is not distinct from '不符合' as is_failed,
        c.outcome is not distinct from '不符合'
        and c.fail_experts >= $experts_per_case as is_failed_by_all
    from records as c
    inner join repeated_records as r using (person_id, record_id, disease_name)
),

history as (
    select
        *,
        count(*) filter (where is_failed) over earlier as earlier_failures,
        list(case_id) filter (where is_failed) over earlier as earlier_failed_cases,
        list(case_id) filter (where is_failed_by_all) over earlier as earlier_failed_by_all
    from submissions
    window earlier as (
        partition by person_id, record_id, disease_name
        order by submitted_at, case_id
        rows between unbounded preceding and 1 preceding
    )
),

final as (
    select
        'ZZ-REAPPLY' as rule_id,
        case_id,
        cast(null as varchar) as task_id,
        cast(null as varchar) as expert_id,
        hospital_id,
        case
            when len(earlier_failed_by_all) > 0
                then '病历' || record_id || '已在申报'
                || array_to_string(list_sort(earlier_failed_by_all), '、')
                || '中被' || $experts_per_case || '位专家均鉴定为不符合，不得再次申报' || disease_name
                || '。'
            else '病历' || record_id || '已' || earlier_failures || '次申报' || disease_name
                || '未通过（' || array_to_string(list_sort(earlier_failed_cases), '、')
                || '），不得再次申报。'
        end as detail
    from history
    where len(earlier_failed_by_all) > 0
        or earlier_failures >= $reapply_max_failures
)

select * from final
order by case_id
