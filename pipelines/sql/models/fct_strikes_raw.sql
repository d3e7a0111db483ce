-- fct_strikes_raw: ZZ-STRIKE / ZZ-DISPUTE — every task that missed ZZ-ACCEPT or ZZ-COMPLETE by
-- $as_of, timed at its missed deadline, with the decision in force on it: voided by a 撤销
-- decision (the latest on its task) or by a declared outage its push or its deadline falls in
-- (bounds included). raw_no / raw_action number every missed deadline, voided or not, per expert
-- per calendar year (what it called for before any decision); valid_no numbers the valid ones
-- alone (fct_strikes keeps them with it as their strike_no).
-- refs: fct_tasks
-- After a load only the tasks fct_tasks redid are computed again, with every strike of an expert's
-- year whose strikes or their order changed (pipelines.rules.incremental); the others keep their
-- numbers (a never-answered task's lateness grows every day, its deadline and number stay):
-- numbered: fct_tasks(task_id) per expert_id, strike_year by deadline, is_voided:
--     raw_no, raw_action, valid_no
-- Its answer at an earlier time X from its table materialised at Y >= X (same data, rules,
-- calendar, decisions): a strike at X is a deadline missed before X, and the same deadline is
-- missed at Y (a response or completion after X is after the deadline); numbers run in deadline
-- order, so the strikes before X keep theirs. Only the events after X are taken back.
-- earlier: select * replace (
--     case when responded_at <= $as_of then responded_at end as responded_at,
--     case when responded_at <= $as_of then response end as response,
--     case when completed_at <= $as_of then completed_at end as completed_at,
--     case kind
--         when 'accept_timeout' then date_diff('second', deadline,
--             case when responded_at <= $as_of then responded_at end)
--         else date_diff('second', deadline,
--             case when completed_at <= $as_of then completed_at end)
--     end as late_seconds
--     ) from main.fct_strikes_raw where deadline < $as_of
with

missed as (
    select
        task_id,
        case_id,
        expert_id,
        hospital_id,
        strike_kind as kind,
        strike_at as deadline,
        cast(year(strike_at) as integer) as strike_year,
        pushed_at,
        responded_at,
        response,
        completed_at,
        case strike_kind
            when 'accept_timeout' then accept_late_seconds
            else complete_late_seconds
        end as late_seconds
    from fct_tasks
    where strike_kind is not null
),

in_outage as (
    select
        m.task_id,
        min(o.record_id) as outage_record_id,
        min(o.reason) as outage_reason
    from missed as m
    inner join outages as o
        on m.pushed_at between o.outage_from and o.outage_to
        or m.deadline between o.outage_from and o.outage_to
    group by m.task_id
),

decided as (
    select
        m.*,
        d.decision,
        d.reason as decision_reason,
        d.decided_by,
        d.decided_at,
        d.record_id as decision_record_id,
        o.outage_record_id,
        o.outage_reason,
        coalesce(d.decision = 'void', false) or o.task_id is not null as is_voided
    from missed as m
    left join strike_decisions_latest as d using (task_id)
    left join in_outage as o using (task_id)
),

final as (
    select
        *,
        cast(row_number() over numbering as integer) as raw_no,
        case
            when raw_no <= len($strike_actions) then $strike_actions[raw_no]
            else $strike_after_last
        end as raw_action,
        -- fct_strikes' strike_no (valid ones only) in the same window: one sort, not two
        cast(count(*) filter (where not is_voided) over numbering as integer) as valid_no
    from decided
    window numbering as (
        partition by expert_id, strike_year order by deadline, task_id
        rows between unbounded preceding and current row
    )
)

select * from final
order by expert_id, strike_year, raw_no
