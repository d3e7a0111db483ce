-- fct_strikes: ZZ-STRIKE — one row per task that missed ZZ-ACCEPT or ZZ-COMPLETE by $as_of, timed
-- at its missed deadline, numbered per expert per calendar year of that time (ties by task_id),
-- with the action the number calls for.
-- A strike voided by a dispute decision or an outage (ZZ-DISPUTE) is not a strike: it is left out
-- before numbering, so the strikes after it move up.
-- refs: fct_strikes_raw
-- A row follows from its task's row of fct_strikes_raw alone: after a load only the tasks that
-- model redid are computed again (pipelines.rules.incremental).
-- delta: fct_strikes_raw(task_id)
-- present: true
-- settled: true
with

strikes as (
    select * exclude (raw_no, raw_action, valid_no), valid_no as strike_no
    from fct_strikes_raw
    where not is_voided
),

final as (
    select
        expert_id,
        strike_no,
        task_id,
        case_id,
        kind,
        deadline,
        case
            when strike_no <= len($strike_actions) then $strike_actions[strike_no]
            else $strike_after_last
        end as action,
        strike_year,
        hospital_id,
        strike_no = $disqualify_at as is_disqualifying,
        pushed_at,
        responded_at,
        response,
        completed_at,
        late_seconds,
        cast(to_seconds(late_seconds) as varchar) as late_by
    from strikes
)

select * from final
order by expert_id, strike_year, strike_no
