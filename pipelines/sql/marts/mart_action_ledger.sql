-- mart_action_ledger: ZZ-ACTION — each strike's action (sms, notify_hospital, disqualify) as an
-- item of the action ledger (处置台账): pending until a supervisor records it done (the latest
-- action_done record on that task and action), voided when its strike is voided (ZZ-DISPUTE; the
-- voided strike's number and action are those it had before the decision).
-- refs: fct_strikes_raw, fct_strikes
with

live as (
    select expert_id, strike_no, task_id, case_id, kind, deadline, action, hospital_id, false as is_voided
    from fct_strikes
),

voided as (
    select
        expert_id,
        raw_no as strike_no,
        task_id,
        case_id,
        kind,
        deadline,
        raw_action as action,
        hospital_id,
        true as is_voided
    from fct_strikes_raw
    where is_voided
),

items as (
    select * from live
    union all
    select * from voided
),

final as (
    select
        i.expert_id,
        i.strike_no,
        i.task_id,
        i.action,
        case
            when i.is_voided then 'voided'
            when d.task_id is not null then 'done'
            else 'pending'
        end as status,
        case when not i.is_voided then d.done_at end as done_at,
        case when not i.is_voided then d.done_by end as done_by,
        case when not i.is_voided then d.note end as note,
        i.case_id,
        i.kind,
        i.deadline,
        i.hospital_id,
        cast(year(i.deadline) as integer) as strike_year
    from items as i
    left join actions_done_latest as d
        on d.task_id = i.task_id
        and d.action = i.action
    where i.action in ('sms', 'notify_hospital', 'disqualify')
)

select * from final
order by expert_id, strike_no, task_id
