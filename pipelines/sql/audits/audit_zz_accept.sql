-- audit_zz_accept: ZZ-ACCEPT — an expert accepts or declines within accept_hours of the push.
-- One row per accept_timeout strike as of $as_of (late response, or none by then).
-- refs: fct_strikes
-- by: task_id
-- reads: fct_strikes(task_id, kind, case_id, expert_id, hospital_id, pushed_at, deadline,
--     responded_at, response, late_by)
with

strikes as (
    select * from fct_strikes
    where kind = 'accept_timeout'
),

final as (
    select
        'ZZ-ACCEPT' as rule_id,
        case_id,
        task_id,
        expert_id,
        hospital_id,
        '专家' || expert_id || '未在推送后' || $accept_hours || '小时内响应：推送于'
        || strftime(pushed_at, '%Y-%m-%d %H:%M:%S')
        || '，时限' || strftime(deadline, '%Y-%m-%d %H:%M:%S') || '，'
        || case
            when responded_at is null then '截至核查时间仍未响应'
            else '于' || strftime(responded_at, '%Y-%m-%d %H:%M:%S')
                || coalesce(response, '响应') || '，超时' || late_by
        end
        || '。' as detail
    from strikes
)

select * from final
order by case_id, task_id
