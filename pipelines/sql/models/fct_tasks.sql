-- fct_tasks: every task pushed by $as_of with its ZZ-ACCEPT and ZZ-COMPLETE deadlines, status,
-- lateness and strike (ZZ-STRIKE). Events recorded after $as_of count as not yet happened. The
-- lateness is that of a late response or completion; an overdue one holds none (it would grow
-- with $as_of, and each day's refresh would rewrite every never-answered task): its readers
-- measure it from the deadline at their evaluation time, and the row stays as it is.
-- refs:
-- checks: calendar_gap_year
-- reach: stg_tasks.responded_at + $complete_workdays
-- keyed: stg_tasks(task_id, case_id, expert_id, pushed_at, responded_at, response, completed_at,
--     verdict)
-- present: pushed_at <= $as_of
-- settled: responded_at <= $as_of
--     and (completed_at <= $as_of or completed_at is null and not is_accepted_on_time)
--     or responded_at is null and accept_deadline < $as_of
--     or completed_at is null and is_accepted_on_time and complete_deadline < $as_of
with

tasks as (
    select * from stg_tasks
    where pushed_at <= $as_of
),

experts as (
    select expert_id, hospital_id, specialty as expert_specialty from stg_experts
),

cases as (
    select
        c.case_id,
        c.hospital_id as case_hospital_id,
        d.specialty as disease_specialty
    from stg_cases as c
    left join ref_diseases as d using (disease_name)
),

workdays as (
    select workday_no, day from calendar where is_workday
),

calendar_end as (
    -- a deadline past the covered calendar is provably after 00:00 of 1 Jan of the next year
    select
        make_timestamp(last_year + 1, 1, 1, 0, 0, 0) as covered_until,
        last_year + 1 as first_uncovered_year
    from calendar_meta
),

as_of_events as (
    select
        task_id,
        case_id,
        expert_id,
        pushed_at,
        case when responded_at <= $as_of then responded_at end as responded_at,
        case when responded_at <= $as_of then response end as response,
        case when completed_at <= $as_of then completed_at end as completed_at,
        case when completed_at <= $as_of then verdict end as verdict,
        pushed_at + to_hours($accept_hours) as accept_deadline
    from tasks
),

acceptance as (
    select
        *,
        case
            when responded_at is null and accept_deadline < $as_of then 'overdue'
            when responded_at is null then 'awaiting'
            when responded_at <= accept_deadline then 'on_time'
            else 'late'
        end as accept_status,
        coalesce(response = '受理' and responded_at <= accept_deadline, false)
            as is_accepted_on_time
    from as_of_events
),

completion as (
    -- 24:00 of the complete_workdays-th working day after the acceptance date, looked up for
    -- on-time acceptances only (no second pass over the tasks: the lookups are joins to the
    -- calendar, and the other rows' values are nulled by `case`, not in ON — see fct_benefits)
    select
        a.*,
        case when a.is_accepted_on_time then c2.day + interval 1 day end as complete_deadline,
        a.is_accepted_on_time and c1.day is null as is_accept_day_uncovered,
        a.is_accepted_on_time and c1.day is not null and c2.day is null
            as is_complete_deadline_beyond_calendar
    from acceptance as a
    left join calendar as c1
        on c1.day = cast(a.responded_at as date)
    left join workdays as c2
        on c2.workday_no = c1.workday_no + $complete_workdays
),

completion_status as (
    select
        c.*,
        case
            when not c.is_accepted_on_time then null
            when c.complete_deadline is not null then
                case
                    when c.completed_at <= c.complete_deadline then 'on_time'
                    when c.completed_at is not null then 'late'
                    when c.complete_deadline < $as_of then 'overdue'
                    else 'in_progress'
                end
            when c.is_complete_deadline_beyond_calendar and c.completed_at <= e.covered_until
                then 'on_time'
            when c.is_complete_deadline_beyond_calendar and c.completed_at is null
                and $as_of <= e.covered_until
                then 'in_progress'
        end as complete_status,
        case
            when c.is_accept_day_uncovered then year(c.responded_at)
            when c.is_complete_deadline_beyond_calendar then e.first_uncovered_year
        end as gap_if_unknown
    from completion as c
    cross join calendar_end as e
),

final as (
    select
        c.task_id,
        c.case_id,
        c.expert_id,
        x.hospital_id,
        k.case_hospital_id,
        x.expert_specialty,
        k.disease_specialty,
        c.pushed_at,
        c.responded_at,
        c.response,
        c.completed_at,
        c.verdict,
        c.accept_deadline,
        c.accept_status,
        case c.accept_status
            when 'late' then date_diff('second', c.accept_deadline, c.responded_at)
            when 'overdue' then null
        end as accept_late_seconds,
        c.is_accepted_on_time,
        c.complete_deadline,
        c.is_complete_deadline_beyond_calendar,
        c.complete_status,
        case c.complete_status
            when 'late' then date_diff('second', c.complete_deadline, c.completed_at)
            when 'overdue' then null
        end as complete_late_seconds,
        case
            when c.accept_status in ('late', 'overdue') then 'accept_timeout'
            when c.complete_status in ('late', 'overdue') then 'complete_timeout'
        end as strike_kind,
        case
            when c.accept_status in ('late', 'overdue') then c.accept_deadline
            when c.complete_status in ('late', 'overdue') then c.complete_deadline
        end as strike_at,
        case
            when c.is_accepted_on_time and c.complete_status is null then c.gap_if_unknown
        end as calendar_gap_year
    from completion_status as c
    left join experts as x using (expert_id)
    left join cases as k using (case_id)
)

select * from final
order by task_id
