-- audit_zz_complete: ZZ-COMPLETE — an accepted review is completed by 24:00 of the
-- complete_workdays-th working day after the acceptance date. One row per complete_timeout
-- strike as of $as_of (late completion, or none by then).
-- refs: fct_strikes
-- by: task_id
-- reads: fct_strikes(task_id, kind, case_id, expert_id, hospital_id, responded_at, deadline,
--     completed_at, late_by)
with

strikes as (
    select * from fct_strikes
    where kind = 'complete_timeout'
),

final as (
    select
        'ZZ-COMPLETE' as rule_id,
        case_id,
        task_id,
        expert_id,
        hospital_id,
        '专家' || expert_id || '于' || strftime(responded_at, '%Y-%m-%d %H:%M:%S')
        || '受理后未在' || $complete_workdays || '个工作日内完成鉴定：时限'
        || strftime(deadline, '%Y-%m-%d %H:%M:%S') || '，'
        || case
            when completed_at is null then '截至核查时间仍未完成'
            else '于' || strftime(completed_at, '%Y-%m-%d %H:%M:%S') || '完成，超时' || late_by
        end
        || '。' as detail
    from strikes
)

select * from final
order by case_id, task_id
