-- audit_ty_cycle: TY-CYCLE (Taiyuan profile only) — benefits start no later than the
-- ty_cycle_workdays-th working day after the submission date. One row per approved case whose
-- benefit start is later.
-- refs: fct_benefits
with

benefits as (
    select * from fct_benefits
    where $ty_enabled
        and is_approved
        and benefit_start > cycle_deadline_day
),

final as (
    select
        'TY-CYCLE' as rule_id,
        case_id,
        cast(null as varchar) as task_id,
        cast(null as varchar) as expert_id,
        hospital_id,
        '于' || strftime(submitted_on, '%Y-%m-%d') || '申报，待遇应在' || $ty_cycle_workdays
        || '个工作日内（' || strftime(cycle_deadline_day, '%Y-%m-%d') || '前）开始，登记为'
        || strftime(benefit_start, '%Y-%m-%d') || '。' as detail
    from benefits
)

select * from final
order by case_id
