-- fct_benefits: every case with a benefit start date as of $as_of and the dates it is held to:
-- ZZ-BENEFIT (集中办结: 1st of the month after the decision; 即时办结: no later than the
-- instant_workdays-th working day after the submission date). TY-CYCLE is fct_ty_cases'.
-- refs: fct_cases
-- checks: calendar_gap_year
-- reach: stg_cases.submitted_at + $instant_workdays
with

cases as (
    select * from fct_cases
    where benefit_start is not null
),

calendar_end as (
    select
        make_date(last_year, 12, 31) as last_covered_day,
        last_year + 1 as first_uncovered_year
    from calendar_meta
),

workdays as (
    select workday_no, day from calendar where is_workday
),

windows as (
    -- equality joins only (conditions on one side stay out of ON, or DuckDB nests loops)
    select
        c.*,
        cast(c.submitted_at as date) as submitted_on,
        c.outcome is not distinct from '符合' as is_approved,
        cast(date_trunc('month', c.decided_at) + interval 1 month as date) as batch_start_day,
        s.day is null as is_submitted_day_uncovered,
        case when c.settlement = '即时办结' then i.day end as instant_deadline_day
    from cases as c
    left join calendar as s
        on s.day = cast(c.submitted_at as date)
    left join workdays as i
        on i.workday_no = s.workday_no + $instant_workdays
),

gaps as (
    -- a window end past the covered calendar only matters for a benefit start past it too
    select
        w.*,
        w.is_approved and w.settlement = '即时办结' as needs_instant_window,
        e.last_covered_day,
        e.first_uncovered_year
    from windows as w
    cross join calendar_end as e
),

final as (
    select
        case_id,
        hospital_id,
        disease_name,
        settlement,
        outcome,
        is_approved,
        submitted_at,
        submitted_on,
        decided_at,
        benefit_start,
        batch_start_day,
        instant_deadline_day,
        case
            when needs_instant_window and is_submitted_day_uncovered
                then year(submitted_on)
            when needs_instant_window and instant_deadline_day is null
                and benefit_start > last_covered_day
                then first_uncovered_year
        end as calendar_gap_year
    from gaps
)

select * from final
order by case_id
