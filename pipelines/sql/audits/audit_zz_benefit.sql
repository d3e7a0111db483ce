-- audit_zz_benefit: ZZ-BENEFIT — only approved cases get a benefit start; 集中办结 diseases start
-- on the 1st of the month after the decision, 即时办结 diseases on or after the submission date
-- and no later than the instant_workdays-th working day after it. One row per breaching case.
-- refs: fct_benefits
with

benefits as (
    -- Taiyuan's 定额 cases start on the 1st after their entry (TY-BENEFIT instead)
    select * from fct_benefits
    where case_id not in (select case_id from stg_cases where category = '定额')
),

checked as (
    select
        *,
        case
            when not is_approved
                then '鉴定结果为' || coalesce(outcome, '待定') || '，却登记了待遇开始日期'
                || strftime(benefit_start, '%Y-%m-%d') || '。'
            when settlement = '集中办结' and benefit_start <> batch_start_day
                then '集中办结病种' || disease_name || '于' || strftime(decided_at, '%Y-%m-%d')
                || '办结，待遇应自' || strftime(batch_start_day, '%Y-%m-%d') || '起，登记为'
                || strftime(benefit_start, '%Y-%m-%d') || '。'
            when settlement = '即时办结' and benefit_start < submitted_on
                then '即时办结病种' || disease_name || '的待遇开始日期'
                || strftime(benefit_start, '%Y-%m-%d') || '早于申报日期'
                || strftime(submitted_on, '%Y-%m-%d') || '。'
            when settlement = '即时办结' and benefit_start > instant_deadline_day
                then '即时办结病种' || disease_name || '于' || strftime(submitted_on, '%Y-%m-%d')
                || '申报，待遇应不晚于第' || $instant_workdays || '个工作日'
                || strftime(instant_deadline_day, '%Y-%m-%d') || '开始，登记为'
                || strftime(benefit_start, '%Y-%m-%d') || '。'
        end as detail
    from benefits
),

final as (
    select
        'ZZ-BENEFIT' as rule_id,
        case_id,
        cast(null as varchar) as task_id,
        cast(null as varchar) as expert_id,
        hospital_id,
        detail
    from checked
    where detail is not null
)

select * from final
order by case_id
