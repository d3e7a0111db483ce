-- audit_ty_recert: TY-RECERT (Taiyuan profile only) — a re-certification request is completed
-- at or before 24:00 of the ty_recert_workdays-th working day after the request date. One row
-- per request completed later, or still open and past that deadline at the evaluation time.
-- refs: fct_ty_recerts
with

late as (
    select * from fct_ty_recerts
    where coalesce(completed_at, $as_of) > deadline
),

final as (
    select
        'TY-RECERT' as rule_id,
        case_id,
        cast(null as varchar) as task_id,
        cast(null as varchar) as expert_id,
        hospital_id,
        '重新认定申请' || recert_id || '于' || strftime(requested_on, '%Y-%m-%d') || '提出，应在'
        || $ty_recert_workdays || '个工作日内（' || strftime(deadline, '%Y-%m-%d %H:%M:%S')
        || '前）完成，'
        || case
            when completed_at is null then '截至核查时间仍未完成'
            else '实际于' || strftime(completed_at, '%Y-%m-%d %H:%M:%S') || '完成'
        end
        || '，超期' || over || '个工作日。' as detail
    from late
)

select * from final
order by case_id, detail
