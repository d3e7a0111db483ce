-- ZZ-EXPERT-QUAL / "Verifiable draws": every expert of specialty $specialty with the reason he or
-- she is not a candidate at $as_of (exclusion null = candidate). Not yet registered, disqualified
-- (register date or strike, view draw_disqualified), without a listed title, at a hospital of the
-- wrong ownership or class, or avoided (回避) — the first reason that applies, in that order.
with experts as (
    select
        expert_id,
        hospital_id,
        title,
        registered_on,
        disqualified_on
    from stg_experts
    where specialty = $specialty
),

hospitals as (
    select
        hospital_id,
        hospital_class,
        ownership
    from stg_hospitals
),

strike_disqualified as (
    select
        expert_id,
        min(disqualified_at) as disqualified_at
    from draw_disqualified
    where disqualified_at <= $as_of
    group by expert_id
),

checked as (
    select
        experts.expert_id,
        experts.hospital_id,
        experts.title,
        experts.registered_on,
        experts.disqualified_on,
        strike_disqualified.disqualified_at,
        hospitals.hospital_class,
        hospitals.ownership,
        case
            when experts.registered_on > cast($as_of as date) then 'not_registered'
            when experts.disqualified_on <= cast($as_of as date) then 'disqualified_register'
            when strike_disqualified.disqualified_at is not null then 'disqualified_strike'
            when not coalesce(list_contains($titles::varchar [], experts.title), false)
                then 'title'
            when hospitals.hospital_id is null then 'hospital_unknown'
            when not coalesce(list_contains($ownership::varchar [], hospitals.ownership), false)
                then 'ownership'
            when not coalesce(
                list_contains($hospital_classes::varchar [], hospitals.hospital_class), false
            ) then 'hospital_class'
            when list_contains($avoid_hospitals::varchar [], experts.hospital_id)
                then 'avoid_hospital'
            when list_contains($avoid_experts::varchar [], experts.expert_id) then 'avoid_expert'
        end as exclusion
    from experts
    left join hospitals on experts.hospital_id = hospitals.hospital_id
    left join strike_disqualified on experts.expert_id = strike_disqualified.expert_id
),

final as (
    select * from checked
)

select * from final
order by expert_id
