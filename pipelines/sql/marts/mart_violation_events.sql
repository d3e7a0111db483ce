-- mart_violation_events: every breach of mart_violations with the instant it occurred — its
-- task's push, else its case's submission (occurred_at; null for a state such as an expert's
-- qualification) — and the instant its period is judged by (counted_at: occurred_at, else the
-- evaluation time $as_of), its hospital's district and its specialty (the expert's, else the
-- case's). Pages and mart_monthly_kpis put a breach in a month by counted_at, nowhere else.
-- refs: mart_violations, fct_tasks, fct_cases
-- by rule: mart_violations
-- reads: fct_tasks(task_id, pushed_at), fct_cases(case_id, submitted_at, specialty)
with

experts as (
    select expert_id, specialty from stg_experts
),

final as (
    select
        v.rule_id,
        v.case_id,
        v.task_id,
        v.expert_id,
        v.hospital_id,
        h.district,
        coalesce(e.specialty, c.specialty) as specialty,
        v.detail,
        coalesce(t.pushed_at, c.submitted_at) as occurred_at,
        coalesce(t.pushed_at, c.submitted_at, $as_of) as counted_at
    from mart_violations as v
    left join fct_tasks as t on t.task_id = v.task_id
    left join fct_cases as c on c.case_id = v.case_id
    left join experts as e on e.expert_id = v.expert_id
    left join stg_hospitals as h on h.hospital_id = v.hospital_id
)

select * from final
order by rule_id, counted_at, case_id nulls first, task_id nulls first, expert_id nulls first
