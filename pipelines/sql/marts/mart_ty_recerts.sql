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
        r.* exclude (over),
        -- the working days over are read only when late (fct_ty_recerts)
        case when coalesce(r.completed_at, $as_of) > r.deadline then r.over end as over,
        h.hospital_name,
        h.district,
        coalesce(r.completed_at, $as_of) > r.deadline as is_late
    from recerts as r
    left join hospitals as h on h.hospital_id = r.hospital_id
)

select * from final
order by recert_id
