-- fct_disqualifications: ZZ-STRIKE — each expert's effective, permanent disqualification as of
-- $as_of: the earlier of the first strike numbered disqualify_at and the register's
-- disqualified_on (taken as 00:00 of that day, counted once that instant has come).
-- refs: fct_strikes
with

by_strike as (
    select
        expert_id,
        min(deadline) as disqualified_at,
        'strike' as source,
        arg_min(task_id, deadline) as task_id
    from fct_strikes
    where is_disqualifying
    group by expert_id
),

by_register as (
    select
        expert_id,
        cast(disqualified_on as timestamp) as disqualified_at,
        'register' as source,
        cast(null as varchar) as task_id
    from stg_experts
    where cast(disqualified_on as timestamp) <= $as_of
),

ranked as (
    select
        *,
        -- on a tie the register's record wins: it is the centre's own decision
        row_number() over (
            partition by expert_id
            order by disqualified_at, source = 'strike'
        ) as rank_no
    from (
        select * from by_register
        union all
        select * from by_strike
    )
),

final as (
    select expert_id, disqualified_at, source, task_id
    from ranked
    where rank_no = 1
)

select * from final
order by expert_id
