-- 明察暗访 (targeted picks, RULES "What a spot check tells"): a documented risk score for every
-- approved case decided on $date_from..$date_to that is not a random pick (view draw_exclude).
-- One point for each of: the experts' verdicts on the case disagree (split); each reviewing
-- expert whose approval rate in the period exceeds the specialty's by at least $peer_margin over
-- at least $min_reviews reviews (lenient); each review completed less than $fast_minutes after
-- it was accepted (fast). Reasons name the expert and the figures.
with cases as (
    select
        case_id,
        hospital_id
    from stg_cases
    where
        outcome = '符合'
        and cast(decided_at as date) between $date_from and $date_to
        and case_id not in (select case_id from draw_exclude)
),

reviews as (
    select
        tasks.case_id,
        tasks.expert_id,
        tasks.verdict,
        experts.specialty,
        date_diff('second', tasks.responded_at, tasks.completed_at) / 60.0 as minutes
    from stg_tasks as tasks
    inner join stg_experts as experts on tasks.expert_id = experts.expert_id
    inner join stg_cases as c on tasks.case_id = c.case_id
    where
        tasks.verdict in ('符合', '不符合')
        and cast(c.decided_at as date) between $date_from and $date_to
),

expert_rates as (
    select
        expert_id,
        any_value(specialty) as specialty,
        count(*) as reviews,
        avg(case when verdict = '符合' then 1.0 else 0.0 end) as approve_rate
    from reviews
    group by expert_id
),

specialty_rates as (
    select
        specialty,
        avg(case when verdict = '符合' then 1.0 else 0.0 end) as approve_rate
    from reviews
    group by specialty
),

lenient as (
    select
        e.expert_id,
        e.approve_rate,
        s.approve_rate as peer_rate,
        e.specialty
    from expert_rates as e
    inner join specialty_rates as s on e.specialty = s.specialty
    where e.reviews >= $min_reviews and e.approve_rate - s.approve_rate >= $peer_margin
),

flags as (
    select
        r.case_id,
        printf(
            '专家 %s 通过率 %.0f%%，高于同专业（%s）%.0f%%',
            l.expert_id, 100 * l.approve_rate, l.specialty, 100 * l.peer_rate
        ) as reason
    from reviews as r
    inner join lenient as l on r.expert_id = l.expert_id
    union all
    select
        case_id,
        printf('专家 %s 受理后 %.0f 分钟即办结', expert_id, minutes) as reason
    from reviews
    where minutes >= 0 and minutes < $fast_minutes
    union all
    select
        case_id,
        printf(
            '专家意见不一致（符合 %d，不符合 %d）',
            count(*) filter (where verdict = '符合'),
            count(*) filter (where verdict = '不符合')
        ) as reason
    from reviews
    group by case_id
    having count(distinct verdict) > 1
),

final as (
    select
        cases.case_id,
        cases.hospital_id,
        count(*) as score,
        string_agg(flags.reason, '；' order by flags.reason) as reason
    from cases
    inner join flags on cases.case_id = flags.case_id
    group by cases.case_id, cases.hospital_id
)

select * from final
order by score desc, case_id
