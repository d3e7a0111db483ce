-- audit_ty_benefit: TY-BENEFIT (Taiyuan profile only) — an entered 定额 case's benefits start on
-- the 1st of the month after the month of entered_at. One row per entered case whose recorded
-- benefit start is another day or missing.
-- refs: fct_ty_cases
with

wrong as (
    select * from fct_ty_cases
    where entered_at is not null
        and benefit_start is distinct from benefit_due
),

final as (
    select
        'TY-BENEFIT' as rule_id,
        case_id,
        cast(null as varchar) as task_id,
        cast(null as varchar) as expert_id,
        hospital_id,
        '于' || strftime(entered_at, '%Y-%m-%d') || '录入，待遇应自'
        || strftime(benefit_due, '%Y-%m-%d') || '起享受，'
        || case
            when benefit_start is null then '未登记待遇开始日期'
            else '登记为' || strftime(benefit_start, '%Y-%m-%d')
        end
        || '。' as detail
    from wrong
)

select * from final
order by case_id
