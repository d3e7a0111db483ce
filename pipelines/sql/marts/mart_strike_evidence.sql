-- mart_strike_evidence: ZZ-STRIKE / ZZ-DISPUTE — what each strike rests on: every missed deadline
-- of an expert (voided ones too, with the decision that voided them) with its task, push,
-- response, completion and deadline; strike_no and action as in force (a voided strike keeps the
-- number and action it had before the decision); status valid / upheld (申诉维持) / voided.
-- refs: fct_strikes_raw, fct_strikes
-- A row follows from its task's rows of fct_strikes_raw and fct_strikes alone: after a load only
-- the tasks those models redid are computed again (pipelines.rules.incremental).
-- delta: fct_strikes_raw(task_id)
-- present: true
-- settled: true
with

live as (
    select task_id, strike_no, action from fct_strikes
),

final as (
    select
        r.expert_id,
        r.strike_year,
        coalesce(l.strike_no, r.raw_no) as strike_no,
        r.task_id,
        r.case_id,
        r.kind,
        r.pushed_at,
        r.responded_at,
        r.completed_at,
        r.deadline,
        coalesce(l.action, r.raw_action) as action,
        case
            when r.is_voided then 'voided'
            when r.decision = 'uphold' then 'upheld'
            else 'valid'
        end as status,
        r.hospital_id,
        r.response,
        r.late_seconds,
        r.decision,
        r.decision_reason,
        r.decided_by,
        r.decided_at,
        r.outage_reason
    from fct_strikes_raw as r
    left join live as l using (task_id)
)

select * from final
order by expert_id, strike_year, strike_no, task_id
