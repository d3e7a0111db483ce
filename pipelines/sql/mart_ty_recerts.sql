-- mart_ty_recerts: Taiyuan's re-certification requests (重新认定) as of $as_of with their
-- TY-RECERT deadline and working days over (fct_ty_recerts), and the hospital's name and district.
-- refs: fct_ty_recerts
with

recerts as (
    select * exclude (calendar_gap_year) from fct_ty_recerts
),

hospitals as (
    select hospital_id, hospital_name, district from stg_hospitals
),

final as (
    select
        r.*,
        h.hospital_name,
        h.district,
        r.over > 0 as is_late
    from recerts as r
    left join hospitals as h on h.hospital_id = r.hospital_id
)

select * from final
order by recert_id
