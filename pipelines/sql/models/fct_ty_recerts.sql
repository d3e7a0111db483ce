-- fct_ty_recerts: Taiyuan's re-certification requests (重新认定) made by $as_of (none unless the
-- profile enables the Taiyuan rules) and their TY-RECERT deadline: 24:00 of the
-- ty_recert_workdays-th working day after the request date. A completion recorded after $as_of
-- has not happened yet; `over` (read only when late) counts the working days after the
-- deadline's day up to the day of the completion (or of $as_of while open), at least 1.
-- checks: calendar_gap_year
-- reach: stg_recerts.requested_at + $ty_recert_workdays
with

recerts as (
    select
        r.recert_id,
        r.case_id,
        k.hospital_id,
        r.requested_at,
        cast(r.requested_at as date) as requested_on,
        case when r.completed_at <= $as_of then r.completed_at end as completed_at,
        case when r.completed_at <= $as_of then r.outcome end as outcome
    from stg_recerts as r
    left join stg_cases as k on k.case_id = r.case_id
    where $ty_enabled and r.requested_at <= $as_of
),

days as (
    select day, is_workday, workday_no from calendar
),

workdays as (
    select workday_no, day from calendar where is_workday
),

calendar_end as (
    select make_date(last_year, 12, 31) as last_covered_day from calendar_meta
),

looked_up as (
    select
        r.*,
        cast(coalesce(r.completed_at, $as_of) as date) as event_on,
        s.workday_no as requested_no,
        w.day as deadline_day,
        e.workday_no as event_no,
        s.day is null as requested_uncovered,
        e.day is null as event_uncovered
    from recerts as r
    left join days as s on s.day = r.requested_on
    left join workdays as w on w.workday_no = s.workday_no + $ty_recert_workdays
    left join days as e on e.day = cast(coalesce(r.completed_at, $as_of) as date)
),

final as (
    select
        l.recert_id,
        l.case_id,
        l.hospital_id,
        l.requested_at,
        l.requested_on,
        l.completed_at,
        l.outcome,
        cast(l.deadline_day + 1 as timestamp) as deadline,
        greatest(l.event_no - (l.requested_no + $ty_recert_workdays), 1) as over,
        case
            when l.requested_uncovered then year(l.requested_on)
            when l.event_uncovered and l.event_on > e.last_covered_day then year(l.event_on)
            when l.deadline_day is null and l.event_on > e.last_covered_day
                then year(l.event_on)
        end as calendar_gap_year
    from looked_up as l
    cross join calendar_end as e
)

select * from final
order by recert_id
