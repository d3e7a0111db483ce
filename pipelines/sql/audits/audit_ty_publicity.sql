-- audit_ty_publicity: TY-PUBLICITY (Taiyuan profile only) — a 定额 case certified 符合 is
-- publicised in the hospital from its certification date on, for at least
-- ty_publicity_workdays working days. One row per case: missing publicity dates, a publicity
-- that starts before the certification, or too few working days in it.
-- refs: fct_ty_cases
with

checked as (
    select
        *,
        case
            when publicity_from is null or publicity_to is null
                then '未登记公示日期（公示开始或结束日期为空）'
            when publicity_from < cast(decided_at as date)
                then '公示开始日期' || strftime(publicity_from, '%Y-%m-%d') || '早于认定日期'
                || strftime(decided_at, '%Y-%m-%d')
            when publicity_workdays < $ty_publicity_workdays
                then '公示期' || strftime(publicity_from, '%Y-%m-%d') || '至'
                || strftime(publicity_to, '%Y-%m-%d') || '仅含' || publicity_workdays
                || '个工作日，少于' || $ty_publicity_workdays || '个工作日'
        end as problem
    from fct_ty_cases
),

final as (
    select
        'TY-PUBLICITY' as rule_id,
        case_id,
        cast(null as varchar) as task_id,
        cast(null as varchar) as expert_id,
        hospital_id,
        '于' || strftime(decided_at, '%Y-%m-%d') || '认定符合，' || problem || '。' as detail
    from checked
    where problem is not null
)

select * from final
order by case_id
