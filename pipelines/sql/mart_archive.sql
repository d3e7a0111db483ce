-- mart_archive: ZZ-ARCHIVE — per month of decision, the count of decided cases per disease and
-- outcome (decisions by $as_of when given): mart_archive_by_hospital summed over hospitals.
-- refs: mart_archive_by_hospital
-- latest: stg_cases.decided_at
with

final as (
    select
        month,
        disease_name,
        specialty,
        settlement,
        outcome,
        cast(sum(cases) as bigint) as cases
    from mart_archive_by_hospital
    group by month, disease_name, specialty, settlement, outcome
)

select * from final
order by month, disease_name, outcome
