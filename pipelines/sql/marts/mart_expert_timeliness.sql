-- mart_expert_timeliness: ZZ-ACCEPT / ZZ-COMPLETE per expert × month × hospital (its district) ×
-- specialty (the expert's): tasks pushed, due (deadline passed or answered) and on time, by the
-- month of the push; strikes (ZZ-STRIKE, voided ones left out) by the month of the missed
-- deadline. The one definition of these counts: mart_monthly_kpis sums them, and every rate is
-- computed from summed numerator and denominator (pipelines.rules.kpis.RATES).
-- refs: fct_tasks, fct_strikes
-- After a load only the months whose counts can change are redone (pipelines.rules.incremental):
-- by month: month
-- month of: fct_tasks: strftime(pushed_at, '%Y-%m');
--     expert_id, hospital_id, expert_specialty, accept_status, complete_status
-- month of: fct_strikes: strftime(deadline, '%Y-%m'); expert_id, hospital_id
with

experts as (
    select expert_id, specialty from stg_experts
),

task_counts as (
    select
        expert_id,
        strftime(pushed_at, '%Y-%m') as month,
        hospital_id,
        expert_specialty as specialty,
        count(*) as tasks,
        count(*) filter (where accept_status in ('on_time', 'late', 'overdue')) as accept_due,
        count(*) filter (where accept_status = 'on_time') as accept_on_time,
        count(*) filter (where complete_status in ('on_time', 'late', 'overdue')) as complete_due,
        count(*) filter (where complete_status = 'on_time') as complete_on_time
    from fct_tasks
    group by all
),

strike_counts as (
    select
        s.expert_id,
        strftime(s.deadline, '%Y-%m') as month,
        s.hospital_id,
        e.specialty,
        count(*) as strikes
    from fct_strikes as s
    left join experts as e using (expert_id)
    group by all
),

unioned as (
    select *, 0 as strikes from task_counts
    union all by name
    select
        *,
        0 as tasks,
        0 as accept_due,
        0 as accept_on_time,
        0 as complete_due,
        0 as complete_on_time
    from strike_counts
),

final as (
    select
        u.expert_id,
        u.month,
        h.district,
        u.hospital_id,
        u.specialty,
        cast(sum(u.tasks) as bigint) as tasks,
        cast(sum(u.accept_due) as bigint) as accept_due,
        cast(sum(u.accept_on_time) as bigint) as accept_on_time,
        cast(sum(u.complete_due) as bigint) as complete_due,
        cast(sum(u.complete_on_time) as bigint) as complete_on_time,
        cast(sum(u.strikes) as bigint) as strikes
    from unioned as u
    left join stg_hospitals as h using (hospital_id)
    group by all
)

select * from final
order by expert_id, month, hospital_id nulls first, specialty nulls first
