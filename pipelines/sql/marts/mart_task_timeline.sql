-- mart_task_timeline: each task pushed by $as_of as 专家时效 shows it — deadlines, response and
-- completion with their status (fct_tasks), the hours from push to response, the completion's
-- distance from its deadline, each deadline's margin at the response/completion (negative:
-- missed; none while open — 专家时效 measures it at the marts' evaluation time), and the strike it
-- carries (ZZ-STRIKE; voided ones left out). Nothing in a row reads $as_of: it changes only with
-- its task's or strike's row, so after a load only the tasks whose rows were redone are (settled).
-- refs: fct_tasks, fct_strikes
-- delta: fct_tasks(task_id)
-- present: true
-- settled: true
with

final as (
    select
        t.task_id,
        t.case_id,
        t.expert_id,
        strftime(t.pushed_at, '%Y-%m') as month,
        t.hospital_id,
        h.district,
        t.expert_specialty as specialty,
        t.pushed_at,
        t.accept_deadline,
        t.responded_at,
        t.response,
        t.accept_status,
        t.complete_deadline,
        t.completed_at,
        t.complete_status,
        date_diff('second', t.pushed_at, t.responded_at) / 3600.0 as response_hours,
        date_diff('second', t.complete_deadline, t.completed_at) / 3600.0 as completed_after_hours,
        date_diff('second', t.responded_at, t.accept_deadline) / 3600.0
            as accept_margin_hours,
        date_diff('second', t.completed_at, t.complete_deadline) / 3600.0
            as complete_margin_hours,
        coalesce(t.strike_kind = 'accept_timeout', false) as is_accept_strike,
        coalesce(t.strike_kind = 'complete_timeout', false) as is_complete_strike,
        s.strike_no,
        s.kind as strike_kind,
        s.action as strike_action
    from fct_tasks as t
    left join fct_strikes as s using (task_id)
    left join stg_hospitals as h on h.hospital_id = t.hospital_id
)

select * from final
order by expert_id, pushed_at, task_id
