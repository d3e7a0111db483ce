-- audit_ty_panel: TY-PANEL (Taiyuan profile only) — every 定额 case with an outcome known at
-- $as_of is certified by a panel of at least ty_panel_min experts who work at the certifying
-- hospital and hold one of the qual_titles (副高及以上). One row per shortfall: a case with too
-- few panel members, and each member of another hospital or without the title.
with

cases as (
    select case_id, hospital_id
    from stg_cases
    where $ty_enabled
        and category = '定额'
        and outcome is not null
        and decided_at <= $as_of
),

members as (
    select
        c.case_id,
        c.hospital_id,
        o.expert_id,
        e.hospital_id as expert_hospital_id,
        e.title
    from cases as c
    inner join stg_panel_opinions as o on o.case_id = c.case_id
    left join stg_experts as e on e.expert_id = o.expert_id
    where o.signed_at <= $as_of
),

too_few as (
    select
        c.case_id,
        cast(null as varchar) as expert_id,
        c.hospital_id,
        '定额病种认定专家组意见仅' || count(distinct m.expert_id) || '名专家，应不少于'
        || $ty_panel_min || '名副高及以上本院专家。' as detail
    from cases as c
    left join members as m on m.case_id = c.case_id
    group by c.case_id, c.hospital_id
    having count(distinct m.expert_id) < $ty_panel_min
),

unfit as (
    select
        case_id,
        expert_id,
        hospital_id,
        case
            when expert_hospital_id is distinct from hospital_id
                then '专家组成员' || expert_id || '不是认定医院的专家（所在医院'
                || coalesce(expert_hospital_id, '未知') || '）。'
            else '专家组成员' || expert_id || '职称为' || coalesce(title, '未登记')
                || '，不具备副高及以上资质。'
        end as detail
    from members
    where expert_hospital_id is distinct from hospital_id
        or not list_contains($qual_titles, title)
        or title is null
),

final as (
    select
        'TY-PANEL' as rule_id,
        case_id,
        cast(null as varchar) as task_id,
        expert_id,
        hospital_id,
        detail
    from (
        select * from too_few
        union all
        select * from unfit
    )
)

select * from final
order by case_id, expert_id nulls first
