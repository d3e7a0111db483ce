-- audit_ty_penalty: TY-PENALTY (Taiyuan profile only) — a hospital certifies no case while its
-- 认定资格 is suspended (valid_from..valid_to) or revoked (from valid_from on). One row per case
-- decided (decided_at, as known at $as_of) on a day a sanction of its hospital is in force.
-- refs: fct_cases
with

cases as (
    select case_id, hospital_id, cast(decided_at as date) as decided_on
    from fct_cases
    where $ty_enabled and decided_at is not null
),

hospital_sanctions as (
    select sanction_id, subject_id as hospital_id, measure, valid_from, valid_to
    from sanctions_recorded
    where measure in ('暂停认定资格', '取消认定资格')
),

breaches as (
    select c.case_id, c.hospital_id, c.decided_on, s.sanction_id, s.measure, s.valid_from,
        s.valid_to
    from cases as c
    inner join hospital_sanctions as s
        on c.hospital_id = s.hospital_id
    where c.decided_on >= s.valid_from
        and (s.valid_to is null or c.decided_on <= s.valid_to)
),

final as (
    select
        'TY-PENALTY' as rule_id,
        case_id,
        cast(null as varchar) as task_id,
        cast(null as varchar) as expert_id,
        hospital_id,
        '于' || strftime(decided_on, '%Y-%m-%d') || '办结认定，此时该院' || measure || '（'
        || strftime(valid_from, '%Y-%m-%d')
        || coalesce('至' || strftime(valid_to, '%Y-%m-%d'), '起') || '，处理决定 '
        || sanction_id || '）。' as detail
    from breaches
)

select * from final
order by case_id, detail
