-- audit_ty_entry: TY-ENTRY (Taiyuan profile only) — the hospital enters a publicised 定额 case
-- (entered_at) at or before 24:00 of the ty_entry_workdays-th working day after publicity_to.
-- One row per case entered later, or not entered and past that deadline at the evaluation
-- time, with the working days over.
-- refs: fct_ty_cases
with

late as (
    select * from fct_ty_cases
    where coalesce(entered_at, $as_of) > entry_deadline
),

final as (
    select
        'TY-ENTRY' as rule_id,
        case_id,
        cast(null as varchar) as task_id,
        cast(null as varchar) as expert_id,
        hospital_id,
        '公示期满于' || strftime(publicity_to, '%Y-%m-%d') || '，应在' || $ty_entry_workdays
        || '个工作日内（' || strftime(entry_deadline, '%Y-%m-%d %H:%M:%S') || '前）完成信息录入，'
        || case
            when entered_at is null then '截至核查时间仍未录入'
            else '实际于' || strftime(entered_at, '%Y-%m-%d %H:%M:%S') || '录入'
        end
        || '，超期' || entry_over || '个工作日。' as detail
    from late
)

select * from final
order by case_id
