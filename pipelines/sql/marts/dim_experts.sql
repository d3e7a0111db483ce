-- dim_experts: the expert register as of $as_of (fct_experts) with the phone number the call
-- lists need: name, hospital, district, specialty, title and the disqualification (time and
-- source: 'strike' ZZ-STRIKE or 'register'). Personal columns are masked by the pages per role.
-- refs: fct_experts
with

phones as (
    select expert_id, phone from stg_experts
),

final as (
    select
        x.expert_id,
        x.expert_name,
        p.phone,
        x.hospital_id,
        x.hospital_name,
        x.district,
        x.specialty,
        x.title,
        x.registered_on,
        x.disqualified_at,
        x.disqualified_source
    from fct_experts as x
    left join phones as p using (expert_id)
)

select * from final
order by expert_id
