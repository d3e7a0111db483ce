-- dim_hospitals: the loaded hospitals — names, districts and the filters' option lists of every
-- page (a district user's rows are limited by `district` in the page's query).
-- refs:
with

final as (
    select hospital_id, hospital_name, district, hospital_class, ownership, group_id
    from stg_hospitals
)

select * from final
order by hospital_id
