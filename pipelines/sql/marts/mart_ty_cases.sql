-- mart_ty_cases: Taiyuan's 定额 cases certified 符合 as of $as_of with the dates TY-CYCLE,
-- TY-PUBLICITY, TY-ENTRY and TY-BENEFIT hold them to (fct_ty_cases) and the hospital's name and
-- district, for the Taiyuan pages (empty unless the profile enables the Taiyuan rules). Late:
-- entered (or, not entered, the evaluation time) after the deadline.
-- refs: fct_ty_cases
with

cases as (
    select
        * exclude (calendar_gap_year, cycle_over, entry_over),
        coalesce(entered_at, $as_of) > cycle_deadline as is_cycle_late,
        coalesce(entered_at, $as_of) > entry_deadline as is_entry_late,
        cycle_over,
        entry_over
    from fct_ty_cases
),

hospitals as (
    select hospital_id, hospital_name, district from stg_hospitals
),

final as (
    select
        c.* exclude (cycle_over, entry_over, is_entry_late),
        coalesce(c.is_entry_late, false) as is_entry_late,
        -- the working days over are read only when late (fct_ty_cases)
        case when c.is_cycle_late then c.cycle_over end as cycle_over,
        case when c.is_entry_late then c.entry_over end as entry_over,
        h.hospital_name,
        h.district
    from cases as c
    left join hospitals as h on h.hospital_id = c.hospital_id
)

select * from final
order by case_id
