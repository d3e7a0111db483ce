-- fct_strikes: ZZ-STRIKE — one row per task that missed ZZ-ACCEPT or ZZ-COMPLETE by $as_of, timed
-- at its missed deadline, numbered per expert per calendar year of that time (ties by task_id),
-- with the action the number calls for.
-- refs: fct_tasks
with

strikes as (
    select
        task_id,
        case_id,
        expert_id,
        hospital_id,
        strike_kind as kind,
        strike_at as deadline,
        cast(year(strike_at) as integer) as strike_year,
        pushed_at,
        responded_at,
        response,
        completed_at,
        case strike_kind
            when 'accept_timeout' then accept_late_seconds
            else complete_late_seconds
        end as late_seconds
    from fct_tasks
    where strike_kind is not null
),

numbered as (
    select
        *,
        cast(
            row_number() over (
                partition by expert_id, strike_year order by deadline, task_id
            ) as integer
        ) as strike_no
    from strikes
),

final as (
    select
        expert_id,
        strike_no,
        task_id,
        case_id,
        kind,
        deadline,
        case
            when strike_no <= len($strike_actions) then $strike_actions[strike_no]
            else $strike_after_last
        end as action,
        strike_year,
        hospital_id,
        strike_no = $disqualify_at as is_disqualifying,
        pushed_at,
        responded_at,
        response,
        completed_at,
        late_seconds,
        cast(to_seconds(late_seconds) as varchar) as late_by
    from numbered
)

select * from final
order by expert_id, strike_year, strike_no
