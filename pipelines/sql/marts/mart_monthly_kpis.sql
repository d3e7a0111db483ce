-- mart_monthly_kpis: every monthly number 总览, the `kpis` command and the monthly report show, in
-- long form — one row per month × district × hospital × specialty × metric with an integer value,
-- so any set of rows can be summed (sum by metric over the filters; rates are computed from the
-- summed numerator and denominator, never averaged). hospital_id (its district) and specialty are
-- the case's submitting hospital and disease specialty for case counts, the expert's hospital and
-- specialty for everything else; a violation takes its row's hospital and the expert's specialty
-- (else the case's). The month of each metric:
--   cases_submitted / cases_decided / cases_approved   submission (outcome known by $as_of)
--   tasks_pushed, accept_due / accept_on_time,          push; *_due counts tasks whose deadline
--   complete_due / complete_on_time                     has passed or that were answered
--                                                       (summed from mart_expert_timeliness)
--   strikes_<action> (sms, notify_hospital,             the strike's missed deadline (ZZ-STRIKE;
--   disqualify, after_disqualified)                     voided strikes left out, ZZ-DISPUTE)
--   experts_disqualified                                the disqualification (ZZ-STRIKE, register)
--   fee_reviews / fee_yuan                              completion (ZZ-FEE, mart_fees)
--   violations:<rule_id>                                counted_at of mart_violation_events: the
--                                                       task's push, else the case's submission,
--                                                       else the evaluation time
-- refs: fct_cases, fct_strikes, fct_disqualifications, mart_fees, mart_expert_timeliness, mart_violation_events
-- After a load only the months whose counts can change are redone (pipelines.rules.incremental; a
-- breach counted at the evaluation time is redone with its audit and moves month only when the
-- evaluation time does):
-- by month: month
-- month of: fct_cases: strftime(submitted_at, '%Y-%m'); hospital_id, specialty, outcome
-- month of: mart_expert_timeliness: month; hospital_id, specialty, tasks, accept_due,
--     accept_on_time, complete_due, complete_on_time
-- month of: mart_fees: month; expert_id, reviews, amount_yuan
-- month of: fct_strikes: strftime(deadline, '%Y-%m'); expert_id, hospital_id, action
-- month of: fct_disqualifications: strftime(disqualified_at, '%Y-%m'); expert_id
-- month of: mart_violation_events: strftime(counted_at, '%Y-%m'); hospital_id, specialty, rule_id
with

experts as (
    select expert_id, hospital_id, specialty from stg_experts
),

case_counts as (
    select
        strftime(submitted_at, '%Y-%m') as month,
        hospital_id,
        specialty,
        count(*) as cases_submitted,
        count(outcome) as cases_decided,
        count(*) filter (where outcome = '符合') as cases_approved
    from fct_cases
    group by all
),

task_counts as (
    select
        month,
        hospital_id,
        specialty,
        sum(tasks) as tasks_pushed,
        sum(accept_due) as accept_due,
        sum(accept_on_time) as accept_on_time,
        sum(complete_due) as complete_due,
        sum(complete_on_time) as complete_on_time
    from mart_expert_timeliness
    where tasks > 0
    group by all
),

fee_counts as (
    select
        f.month,
        e.hospital_id,
        e.specialty,
        sum(f.reviews) as fee_reviews,
        sum(f.amount_yuan) as fee_yuan
    from mart_fees as f
    left join experts as e using (expert_id)
    group by all
),

unioned as (
    select month, hospital_id, specialty, metric, value
    from (
        unpivot case_counts
        on cases_submitted, cases_decided, cases_approved
        into name metric value value
    )
    union all
    select month, hospital_id, specialty, metric, value
    from (
        unpivot task_counts
        on tasks_pushed, accept_due, accept_on_time, complete_due, complete_on_time
        into name metric value value
    )
    union all
    select month, hospital_id, specialty, metric, value
    from (unpivot fee_counts on fee_reviews, fee_yuan into name metric value value)
    union all
    select
        strftime(s.deadline, '%Y-%m'),
        s.hospital_id,
        e.specialty,
        'strikes_' || s.action,
        count(*)
    from fct_strikes as s
    left join experts as e using (expert_id)
    group by all
    union all
    select
        strftime(q.disqualified_at, '%Y-%m'),
        e.hospital_id,
        e.specialty,
        'experts_disqualified',
        count(*)
    from fct_disqualifications as q
    left join experts as e using (expert_id)
    group by all
    union all
    -- the 12 M breaches grouped by the month's first instant, named after (strftime per row
    -- costs more than the grouping)
    select strftime(month_start, '%Y-%m'), hospital_id, specialty, 'violations:' || rule_id, n
    from (
        select
            date_trunc('month', counted_at) as month_start,
            hospital_id,
            specialty,
            rule_id,
            count(*) as n
        from mart_violation_events
        group by all
    )
),

final as (
    select
        u.month,
        h.district,
        u.hospital_id,
        u.specialty,
        u.metric,
        cast(sum(u.value) as bigint) as value
    from unioned as u
    left join stg_hospitals as h using (hospital_id)
    where u.value <> 0
    group by all
)

select * from final
order by month, district nulls first, hospital_id nulls first, specialty nulls first, metric
