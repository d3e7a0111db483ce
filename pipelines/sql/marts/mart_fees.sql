-- mart_fees: ZZ-FEE — per month of completion and expert: reviews = distinct cases the expert
-- completed (completed_at recorded, by $as_of when given), amount_yuan = reviews × fee_yuan.
-- refs:
-- latest: stg_tasks.completed_at
-- After a load only the months whose counts can change are redone (pipelines.rules.incremental;
-- fct_tasks passes a task's completion through as known at $as_of, so its redone rows tell them):
-- by month: month
-- month of: stg_tasks by fct_tasks: strftime(completed_at, '%Y-%m'); expert_id, case_id
with

completions as (
    select
        strftime(completed_at, '%Y-%m') as month,
        expert_id,
        case_id
    from stg_tasks
    where completed_at is not null
        and ($as_of is null or completed_at <= $as_of)
),

counts as (
    select
        month,
        expert_id,
        count(distinct case_id) as reviews
    from completions
    group by month, expert_id
),

final as (
    select
        c.month,
        c.expert_id,
        e.expert_name,
        e.hospital_id,
        h.hospital_name,
        c.reviews,
        c.reviews * $fee_yuan as amount_yuan
    from counts as c
    left join stg_experts as e using (expert_id)
    left join stg_hospitals as h on h.hospital_id = e.hospital_id
)

select * from final
order by month, expert_id
