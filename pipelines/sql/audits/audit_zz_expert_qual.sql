-- audit_zz_expert_qual: ZZ-EXPERT-QUAL — every expert in the pool at $as_of (registered, not
-- disqualified) holds one of qual_titles and works at a hospital whose ownership is in
-- qual_ownership and class in qual_classes. One row per unqualified expert.
-- refs: fct_experts
with

experts as (
    select * from fct_experts
    where is_in_pool and not is_qualified
),

final as (
    select
        'ZZ-EXPERT-QUAL' as rule_id,
        cast(null as varchar) as case_id,
        cast(null as varchar) as task_id,
        expert_id,
        hospital_id,
        '在库专家' || expert_id || '不符合资格要求：'
        || concat_ws(
            '；',
            case
                when not has_required_title
                    then '职称为' || title || '（须为' || array_to_string($qual_titles, '或') || '）'
            end,
            case
                when not is_at_qualified_hospital
                    then '所在医院' || coalesce(hospital_name, hospital_id) || '为'
                    || coalesce(ownership, '') || coalesce(hospital_class, '') || '医院（须为'
                    || array_to_string($qual_ownership, '或')
                    || array_to_string($qual_classes, '或') || '定点医院）'
            end
        )
        || '。' as detail
    from experts
)

select * from final
order by expert_id
