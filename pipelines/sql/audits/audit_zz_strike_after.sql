-- audit_zz_strike_after: ZZ-STRIKE-AFTER — no task is pushed to an expert after the expert's
-- disqualification (by the third strike of a year or by the register). One row per such task.
-- refs: fct_tasks, fct_disqualifications
-- by: task_id, fct_disqualifications.expert_id
-- reads: fct_tasks(task_id, case_id, expert_id, hospital_id, pushed_at),
--     fct_disqualifications(expert_id, disqualified_at, source, task_id)
with

tasks as (
    select * from fct_tasks
),

disqualifications as (
    select * from fct_disqualifications
),

final as (
    select
        'ZZ-STRIKE-AFTER' as rule_id,
        t.case_id,
        t.task_id,
        t.expert_id,
        t.hospital_id,
        '专家' || t.expert_id || '已于' || strftime(d.disqualified_at, '%Y-%m-%d %H:%M:%S')
        || '被取消鉴定专家资格（'
        || case d.source
            when 'strike' then '任务' || d.task_id || '超时，年度第' || $disqualify_at || '次违规'
            else '专家库登记'
        end
        || '），此后仍于' || strftime(t.pushed_at, '%Y-%m-%d %H:%M:%S') || '被推送鉴定任务。'
            as detail
    from tasks as t
    inner join disqualifications as d
        on t.expert_id = d.expert_id
        and t.pushed_at > d.disqualified_at
)

select * from final
order by case_id, task_id
