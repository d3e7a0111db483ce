-- audit_ty_cycle: TY-CYCLE (Taiyuan profile only) — a 定额 case certified 符合 is entered and its
-- handbook issued (entered_at: the patient holds the benefit) at or before 24:00 of the
-- ty_cycle_workdays-th working day after the submission date. One row per case entered later,
-- or not entered and past that deadline at the evaluation time, with the working days over.
-- refs: fct_ty_cases
with

late as (
    select * from fct_ty_cases
    where coalesce(entered_at, $as_of) > cycle_deadline
),

final as (
    select
        'TY-CYCLE' as rule_id,
        case_id,
        cast(null as varchar) as task_id,
        cast(null as varchar) as expert_id,
        hospital_id,
        '于' || strftime(submitted_on, '%Y-%m-%d') || '申报，认定周期应不超过'
        || $ty_cycle_workdays || '个工作日（' || strftime(cycle_deadline, '%Y-%m-%d %H:%M:%S')
        || '前完成录入并发放诊疗手册），'
        || case
            when entered_at is null then '截至核查时间仍未录入'
            else '实际于' || strftime(entered_at, '%Y-%m-%d %H:%M:%S') || '录入'
        end
        || '，超期' || cycle_over || '个工作日。' as detail
    from late
)

select * from final
order by case_id
