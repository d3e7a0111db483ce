-- audit_zz_assign: ZZ-ASSIGN — a case is pushed to experts of its disease's specialty, never twice
-- to the same expert, and decided on the verdicts of exactly experts_per_case distinct experts.
-- Rows: a decided case without that panel; each repeated push of a case to one expert; each push
-- to an expert whose specialty (one of the catalogue's words) is not the disease's.
-- refs: fct_cases, fct_tasks
-- by: case_id
-- reads: fct_cases(case_id, hospital_id, outcome, verdicts, verdict_experts, disease_name),
--     fct_tasks(task_id, case_id, expert_id, pushed_at, expert_specialty, disease_specialty),
--     stg_cases(case_id, category)
with

cases as (
    -- Taiyuan's 定额 cases are certified by hospital panels, never pushed (TY-PANEL instead)
    select * from fct_cases
    where case_id not in (select case_id from stg_cases where category = '定额')
),

tasks as (
    select * from fct_tasks
),

catalogue_specialties as (
    select distinct specialty from ref_diseases
),

panel as (
    select
        case_id,
        cast(null as varchar) as task_id,
        cast(null as varchar) as expert_id,
        hospital_id,
        '申报已办结（结果：' || outcome || '），但完成的专家鉴定意见为' || verdicts || '份、来自'
        || verdict_experts || '位专家，应为' || $experts_per_case || '位不同专家各一份。'
            as detail
    from cases
    where outcome is not null
        and not (verdicts = $experts_per_case and verdict_experts = $experts_per_case)
),

repeated_pairs as (
    -- only a case and expert with more than one push can repeat one: number those alone
    select case_id, expert_id
    from tasks
    group by case_id, expert_id
    having count(*) > 1
),

pushes as (
    select
        t.task_id,
        t.case_id,
        t.expert_id,
        t.pushed_at,
        row_number() over (
            partition by t.case_id, t.expert_id order by t.pushed_at, t.task_id
        ) as push_no,
        first_value(t.task_id) over (
            partition by t.case_id, t.expert_id order by t.pushed_at, t.task_id
        ) as first_task_id
    from tasks as t
    inner join repeated_pairs as r using (case_id, expert_id)
),

repeated as (
    select
        p.case_id,
        p.task_id,
        p.expert_id,
        c.hospital_id,
        '同一申报第' || p.push_no || '次推送给同一专家' || p.expert_id || '（首次任务'
        || p.first_task_id || '）。' as detail
    from pushes as p
    inner join cases as c using (case_id)
    where p.push_no > 1
),

mismatched as (
    select
        t.case_id,
        t.task_id,
        t.expert_id,
        c.hospital_id,
        '病种' || c.disease_name || '属' || t.disease_specialty || '，却推送给'
        || t.expert_specialty || '专家' || t.expert_id || '。' as detail
    from tasks as t
    inner join cases as c using (case_id)
    where t.expert_specialty in (select specialty from catalogue_specialties)
        and t.expert_specialty <> t.disease_specialty
),

final as (
    select 'ZZ-ASSIGN' as rule_id, * from panel
    union all
    select 'ZZ-ASSIGN' as rule_id, * from repeated
    union all
    select 'ZZ-ASSIGN' as rule_id, * from mismatched
)

select * from final
order by case_id, task_id, expert_id
