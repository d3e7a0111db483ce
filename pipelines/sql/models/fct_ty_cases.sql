-- fct_ty_cases: Taiyuan's 定额 cases certified 符合 as known at $as_of (none unless the profile
-- enables the Taiyuan rules) and the dates they are held to: TY-CYCLE (entry and handbook by
-- 24:00 of the ty_cycle_workdays-th working day after the submission date), TY-PUBLICITY (the
-- publicity days and the working days among them), TY-ENTRY (entry by 24:00 of the
-- ty_entry_workdays-th working day after publicity_to), TY-BENEFIT (the 1st of the month after
-- the entry). An entry recorded after $as_of has not happened yet; `*_over` (read only when
-- late) counts the working days after the deadline's day up to the day of the entry (or of
-- $as_of while not entered), at least 1.
-- checks: calendar_gap_year
-- reach: stg_cases.submitted_at + $ty_cycle_workdays
-- reach: stg_cases.publicity_to + $ty_entry_workdays
with

cases as (
    select
        case_id,
        hospital_id,
        submitted_at,
        cast(submitted_at as date) as submitted_on,
        decided_at,
        publicity_from,
        publicity_to,
        case when entered_at <= $as_of then entered_at end as entered_at,
        case when entered_at <= $as_of then benefit_start end as benefit_start
    from stg_cases
    where $ty_enabled
        and category = '定额'
        and outcome = '符合'
        and decided_at <= $as_of
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
    -- equality joins only (conditions on one side stay out of ON, or DuckDB nests loops)
    select
        c.*,
        cast(coalesce(c.entered_at, $as_of) as date) as event_on,
        s.workday_no as submitted_no,
        y.day as cycle_day,
        f.workday_no + case when f.is_workday then 0 else 1 end as from_no,
        t.workday_no as to_no,
        n.day as entry_day,
        e.workday_no as event_no,
        s.day is null as submitted_uncovered,
        c.publicity_from is not null and f.day is null as from_uncovered,
        c.publicity_to is not null and t.day is null as to_uncovered,
        e.day is null as event_uncovered
    from cases as c
    left join days as s on s.day = c.submitted_on
    left join workdays as y on y.workday_no = s.workday_no + $ty_cycle_workdays
    left join days as f on f.day = c.publicity_from
    left join days as t on t.day = c.publicity_to
    left join workdays as n on n.workday_no = t.workday_no + $ty_entry_workdays
    left join days as e on e.day = cast(coalesce(c.entered_at, $as_of) as date)
),

deadlines as (
    select
        *,
        cast(cycle_day + 1 as timestamp) as cycle_deadline,
        cast(entry_day + 1 as timestamp) as entry_deadline,
        to_no - from_no + 1 as publicity_workdays,
        cast(date_trunc('month', entered_at) + interval 1 month as date) as benefit_due
    from looked_up
),

final as (
    select
        d.case_id,
        d.hospital_id,
        d.submitted_at,
        d.submitted_on,
        d.decided_at,
        d.publicity_from,
        d.publicity_to,
        d.publicity_workdays,
        d.entered_at,
        d.benefit_start,
        d.benefit_due,
        d.cycle_deadline,
        d.entry_deadline,
        greatest(d.event_no - (d.submitted_no + $ty_cycle_workdays), 1) as cycle_over,
        greatest(d.event_no - (d.to_no + $ty_entry_workdays), 1) as entry_over,
        case
            when d.submitted_uncovered then year(d.submitted_on)
            when d.from_uncovered then year(d.publicity_from)
            when d.to_uncovered then year(d.publicity_to)
            when d.event_uncovered and d.event_on > e.last_covered_day then year(d.event_on)
            when d.cycle_day is null and d.event_on > e.last_covered_day then year(d.event_on)
            when d.publicity_to is not null and d.entry_day is null
                and d.event_on > e.last_covered_day
                then year(d.event_on)
        end as calendar_gap_year
    from deadlines as d
    cross join calendar_end as e
)

select * from final
order by case_id
