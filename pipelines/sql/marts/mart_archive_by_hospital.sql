-- mart_archive_by_hospital: ZZ-ARCHIVE per submitting hospital — per month of decision and
-- hospital, the count of decided cases per disease and outcome (decisions by $as_of when given).
-- Summed over hospitals it is the city's monthly archive, mart_archive.
-- refs:
-- latest: stg_cases.decided_at
-- After a load only the months whose counts can change are redone (pipelines.rules.incremental;
-- fct_cases passes a case's decision through as known at $as_of — a case decided by then was
-- submitted by then: the ingest quarantines a decision before its submission —, so its redone
-- rows tell them):
-- by month: month
-- month of: stg_cases by fct_cases: strftime(decided_at, '%Y-%m'); hospital_id, disease_name, outcome
with

decided as (
    select
        strftime(decided_at, '%Y-%m') as month,
        hospital_id,
        disease_name,
        outcome
    from stg_cases
    where outcome is not null
        and decided_at is not null
        and ($as_of is null or decided_at <= $as_of)
),

final as (
    select
        d.month,
        d.hospital_id,
        d.disease_name,
        r.specialty,
        r.settlement,
        d.outcome,
        count(*) as cases
    from decided as d
    left join ref_diseases as r using (disease_name)
    group by d.month, d.hospital_id, d.disease_name, r.specialty, r.settlement, d.outcome
)

select * from final
order by month, hospital_id, disease_name, outcome
