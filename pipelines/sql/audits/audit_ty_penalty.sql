-- audit_ty_penalty: TY-PENALTY (Taiyuan profile only) — a hospital certifies no case while its
-- 认定资格 is suspended (valid_from..valid_to) or revoked (from valid_from on), and a doctor signs
-- no panel opinion while his or her 医保处方权 is suspended. One row per case decided
-- (decided_at, as known at $as_of) and per opinion signed (signed_at <= $as_of) on a day such a
-- sanction is in force.
-- refs: fct_cases
with

cases as (
    select case_id, hospital_id, cast(decided_at as date) as decided_on
    from fct_cases
    where $ty_enabled and decided_at is not null
),

opinions as (
    select o.case_id, o.expert_id, c.hospital_id, cast(o.signed_at as date) as signed_on
    from stg_panel_opinions as o
    left join stg_cases as c on c.case_id = o.case_id
    where $ty_enabled and o.signed_at <= $as_of
),

sanctions as (
    select
        sanction_id,
        subject_type,
        subject_id,
        measure,
        valid_from,
        valid_to,
        strftime(valid_from, '%Y-%m-%d')
        || coalesce('至' || strftime(valid_to, '%Y-%m-%d'), '起') || '，处理决定 '
        || sanction_id as period
    from sanctions_recorded
    where measure in ('暂停认定资格', '取消认定资格', '暂停医保处方权')
),

hospital_breaches as (
    select
        c.case_id,
        cast(null as varchar) as expert_id,
        c.hospital_id,
        '于' || strftime(c.decided_on, '%Y-%m-%d') || '办结认定，此时该院' || s.measure || '（'
        || s.period || '）。' as detail
    from cases as c
    inner join sanctions as s
        on s.subject_type = 'hospital' and c.hospital_id = s.subject_id
    where c.decided_on >= s.valid_from
        and (s.valid_to is null or c.decided_on <= s.valid_to)
),

doctor_breaches as (
    select
        o.case_id,
        o.expert_id,
        o.hospital_id,
        '于' || strftime(o.signed_on, '%Y-%m-%d') || '签署认定专家组意见，此时其' || s.measure
        || '（' || s.period || '）。' as detail
    from opinions as o
    inner join sanctions as s
        on s.subject_type = 'doctor' and o.expert_id = s.subject_id
    where o.signed_on >= s.valid_from
        and (s.valid_to is null or o.signed_on <= s.valid_to)
),

final as (
    select
        'TY-PENALTY' as rule_id,
        case_id,
        cast(null as varchar) as task_id,
        expert_id,
        hospital_id,
        detail
    from (
        select * from hospital_breaches
        union all
        select * from doctor_breaches
    )
)

select * from final
order by case_id, expert_id, detail
