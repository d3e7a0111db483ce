-- mart_ty_cases: Taiyuan's 定额 cases certified 符合 as of $as_of with the dates TY-CYCLE,
-- TY-PUBLICITY, TY-ENTRY and TY-BENEFIT hold them to (fct_ty_cases) and the hospital's name and
-- district, for the Taiyuan pages (empty unless the profile enables the Taiyuan rules).
-- refs: fct_ty_cases
with

cases as (
    select * exclude (calendar_gap_year) from fct_ty_cases
),

hospitals as (
    select hospital_id, hospital_name, district from stg_hospitals
),

final as (
    select
        c.*,
        h.hospital_name,
        h.district,
        c.cycle_over > 0 as is_cycle_late,
        c.entry_over > 0 as is_entry_late
    from cases as c
    left join hospitals as h on h.hospital_id = c.hospital_id
)

select * from final
order by case_id
