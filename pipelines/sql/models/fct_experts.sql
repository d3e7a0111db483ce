-- fct_experts: the expert register as of $as_of with pool membership (registered, not
-- disqualified) and ZZ-EXPERT-QUAL qualification. A qualification flag is null when the data
-- cannot tell (hospital unknown, or its class or ownership not recorded).
-- refs: fct_disqualifications
with

experts as (
    select * from stg_experts
),

hospitals as (
    select hospital_id, hospital_name, hospital_class, ownership, district from stg_hospitals
),

checked as (
    select
        e.expert_id,
        e.expert_name,
        e.hospital_id,
        h.hospital_name,
        h.district,
        h.hospital_class,
        h.ownership,
        e.specialty,
        e.title,
        e.registered_on,
        e.disqualified_on,
        d.disqualified_at,
        d.source as disqualified_source,
        cast(e.registered_on as timestamp) <= $as_of and d.expert_id is null as is_in_pool,
        list_contains($qual_titles, e.title) as has_required_title,
        list_contains($qual_ownership, h.ownership)
        and list_contains($qual_classes, h.hospital_class) as is_at_qualified_hospital
    from experts as e
    left join hospitals as h using (hospital_id)
    left join fct_disqualifications as d using (expert_id)
),

final as (
    select
        *,
        has_required_title and is_at_qualified_hospital as is_qualified
    from checked
)

select * from final
order by expert_id
