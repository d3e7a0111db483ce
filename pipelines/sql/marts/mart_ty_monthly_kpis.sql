-- mart_ty_monthly_kpis: Taiyuan's monthly numbers (总览, `kpis` and the monthly report under the
-- Taiyuan profile), in the long form of mart_monthly_kpis — one row per month × district ×
-- hospital × specialty × metric with an integer value, rates computed by the caller from the
-- summed numerator and denominator (pipelines.rules.kpis.RATES). Empty unless the profile
-- enables the Taiyuan rules. The month of each metric:
--   quota_certified                          submission of a 定额 case certified 符合 (mart_ty_cases)
--   cycle_due / cycle_on_time                 the same cases; due once entered or past the TY-CYCLE
--                                             deadline, on time when entered by it
--   publicity_ok                              the same cases without a TY-PUBLICITY breach
--   entry_due / entry_on_time                 the same cases with a publicity end; due once
--                                             entered or past the TY-ENTRY deadline
--   panel_ok                                  the same cases without a TY-PANEL shortfall
--   recerts / recerts_due / recerts_on_time   the request (mart_ty_recerts); due once completed or
--                                             past the TY-RECERT deadline
--   sanctions_new / sanctions_ending          the sanction's first / last day in force
--   sanctions_in_force                        every month (up to $as_of) with a day in force
--   violations:<TY rule>                      counted_at of mart_violation_events
-- A sanction takes the hospital it names, its doctor's hospital, else none (an insured person:
-- city only); cases and re-certifications the case's hospital and disease specialty.
-- refs: fct_cases, mart_ty_cases, mart_ty_recerts, mart_violation_events
with

specialties as (
    select case_id, specialty from fct_cases
),

breaches as (
    select
        case_id,
        bool_or(rule_id = 'TY-PUBLICITY') as has_publicity,
        bool_or(rule_id = 'TY-PANEL') as has_panel
    from mart_violation_events
    where rule_id in ('TY-PUBLICITY', 'TY-PANEL')
    group by case_id
),

case_counts as (
    select
        strftime(c.submitted_at, '%Y-%m') as month,
        c.hospital_id,
        s.specialty,
        count(*) as quota_certified,
        count(*) filter (where c.entered_at is not null or c.is_cycle_late) as cycle_due,
        count(*) filter (where c.entered_at is not null and not c.is_cycle_late) as cycle_on_time,
        count(*) filter (where not coalesce(b.has_publicity, false)) as publicity_ok,
        count(*) filter (
            where c.entry_deadline is not null and (c.entered_at is not null or c.is_entry_late)
        ) as entry_due,
        count(*) filter (
            where c.entry_deadline is not null and c.entered_at is not null and not c.is_entry_late
        ) as entry_on_time,
        count(*) filter (where not coalesce(b.has_panel, false)) as panel_ok
    from mart_ty_cases as c
    left join specialties as s on s.case_id = c.case_id
    left join breaches as b on b.case_id = c.case_id
    group by all
),

recert_counts as (
    select
        strftime(r.requested_at, '%Y-%m') as month,
        r.hospital_id,
        s.specialty,
        count(*) as recerts,
        count(*) filter (where r.completed_at is not null or r.is_late) as recerts_due,
        count(*) filter (where r.completed_at is not null and not r.is_late) as recerts_on_time
    from mart_ty_recerts as r
    left join specialties as s on s.case_id = r.case_id
    group by all
),

sanctions as (
    select
        s.sanction_id,
        s.valid_from,
        s.valid_to,
        case s.subject_type when 'hospital' then s.subject_id else e.hospital_id end as hospital_id
    from sanctions_recorded as s
    left join stg_experts as e on s.subject_type = 'doctor' and e.expert_id = s.subject_id
    where $ty_enabled and s.valid_from <= cast($as_of as date)
),

sanction_months as (
    -- every month from the first day in force to the last (open-ended: the evaluation time's)
    select
        s.hospital_id,
        strftime(m.month_start, '%Y-%m') as month,
        m.month_start = date_trunc('month', s.valid_from) as is_new,
        s.valid_to is not null and m.month_start = date_trunc('month', s.valid_to) as is_ending
    from sanctions as s
    cross join lateral (
        select unnest(generate_series(
            date_trunc('month', s.valid_from),
            date_trunc('month', least(coalesce(s.valid_to, cast($as_of as date)), cast($as_of as date))),
            interval 1 month
        )) as month_start
    ) as m
),

unioned as (
    select month, hospital_id, specialty, metric, value
    from (
        unpivot case_counts
        on quota_certified, cycle_due, cycle_on_time, publicity_ok, entry_due, entry_on_time,
            panel_ok
        into name metric value value
    )
    union all
    select month, hospital_id, specialty, metric, value
    from (
        unpivot recert_counts on recerts, recerts_due, recerts_on_time
        into name metric value value
    )
    union all
    select month, hospital_id, null, 'sanctions_in_force', count(*)
    from sanction_months group by all
    union all
    select month, hospital_id, null, 'sanctions_new', count(*)
    from sanction_months where is_new group by all
    union all
    select month, hospital_id, null, 'sanctions_ending', count(*)
    from sanction_months where is_ending group by all
    union all
    select strftime(counted_at, '%Y-%m'), hospital_id, specialty, 'violations:' || rule_id, count(*)
    from mart_violation_events
    where rule_id like 'TY-%'
    group by all
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
    where u.value <> 0 and $ty_enabled
    group by all
)

select * from final
order by month, district nulls first, hospital_id nulls first, specialty nulls first, metric
