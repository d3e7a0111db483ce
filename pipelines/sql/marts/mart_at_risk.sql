-- mart_at_risk: open tasks about to miss a deadline at the evaluation time $eval_at — a response
-- due within risk_accept_hours hours (ZZ-ACCEPT), or a completion due by 24:00 of the
-- risk_complete_workdays-th working day after the date of $eval_at (ZZ-COMPLETE) — and, when
-- $eval_at lies after the data cut-off ($as_of is then the cut-off), the tasks open at the
-- cut-off whose deadline has come by $eval_at: 待核实 (DATA-CUTOFF, status 'unconfirmed'),
-- probably late but not shown by the export, so never a strike.
-- refs: fct_tasks
-- checks: calendar_gap_year
-- reach: stg_tasks.responded_at + $complete_workdays
with

horizon as (
    -- null when that working day lies past the covered calendar: every known deadline is before it
    select max(h.day + interval 1 day) as complete_horizon
    from calendar as c
    inner join calendar as h
        on h.workday_no = c.workday_no + $risk_complete_workdays
        and h.is_workday
    where c.day = cast($eval_at as date)
),

calendar_end as (
    select last_year + 1 as first_uncovered_year from calendar_meta
),

awaiting as (
    select
        'accept' as kind,
        accept_deadline as deadline,
        * exclude (calendar_gap_year),
        cast(null as integer) as calendar_gap_year
    -- fct_tasks read by each branch, not through a CTE both read: DuckDB would materialise
    -- that CTE, a copy of all 5.2 M tasks, before either filter (0.15–0.3 s a refresh)
    from fct_tasks
    where accept_status = 'awaiting'
        and accept_deadline <= $eval_at + to_hours($risk_accept_hours)
),

completing as (
    -- an unknown deadline (past the calendar) against an unknown horizon cannot be placed
    select
        'complete' as kind,
        t.complete_deadline as deadline,
        t.* exclude (calendar_gap_year),
        case
            when t.complete_deadline is null then e.first_uncovered_year
        end as calendar_gap_year
    from fct_tasks as t
    cross join horizon as h
    cross join calendar_end as e
    where t.complete_status = 'in_progress'
        and (
            t.complete_deadline <= h.complete_horizon
            or h.complete_horizon is null
        )
),

unioned as (
    select * from awaiting
    union all
    select * from completing
),

final as (
    select
        u.deadline,
        cast(
            round(date_diff('second', $eval_at, u.deadline) / 3600, 1) as decimal(10, 1)
        ) as hours_left,
        case
            when $eval_at > $as_of and u.deadline <= $eval_at then 'unconfirmed'
            else 'at_risk'
        end as status,
        u.kind,
        u.task_id,
        u.case_id,
        u.expert_id,
        e.expert_name,
        e.phone,
        u.hospital_id,
        h.hospital_name,
        h.district,
        u.pushed_at,
        u.responded_at,
        u.calendar_gap_year
    from unioned as u
    left join stg_experts as e using (expert_id)
    left join stg_hospitals as h on h.hospital_id = u.hospital_id
)

select * from final
order by deadline, kind, task_id
